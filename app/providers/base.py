"""The interface every SMS provider adapter implements, and what it returns.

An adapter is a translation: a pure ``build_request`` (message, config, clock, nonce ->
the exact ``httpx.Request``) and a pure ``parse_response`` (``httpx.Response`` ->
:class:`SendResult`). :class:`HttpProvider` joins the two over one shared
``httpx.AsyncClient``. Adapters never retry: the router owns retries and failover.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Generic, Literal, Protocol, TypeVar

import httpx
import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "Balance",
    "ErrorKind",
    "HttpProvider",
    "OutgoingMessage",
    "Provider",
    "SendResult",
    "Template",
    "TemplateError",
    "classify_code",
    "template_for",
    "template_values",
]

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


class Provider(Protocol):
    """An SMS provider. Adapters translate; they never retry (the router does)."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class Template(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A template registered at a provider, for one locale.

    ``params`` lists, in the provider's order, what fills each template variable:
    ``"code"`` or ``"minutes"``. Alibaba and Huawei name their variables
    (``names``, same order); Tencent and Cloopen take them by position.
    """

    id: str
    params: list[Literal["code", "minutes"]] = msgspec.field(default_factory=lambda: ["code"])
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.names is not None and len(self.names) != len(self.params):
            raise ValueError(f"template {self.id}: `names` and `params` differ in length")


class TemplateError(LookupError):
    """No template is configured for a locale."""


def template_for(templates: dict[str, Template], locale: str) -> Template:
    """The template for ``locale``, else for its language, else for ``en``."""
    language = locale.split("-")[0]
    for candidate in (locale, language, "en"):
        if candidate in templates:
            return templates[candidate]
    raise TemplateError(f"no template for locale {locale!r}")


def template_values(template: Template, message: OutgoingMessage) -> list[str]:
    """The values of the template's variables, in its order."""
    return [message.code if param == "code" else str(message.minutes) for param in template.params]


C = TypeVar("C")


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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
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
