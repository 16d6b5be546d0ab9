"""The record every provider adapter is, and the provider it makes of one account.

A vendor package (``app/providers/<vendor>/``) exports one :class:`Adapter`: a pure
``build_request`` (message, config, clock, nonce -> the exact ``httpx.Request``), a pure
``parse_response`` (``httpx.Response`` -> :class:`~app.providers.base.SendResult`) for
its channel, the same pair for each further channel it may serve (``more_channels``),
and where the vendor has them its delivery reports (:class:`Reports`) and its balance API
(:class:`BalanceApi`). :class:`HttpProvider` joins an adapter to the one shared
``httpx.AsyncClient``; a vendor not reached over HTTP (SMTP) brings its own
``transport``. Adapters never retry: the router owns retries and failover.

An adapter is a frozen record of functions rather than a Protocol: each vendor is a set
of pure functions and constants, its optional parts are plain ``None`` that a caller
must check (a Protocol has no optional members, and a module standing in for one is
found by ``getattr`` again), and the registry lists the records as values. It is
generic in the vendor's config struct, so the type checker sees that ``build_request``,
``verify`` and the balance call all take that vendor's own config.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from app.providers.base import SendResult
from app.tracing.spans import note

if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable, Mapping

    from app.channels import Channel
    from app.providers.base import Balance, OutgoingMessage, Provider
    from app.providers.reports import (
        CallbackReply,
        CallbackRequest,
        DeliveryReport,
        InboundMessage,
    )
    from app.providers.review import ReviewApi

__all__ = [
    "Adapter", "BalanceApi", "ChannelSend", "HttpProvider", "Inbound", "Reports", "Signed",
]  # fmt: skip

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
        sends: by channel, the request builder and the answer's parser.
        client: the one ``httpx.AsyncClient`` all adapters share (connection reuse).
        clock: the current time (UTC); injectable for tests.
        nonce: a fresh random string per request; injectable for tests.
    """

    def __init__(
        self,
        name: str,
        config: C,
        sends: Mapping[Channel, ChannelSend[C]],
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> None:
        self.name = name
        self.config = config
        self._sends = sends
        self._client = client
        self._clock = clock
        self._nonce = nonce

    async def send(self, message: OutgoingMessage) -> SendResult:
        way = self._sends.get(message.channel)
        if way is None:  # start-up checks every route's providers serve its channel
            return SendResult.failed("retryable", "channel_not_supported", message.channel)
        config = self.config
        registered = message.registered.get(self.name)
        if registered is not None and registered.serves(message.region):
            config = registered.applied(config, message.locale)  # type: ignore[type-var]
        request = way.build_request(message, config, self._clock(), self._nonce())
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            return SendResult.failed("retryable", "timeout", "the provider did not answer in time")
        except httpx.TransportError as exc:
            return SendResult.failed("retryable", "unreachable", type(exc).__name__)
        note(
            {"http.response.status_code": response.status_code, "server.address": request.url.host}
        )
        return way.parse_response(response)


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
class ChannelSend(Generic[C]):
    """How a vendor sends one channel's messages: the request, and its answer read."""

    #: ``(message, config, now, nonce) -> httpx.Request``.
    build_request: Callable[[OutgoingMessage, C, datetime, str], httpx.Request]
    #: ``httpx.Response -> SendResult``.
    parse_response: Callable[[httpx.Response], SendResult]


@dataclass(frozen=True, kw_only=True)
class Adapter(Generic[C]):
    """Everything otpgate knows of one vendor; its package exports one as ``ADAPTER``."""

    #: the ``type`` of its ``[providers.<name>]`` accounts.
    type: str
    #: the config struct of one account (credentials, endpoint, templates).
    config: builtins.type[C]  # `type` alone would be the field above
    #: ``(message, config, now, nonce) -> httpx.Request`` of its ``channel``.
    build_request: Callable[[OutgoingMessage, C, datetime, str], httpx.Request] | None = None
    #: ``httpx.Response -> SendResult``.
    parse_response: Callable[[httpx.Response], SendResult] | None = None
    #: what ``build_request`` sends: SMS, unless the vendor's product is a voice call.
    channel: Channel = "sms"
    #: the other channels an account of this type may serve (its ``channels`` field).
    more_channels: Mapping[Channel, ChannelSend[C]] = field(default_factory=dict)
    #: for a vendor not reached over HTTP (SMTP): the provider of one account, by name.
    transport: Callable[[str, C], Provider] | None = None
    #: for a vendor whose answers read differently by account (Chuanglan's two products
    #: number their errors apart): the parser for one config, used instead.
    parse_response_for: Callable[[C], Callable[[httpx.Response], SendResult]] | None = None
    reports: Reports[C] | None = None
    #: the messages people send to the account's numbers, where the vendor forwards them.
    inbound: Inbound[C] | None = None
    balance: BalanceApi[C] | None = None
    #: its template API (Alibaba, Tencent): register a template and follow its review.
    review: ReviewApi[C] | None = None

    def sends(self, config: C) -> dict[Channel, ChannelSend[C]]:
        """Every channel this adapter can send, with its request and parser for ``config``."""
        found: dict[Channel, ChannelSend[C]] = dict(self.more_channels)
        if self.build_request is not None and self.parse_response is not None:
            parse = self.parse_response
            if self.parse_response_for is not None:
                parse = self.parse_response_for(config)
            found[self.channel] = ChannelSend(
                build_request=self.build_request, parse_response=parse
            )
        return found

    def create(
        self,
        config: C,
        client: httpx.AsyncClient,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> Provider:
        """A provider for one account over the shared ``client``, named ``name`` (default:
        the type); ``clock`` and ``nonce`` are injectable for tests."""
        if self.transport is not None:
            return self.transport(name or self.type, config)
        return HttpProvider(
            name or self.type, config, self.sends(config), client, clock=clock, nonce=nonce
        )
