"""Status reports in, message timelines and app events out.

A callback is authenticated (the random per-provider token in its path, an optional
source-IP allow list, and the provider's own signature where it signs), parsed by the
provider's module, and each report is applied to its message by one Lua script: the
timeline grows, the status only moves forward, a duplicate changes nothing. A report for
an id otpgate does not know is acknowledged and counted, not an error.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.errors import OtpgateError
from app.providers.registry import adapter_for
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis.asyncio import Redis

    from app.delivery.events import EventBus
    from app.delivery.stats import Stats
    from app.providers.accounts import ProviderConfig
    from app.providers.base import Reports
    from app.store.redis import Scripts

__all__ = ["DeliveryService"]


def _from(client_ip: str | None, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


log = logging.getLogger("otpgate.delivery")
_FINAL = {"delivered", "undelivered", "failed"}


class DeliveryService:
    def __init__(
        self,
        *,
        client: Redis,
        scripts: Scripts,
        stats: Stats,
        events: EventBus,
        providers: Mapping[str, ProviderConfig],
        pepper: bytes,
        callback_ips: Mapping[str, list[str]],
        public_url: str | None = None,
    ) -> None:
        self._client = client
        self._scripts = scripts
        self._stats = stats
        self._events = events
        self._providers = providers
        self._pepper = pepper
        self._public_url = public_url.rstrip("/") if public_url else None
        self._callback_ips = {
            name: [ipaddress.ip_network(net, strict=False) for net in nets]
            for name, nets in callback_ips.items()
        }

    def token(self, provider: str) -> str:
        """The random-looking path token of ``provider``'s callback URL (stable: derived
        from the pepper, so every instance knows it without storing it)."""
        return hmac.new(
            self._pepper, f"callback\x00{provider}".encode(), hashlib.sha256
        ).hexdigest()[:32]

    def public_url(self, received: str) -> str:
        """The URL as the provider called it: behind a proxy, ``public_url`` + path."""
        if self._public_url is None:
            return received
        scheme_end = received.index("://") + 3
        path_start = received.find("/", scheme_end)
        return self._public_url + (received[path_start:] if path_start != -1 else "/")

    def _reports(self, provider: str) -> tuple[ProviderConfig, Reports[Any]] | None:
        """The account's config and its adapter's reports part, if it takes callbacks."""
        config = self._providers.get(provider)
        reports = adapter_for(config).reports if config is not None else None
        if config is None or reports is None:
            return None
        return config, reports

    def callback_path(self, provider: str) -> str | None:
        if self._reports(provider) is None:
            return None
        return f"/v1/callbacks/{provider}/{self.token(provider)}"

    async def receive(
        self, provider: str, token: str, request: CallbackRequest, client_ip: str | None
    ) -> CallbackReply:
        """Authenticate, parse and apply a callback; the reply the provider expects."""
        found = self._reports(provider)
        if found is None:
            raise OtpgateError("not_found", f"no provider {provider!r} takes callbacks here")
        config, reports = found
        if not hmac.compare_digest(token.encode(), self.token(provider).encode()):
            raise OtpgateError("callback_forbidden", "wrong callback token")
        allowed = self._callback_ips.get(provider)
        if allowed and not _from(client_ip, allowed):
            raise OtpgateError(
                "callback_forbidden", f"{client_ip} may not call back for {provider}"
            )
        if not reports.authentic(request, config, datetime.now(UTC)):
            raise OtpgateError("invalid_signature", f"the {provider} signature does not match")
        try:
            parsed = reports.parse(request)
        except RecursionError:  # untyped JSON decoding of thousands of nested arrays
            raise OtpgateError(
                "invalid_request", f"unreadable {provider} callback: nested too deeply"
            ) from None
        except CallbackError as exc:
            raise OtpgateError(
                "invalid_request", f"unreadable {provider} callback: {exc}"
            ) from None
        for report in parsed:
            await self.apply(provider, report)
        return reports.reply

    async def apply(self, provider: str, report: DeliveryReport) -> str:
        """Apply one report; returns the outcome (changed, kept, duplicate, unmatched)."""
        reference = await self._client.get(
            Keys.provider_message(provider, report.provider_message_id)
        )
        if reference is None:
            await self._stats.unmatched(provider)
            log.info("report for unknown %s message %s", provider, report.provider_message_id)
            return "unmatched"
        verification_id, number = reference.split(" ")
        occurred_ms = int(report.occurred_at.timestamp() * 1000) if report.occurred_at else ""
        result = await self._scripts.run(
            "apply_report",
            [Keys.verification(verification_id)],
            [number, report.status, report.provider_status, report.error_code or "", occurred_ms],
        )
        outcome: str = result[0]
        if outcome == "changed" and result[2] in _FINAL:
            await self._final(verification_id, report, result)
        return outcome

    async def _final(self, verification_id: str, report: DeliveryReport, result: list[Any]) -> None:
        """Count a message's final status and tell the app, in one round trip."""
        _, _, status, created_at, app, region, provider = result
        delivered = status == "delivered"
        at = report.occurred_at.timestamp() if report.occurred_at else time.time()
        seconds = max(0.0, at - int(created_at) / 1000) if created_at and delivered else None
        async with self._client.pipeline(transaction=False) as pipe:
            self._stats.queue(
                pipe, app, {"delivered" if delivered else "undelivered": 1},
                provider=provider or None, country=region or None,
                reason=None if delivered else (report.error_code or report.provider_status),
                delivery_seconds=seconds,
            )  # fmt: skip
            self._events.queue(
                pipe, app, "message.delivered" if delivered else "message.failed",
                {"verification_id": verification_id, "provider": provider, "status": status,
                 "provider_message_id": report.provider_message_id,
                 "error_code": report.error_code},
            )  # fmt: skip
            await pipe.execute()
