"""Routing and failover: which providers a message may go through, in which order.

A send walks its route (by calling code, ``default`` otherwise; an app may have its
own). A retryable or account error moves on to the next provider; a permanent error
is about the number, so the walk stops there. Providers whose circuit is open are
skipped. The whole walk has a deadline. Every attempt is reported back, so that the
message records where it went and why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import msgspec

from app.metrics import SMS_ATTEMPTS
from app.phone import mask_phone
from app.providers.base import SendResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.providers.base import OutgoingMessage, Provider
    from app.providers.circuit import CircuitBreaker

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
    """The route of a number: ``"+<calling code>"`` if configured, else ``default``."""
    return routes.get(f"+{calling_code}") or routes["default"]


class ProviderRouter:
    """Sends a message through its route, with failover, circuit breaking and a deadline.

    Args:
        providers: every provider by name.
        routes: the global routes; ``app_routes`` overrides them per app (by key).
        breaker: the shared circuit breaker.
        deadline: seconds the whole walk may take.
        attempt_timeout: seconds one provider may take, so a hanging one leaves time
            for the next.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        routes: Mapping[str, list[str]],
        app_routes: Mapping[str, Mapping[str, list[str]]],
        breaker: CircuitBreaker,
        deadline: float,
        attempt_timeout: float,
    ) -> None:
        self._providers = providers
        self._routes = {app: {**routes, **own} for app, own in app_routes.items()}
        self._default_routes = dict(routes)
        self._breaker = breaker
        self._deadline = deadline
        self._attempt_timeout = attempt_timeout

    def route(self, app: str, calling_code: int) -> list[str]:
        return route_for(self._routes.get(app, self._default_routes), calling_code)

    async def send(self, app: str, message: OutgoingMessage, calling_code: int) -> Delivery:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        attempts: list[Attempt] = []
        result = SendResult.failed("retryable", "no_provider", "every provider was skipped")
        last: str | None = None
        for name in self.route(app, calling_code):
            remaining = deadline - loop.time()
            if remaining <= 0:
                result = SendResult.failed("retryable", "deadline", "the send deadline passed")
                break
            if not await self._breaker.allow(name):
                attempts.append(Attempt(name, "skipped", "circuit_open"))
                SMS_ATTEMPTS.labels(name, "skipped").inc()
                continue
            last = name
            result, latency_ms = await self._attempt(
                self._providers[name], message, min(remaining, self._attempt_timeout)
            )
            # A permanent error is the number's fault: the provider itself answered fine.
            working = result.accepted or result.error_kind == "permanent"
            await self._breaker.record(name, ok=working, latency_ms=latency_ms)
            outcome = "accepted" if result.accepted else str(result.error_kind)
            attempts.append(Attempt(name, outcome, result.error_code, round(latency_ms, 1)))
            SMS_ATTEMPTS.labels(name, outcome).inc()
            log.info(
                "sms provider=%s to=%s outcome=%s error=%s latency_ms=%.1f",
                name, mask_phone(message.to), outcome, result.error_code or "-", latency_ms,
            )  # fmt: skip
            if result.accepted or result.error_kind == "permanent":
                break
        return Delivery(last, result, attempts)

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
