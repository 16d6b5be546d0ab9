"""Status reports in, message timelines and app events out.

A callback is authenticated (:class:`~app.delivery.gate.CallbackGate`: the random
per-provider token in its path, an optional source-IP allow list, and the provider's own
signature where it signs), parsed by the provider's module, and each report is applied
to its message by one Lua script: the timeline grows, the status only moves forward, a
duplicate changes nothing. A report for an id otpgate does not know is acknowledged and
counted, not an error.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from app.store.fallbacks import FallbackStore
from app.store.outcomes import ReportUpdate

if TYPE_CHECKING:
    from app.delivery.gate import CallbackGate
    from app.delivery.ledger import Ledger
    from app.providers.adapter import Adapter, Reports
    from app.providers.reports import CallbackReply, CallbackRequest, DeliveryReport
    from app.store.reports import ReportStore

__all__ = ["DeliveryService"]

log = logging.getLogger("otpgate.delivery")
#: Final failure reports: a fallback plan waiting on the message goes on at once.
_FAILED = frozenset({"undelivered", "failed"})


def _reports(adapter: Adapter[Any]) -> Reports[Any] | None:
    return adapter.reports


class DeliveryService:
    def __init__(self, *, store: ReportStore, ledger: Ledger, gate: CallbackGate) -> None:
        self._store = store
        self._ledger = ledger
        self._gate = gate

    def token(self, provider: str) -> str:
        """The path token of ``provider``'s callback URL."""
        return self._gate.token("callback", provider)

    def public_url(self, received: str) -> str:
        return self._gate.public_url(received)

    def callback_path(self, provider: str) -> str | None:
        if self._gate.part(provider, _reports) is None:
            return None
        return f"/v1/callbacks/{provider}/{self.token(provider)}"

    async def receive(
        self, provider: str, token: str, request: CallbackRequest, client_ip: str | None
    ) -> CallbackReply:
        """Authenticate, parse and apply a callback; the reply the provider expects."""
        reports = self._gate.admit(
            provider, token, self.token(provider), request, client_ip, _reports
        )
        await self.apply(provider, self._gate.read(provider, reports.parse, request))
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
            if result.outcome == "changed" and result.status in _FAILED:
                entries.append(
                    functools.partial(FallbackStore.queue_hurry, verification_id=verification_id)
                )
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
