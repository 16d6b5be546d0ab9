"""Routing and failover: which providers a message may go through, in which order.

A send walks its channel's route (by calling code, ``default`` otherwise; an app may
have its own; email has ``default`` only). A retryable or account error moves on to
the next provider; a permanent error is about the number, so the walk stops there.
Providers whose circuit is open are skipped. The whole walk has a deadline. Every
attempt is reported back, so that the message records where it went and why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.emails import mask_email
from app.metrics import PROVIDER_LATENCY, SMS_ATTEMPTS
from app.phone import mask_phone
from app.providers.base import SendResult
from app.providers.circuit import CircuitBreaker
from app.tracing.spans import child_tracer, client_span, fail

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.channels import Channel
    from app.providers.base import OutgoingMessage, Provider
    from app.store.redis import Batch

__all__ = ["Attempt", "Delivery", "ProviderRouter", "route_for"]

log = logging.getLogger("otpgate.providers")


class Attempt(msgspec.Struct, frozen=True):
    """One provider tried for one message."""

    provider: str
    outcome: str  # accepted | retryable | permanent | account | skipped
    error_code: str | None = None
    latency_ms: float = 0.0


class Delivery(msgspec.Struct, frozen=True):
    """The walk's result: the last provider's answer, and every attempt."""

    provider: str | None
    result: SendResult
    attempts: list[Attempt]


def route_for(routes: Mapping[str, list[str]], calling_code: int) -> list[str]:
    """The route of a number: ``"+<calling code>"`` if configured, else ``default``
    (none: the channel does not reach it)."""
    return routes.get(f"+{calling_code}") or routes.get("default") or []


class ProviderRouter:
    """Sends a message through its route, with failover, circuit breaking and a deadline.

    Args:
        providers: every provider by name.
        routes: each channel's routes (``None``: the global ones; an app's, by its name).
        breaker: the shared circuit breaker.
        deadline: seconds the whole walk may take.
        attempt_timeout: seconds one provider may take, so a hanging one leaves time
            for the next.
        types: each provider's vendor type by name, for spans (default: the name).
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        routes: Mapping[str | None, Mapping[Channel, Mapping[str, list[str]]]],
        breaker: CircuitBreaker,
        deadline: float,
        attempt_timeout: float,
        types: Mapping[str, str] | None = None,
    ) -> None:
        self._providers = providers
        self._types = types or {}
        self._routes = routes
        self._breaker = breaker
        self._deadline = deadline
        self._attempt_timeout = attempt_timeout

    def route(self, app: str, channel: Channel, calling_code: int) -> list[str]:
        """``app``'s providers for ``channel`` to a number of ``calling_code`` (0: an
        email address), in order; empty when the channel has no route there."""
        tables = self._routes.get(app) or self._routes[None]
        return route_for(tables.get(channel, {}), calling_code)

    def queue_allow(self, batch: Batch, app: str, channel: Channel, calling_code: int) -> int:
        """Queue the circuit's answer for the route's first provider (so the caller can
        ask it in a round trip it makes anyway); pass it to :meth:`send`."""
        return self._breaker.queue_allow(batch, self.route(app, channel, calling_code)[0])

    @staticmethod
    def read_allow(result: list[Any]) -> bool:
        return CircuitBreaker.read_allow(result)

    async def send(
        self,
        app: str,
        message: OutgoingMessage,
        calling_code: int,
        *,
        first_allowed: bool | None = None,
        avoid: frozenset[str] = frozenset(),
    ) -> Delivery:
        """Walk the route, the providers in ``avoid`` last (a fallback step goes to the
        next provider first). The circuits of the providers tried are recorded by the
        caller (:meth:`queue_records`), in the round trip that records the message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        attempts: list[Attempt] = []
        result = SendResult.failed("retryable", "no_provider", "every provider was skipped")
        last: str | None = None
        route = self.route(app, message.channel, calling_code)
        if avoid:
            route = sorted(route, key=lambda name: name in avoid)  # stable: order kept
        for position, name in enumerate(route):
            remaining = deadline - loop.time()
            if remaining <= 0:
                result = SendResult.failed("retryable", "deadline", "the send deadline passed")
                break
            allowed = first_allowed if position == 0 and first_allowed is not None else None
            if not (await self._breaker.allow(name) if allowed is None else allowed):
                attempts.append(Attempt(name, "skipped", "circuit_open"))
                SMS_ATTEMPTS.labels(name, "skipped").inc()
                continue
            last = name
            result, latency_ms = await self._traced(
                name, message, min(remaining, self._attempt_timeout)
            )
            outcome = _outcome(result)
            attempts.append(Attempt(name, outcome, result.error_code, round(latency_ms, 1)))
            SMS_ATTEMPTS.labels(name, outcome).inc()
            PROVIDER_LATENCY.labels(name, outcome).observe(latency_ms / 1000)
            masked = (
                mask_email(message.to) if message.channel == "email" else mask_phone(message.to)
            )
            log.info(
                "%s provider=%s to=%s outcome=%s error=%s latency_ms=%.1f", message.channel,
                name, masked, outcome, result.error_code or "-", latency_ms,
            )  # fmt: skip
            if result.accepted or result.error_kind == "permanent":
                break
        return Delivery(last, result, attempts)

    def queue_records(self, batch: Batch, delivery: Delivery) -> None:
        """Queue each attempt's outcome into its provider's circuit."""
        for attempt in delivery.attempts:
            if attempt.outcome != "skipped":
                # A permanent error is the number's fault: the provider itself answered fine.
                ok = attempt.outcome in {"accepted", "permanent"}
                self._breaker.queue_record(
                    batch, attempt.provider, ok=ok, latency_ms=attempt.latency_ms
                )

    async def _traced(
        self, name: str, message: OutgoingMessage, seconds_left: float
    ) -> tuple[SendResult, float]:
        """One attempt; in a traced request, one client span: the account, its vendor
        type, the channel, the outcome (never the recipient, the text or the code; and
        no ``traceparent`` goes to the vendor, whose API is not ours to trace)."""
        provider = self._providers[name]
        tracer = child_tracer()
        if tracer is None:
            return await self._attempt(provider, message, seconds_left)
        attributes = {
            "otpgate.provider.name": name, "otpgate.provider.type": self._types.get(name, name),
            "otpgate.channel": message.channel,
        }  # fmt: skip
        with client_span(
            tracer, f"send {message.channel} {name}", attributes, current=True
        ) as span:
            result, latency_ms = await self._attempt(provider, message, seconds_left)
            span.set_attribute("otpgate.provider.outcome", _outcome(result))
            if not result.accepted:
                fail(span, result.error_code or str(result.error_kind))
        return result, latency_ms

    @staticmethod
    async def _attempt(
        provider: Provider, message: OutgoingMessage, seconds_left: float
    ) -> tuple[SendResult, float]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(seconds_left):
                result = await provider.send(message)
        except TimeoutError:
            result = SendResult.failed(
                "retryable", "timeout", "the provider did not answer in time"
            )
        except Exception as exc:  # an adapter bug must not stop the walk
            log.exception("provider %s failed on a message", getattr(provider, "name", "?"))
            result = SendResult.failed("retryable", "adapter_error", type(exc).__name__)
        return result, (time.perf_counter() - started) * 1000


def _outcome(result: SendResult) -> str:
    return "accepted" if result.accepted else str(result.error_kind)
