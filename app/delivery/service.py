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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.errors import OtpgateError
from app.providers.registry import adapter_for
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport
from app.store.outcomes import ReportUpdate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.delivery.ledger import Ledger
    from app.providers.accounts import ProviderConfig
    from app.providers.adapter import Reports
    from app.store.reports import ReportStore

__all__ = ["DeliveryService"]


def _from(client_ip: str | None, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


log = logging.getLogger("otpgate.delivery")


class DeliveryService:
    def __init__(
        self,
        *,
        store: ReportStore,
        ledger: Ledger,
        providers: Mapping[str, ProviderConfig],
        pepper: bytes,
        callback_ips: Mapping[str, list[str]],
        public_url: str | None = None,
    ) -> None:
        self._store = store
        self._ledger = ledger
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
        await self.apply(provider, parsed)
        return reports.reply

    async def apply(self, provider: str, reports: list[DeliveryReport]) -> list[str]:
        """Apply a callback's reports; each one's outcome (changed, kept, duplicate, gone,
        unmatched). Three round trips however many reports the callback carries: find
        their messages, apply them, count and tell what became final."""
        found = await self._store.find_messages(
            provider, [report.provider_message_id for report in reports]
        )
        matched = [(report, at) for report, at in zip(reports, found, strict=True) if at]
        applied = await self._store.apply_reports([_update(*at, report) for report, at in matched])
        entries = []
        for report, at in zip(reports, found, strict=True):
            if at is None:
                log.info("report for unknown %s message %s", provider, report.provider_message_id)
                entries.append(self._ledger.unmatched(provider))
        for (report, (verification_id, _)), result in zip(matched, applied, strict=True):
            if result.outcome == "changed":
                entries.append(
                    self._ledger.reported(
                        result.app, verification_id, report, status=result.status,
                        sent_at_ms=result.sent_at_ms, provider=result.provider or None,
                        country=result.region or None, channel=result.channel,
                    )
                )  # fmt: skip
        await self._ledger.write(*entries)
        outcomes = iter(result.outcome for result in applied)
        return [next(outcomes) if at else "unmatched" for at in found]


def _update(verification_id: str, number: int, report: DeliveryReport) -> ReportUpdate:
    occurred = report.occurred_at
    return ReportUpdate(
        verification_id, number, report.status, report.provider_status, report.error_code,
        int(occurred.timestamp() * 1000) if occurred else None,
    )  # fmt: skip
