"""The interface every SMS provider adapter implements, and what it returns.

A vendor package (``app/providers/<vendor>/``) exports one :class:`Adapter`: a pure
``build_request`` (message, config, clock, nonce -> the exact ``httpx.Request``), a pure
``parse_response`` (``httpx.Response`` -> :class:`SendResult`), and where the vendor has
them its delivery reports (:class:`Reports`), its inbound messages (:class:`Inbound`) and
its balance API (:class:`BalanceApi`).
:class:`HttpProvider` joins an adapter to the one shared ``httpx.AsyncClient``. Adapters
never retry: the router owns retries and failover.

An adapter is a frozen record of functions rather than a Protocol: each vendor is a set
of pure functions and constants, its optional parts are plain ``None`` that a caller
must check (a Protocol has no optional members, and a module standing in for one is
found by ``getattr`` again), and the registry lists the records as values. It is
generic in the vendor's config struct, so the type checker sees that ``build_request``,
``verify`` and the balance call all take that vendor's own config.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Generic, Literal, Protocol, TypeVar

import httpx
import msgspec

if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable, Mapping, Sequence

    from app.providers.config import Template
    from app.providers.reports import CallbackReply, CallbackRequest, DeliveryReport, InboundMessage

__all__ = [
    "Adapter",
    "Balance",
    "BalanceApi",
    "ErrorKind",
    "HttpProvider",
    "Inbound",
    "OutgoingMessage",
    "Provider",
    "Reports",
    "SendResult",
    "Signed",
    "classify_code",
    "decode_answer",
    "http_failure",
    "status_kind",
    "template_values",
    "unparseable",
]

T = TypeVar("T")

#: retryable: try the next provider; permanent: the number or content is refused;
#: account: our account at the provider (balance, credentials) is the problem.
ErrorKind = Literal["retryable", "permanent", "account"]


class OutgoingMessage(msgspec.Struct, frozen=True):
    """One SMS to send: the rendered text, and the parts template providers need."""

    message_id: str
    to: str  # E.164
    region: str
    locale: str
    text: str
    code: str
    minutes: int


class SendResult(msgspec.Struct, frozen=True):
    """What a provider answered: accepted with its message id, or an error."""

    accepted: bool
    provider_message_id: str | None = None
    error_kind: ErrorKind | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def ok(cls, provider_message_id: str | None) -> SendResult:
        return cls(accepted=True, provider_message_id=provider_message_id)

    @classmethod
    def failed(cls, kind: ErrorKind, code: str, message: str = "") -> SendResult:
        return cls(accepted=False, error_kind=kind, error_code=code, error_message=message)


class Balance(msgspec.Struct, frozen=True):
    """What is left on a provider account: money, or (Chuanglan domestic) messages."""

    amount: Annotated[float, msgspec.Meta(description="What is left.")]
    currency: Annotated[
        str | None, msgspec.Meta(description="ISO 4217 code (null: a count of messages).")
    ]


def classify_code(
    code: str,
    exact: Mapping[str, ErrorKind],
    prefixes: Sequence[tuple[str, ErrorKind]] = (),
    default: ErrorKind = "retryable",
) -> ErrorKind:
    """The kind of a provider error code: by exact code, then by prefix, else ``default``.

    The default is retryable: for a code nobody listed, one wasted attempt at the next
    provider costs less than a user who never gets a code.
    """
    if code in exact:
        return exact[code]
    for prefix, kind in prefixes:
        if code.startswith(prefix):
            return kind
    return default


def decode_answer(response: httpx.Response, answer: type[T]) -> T | None:
    """The body as the JSON ``answer`` struct, or None when it is not that JSON."""
    try:
        return msgspec.json.decode(response.content, type=answer)
    except msgspec.DecodeError:  # a ValidationError too
        return None


def status_kind(status: int) -> ErrorKind:
    """The kind of an HTTP failure that says no more: a refused login (401, 403) is our
    account's problem; anything else may well pass at the next provider."""
    return "account" if status in (401, 403) else "retryable"


def http_failure(response: httpx.Response) -> SendResult:
    """A failure known by its HTTP status only, with the start of the body for the log."""
    status = response.status_code
    return SendResult.failed(status_kind(status), f"http_{status}", response.text[:200])


def unparseable(response: httpx.Response) -> SendResult:
    """An answer that should say "accepted" and cannot be read: retryable (another
    provider may send), with the start of the body for the log."""
    return SendResult.failed("retryable", "unparseable", response.text[:200])


class Provider(Protocol):
    """An SMS provider. Adapters translate; they never retry (the router does)."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


def template_values(template: Template, message: OutgoingMessage) -> list[str]:
    """The values of the template's variables, in its order."""
    return [message.code if param == "code" else str(message.minutes) for param in template.params]


C = TypeVar("C")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_nonce() -> str:
    return secrets.token_hex(16)


