"""Delivery reports in Redis: finding the message a provider's id points to, and applying
reports to messages (``apply_report.lua``: the timeline grows, the status only moves
forward, a duplicate changes nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.store.keys import Keys
from app.store.outcomes import ReportApplied

if TYPE_CHECKING:
    from app.store.outcomes import ReportUpdate
    from app.store.redis import Scripts

__all__ = ["ReportStore"]


class ReportStore:
    """Applies providers' delivery reports to the messages they are about."""

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts

    async def find_messages(
        self, provider: str, provider_message_ids: list[str]
    ) -> list[tuple[str, int] | None]:
        """(verification id, message number) of each of a provider's message ids, while
        kept; one round trip on one server (one per node on Cluster)."""
        if not provider_message_ids:
            return []
        batch = self._scripts.batch()
        for pmid in provider_message_ids:
            batch.command("GET", Keys.provider_message(provider, pmid))
        found = []
        for reference in await batch.run():
            verification_id, _, number = (reference or "").partition(" ")
            found.append((verification_id, int(number)) if number else None)
        return found

    async def apply_reports(self, updates: list[ReportUpdate]) -> list[ReportApplied]:
        """Apply each report to its message (the timeline grows, the status only moves
        forward, a duplicate changes nothing), all in one round trip."""
        batch = self._scripts.batch()
        for update in updates:
            args = [update.number, update.status, update.provider_status, update.error_code or ""]
            batch.script(
                "apply_report", [Keys.verification(update.verification_id)],
                [*args, update.occurred_ms or ""],
            )  # fmt: skip
        return [_applied(result) for result in await batch.run()]


def _applied(result: list[Any]) -> ReportApplied:
    if result[0] == "gone":
        return ReportApplied("gone")
    outcome, old, status, sent_at, app, region, provider, channel = result
    return ReportApplied(
        outcome, old or "", status, int(sent_at) if sent_at else None, app, region,
        "" if provider == "-" else provider, channel,
    )  # fmt: skip