class HttpProvider(Generic[C]):
    """A provider made of an adapter's pure functions and the shared HTTP client.

    Args:
        name: the provider's name in settings, logs and statistics.
        config: the adapter's config struct (credentials, endpoint, templates).
        build_request: ``(message, config, now, nonce) -> httpx.Request``.
        parse_response: ``httpx.Response -> SendResult``.
        client: the one ``httpx.AsyncClient`` all adapters share (connection reuse).
        clock: the current time (UTC); injectable for tests.
        nonce: a fresh random string per request; injectable for tests.
    """

    def __init__(
        self,
        name: str,
        config: C,
        build_request: Callable[[OutgoingMessage, C, datetime, str], httpx.Request],
        parse_response: Callable[[httpx.Response], SendResult],
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> None:
        self.name = name
        self.config = config
        self._build = build_request
        self._parse = parse_response
        self._client = client
        self._clock = clock
        self._nonce = nonce

    async def send(self, message: OutgoingMessage) -> SendResult:
        request = self._build(message, self.config, self._clock(), self._nonce())
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            return SendResult.failed("retryable", "timeout", "the provider did not answer in time")
        except httpx.TransportError as exc:
            return SendResult.failed("retryable", "unreachable", type(exc).__name__)
        return self._parse(response)


@dataclass(frozen=True, kw_only=True)
class Signed(Generic[C]):
    """A vendor's own check of its callbacks, shared by its delivery reports and its
    inbound messages (one signature scheme per vendor)."""

    #: whether a callback carries the account's valid signature, ``now`` being the time;
    #: None: the vendor does not sign, the random token in the URL authenticates.
    verify: Callable[[CallbackRequest, C, datetime], bool] | None = None
    #: whether an account's callbacks are signed (Huawei only with ``signed_callbacks``);
    #: None: every account's are, when there is a ``verify``.
    signs: Callable[[C], bool] | None = None

    def authentic(self, request: CallbackRequest, config: C, now: datetime) -> bool:
        """Whether the callback passes the vendor's own signature check, where it has one."""
        if self.verify is None or (self.signs is not None and not self.signs(config)):
            return True
        return self.verify(request, config, now)


@dataclass(frozen=True, kw_only=True)
class Reports(Signed[C]):
    """How a vendor's delivery reports (status callbacks) are read and answered."""

    #: the reports in one callback; raises ``CallbackError`` when it cannot be read.
    parse: Callable[[CallbackRequest], list[DeliveryReport]]
    #: the exact answer that stops the vendor's retries.
    reply: CallbackReply


@dataclass(frozen=True, kw_only=True)
class Inbound(Signed[C]):
    """How a vendor's inbound messages (replies to our senders) are read and answered."""

    #: the messages in one callback; raises ``CallbackError`` when it cannot be read.
    parse: Callable[[CallbackRequest], list[InboundMessage]]
    reply: CallbackReply


@dataclass(frozen=True, kw_only=True)
class BalanceApi(Generic[C]):
    """A vendor's balance call: the request for an account, and its answer read."""

    #: ``(config, now, nonce) -> httpx.Request``.
    build: Callable[[C, datetime, str], httpx.Request]
    #: the balance, or None when the answer has none.
    parse: Callable[[httpx.Response], Balance | None]


@dataclass(frozen=True, kw_only=True)
class Adapter(Generic[C]):
    """Everything otpgate knows of one vendor; its package exports one as ``ADAPTER``."""

    #: the ``type`` of its ``[providers.<name>]`` accounts.
    type: str
    #: the config struct of one account (credentials, endpoint, templates).
    config: builtins.type[C]  # `type` alone would be the field above
    #: ``(message, config, now, nonce) -> httpx.Request``.
    build_request: Callable[[OutgoingMessage, C, datetime, str], httpx.Request]
    #: ``httpx.Response -> SendResult``.
    parse_response: Callable[[httpx.Response], SendResult]
    #: for a vendor whose answers read differently by account (Chuanglan's two products
    #: number their errors apart): the parser for one config, used instead.
    parse_response_for: Callable[[C], Callable[[httpx.Response], SendResult]] | None = None
    reports: Reports[C] | None = None
    #: the messages people send to the account's numbers, where the vendor forwards them.
    inbound: Inbound[C] | None = None
    balance: BalanceApi[C] | None = None

    def create(
        self,
        config: C,
        client: httpx.AsyncClient,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> HttpProvider[C]:
        """A provider for one account over the shared ``client``, named ``name`` (default:
        the type); ``clock`` and ``nonce`` are injectable for tests."""
        parse = self.parse_response
        if self.parse_response_for is not None:
            parse = self.parse_response_for(config)
        return HttpProvider(
            name or self.type, config, self.build_request, parse, client, clock=clock, nonce=nonce
        )
