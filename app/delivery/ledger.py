"""The one place that turns what happened into statistics and app events.

A send, an approval, an ending, a final delivery report and an opt-out (or back in) each
become counter increments (:class:`~app.delivery.stats.Stats`) and, for apps that listen, an event
(:class:`~app.delivery.events.EventBus`). Each method returns an :data:`Entry`: the
commands to queue into a batch, so the caller sends them in the round trip it makes
anyway (with the script that changed the state), or alone with :meth:`Ledger.write`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.delivery.attempts import AttemptLog, LoggedAttempt

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.delivery.events import EventBus, EventType
    from app.delivery.stats import Stats
    from app.providers.reports import DeliveryReport
    from app.store.optouts import OptOut
    from app.store.redis import Batch, Scripts

__all__ = ["Entry", "Ledger"]

#: Commands for a batch: statistics and events of one happening.
Entry = Callable[["Batch"], None]
_FINAL = frozenset({"delivered", "undelivered", "failed"})


def _nothing(batch: Batch) -> None:
    return None


class Ledger:
    """Statistics and events of every app, fed from here only."""

    def __init__(self, scripts: Scripts, stats: Stats, events: EventBus) -> None:
        self._scripts = scripts
        self._stats = stats
        self._events = events

    async def write(self, *entries: Entry) -> None:
        """Send ``entries`` in one round trip of their own."""
        batch = self._scripts.batch()
        for entry in entries:
            entry(batch)
        await batch.run()

    def sent(
        self,
        app: str,
        verification_id: str,
        *,
        number: int,
        provider: str | None,
        country: str,
        error_code: str | None,
        counted: bool,
        cost: int = 0,
        channel: str = "sms",
        sent_at_ms: int | None = None,
    ) -> Entry:
        """Message ``number`` went out (``error_code`` None) or no provider took it; a
        verification whose first message failed has failed. ``counted``: false for a
        test number's message, which reaches no provider and counts nowhere; ``cost``:
        the provider's price of it (millionths), counted when it went out; ``channel``:
        how it went (statistics by channel, the event's ``channel``). A counted message
        joins the app's attempt log (:mod:`app.delivery.attempts`), at ``sent_at_ms``
        (default: now)."""
        accepted = error_code is None
        at_ms = int(time.time() * 1000) if sent_at_ms is None else sent_at_ms

        def entry(batch: Batch) -> None:
            if counted:
                AttemptLog.queue(batch, app, LoggedAttempt(verification_id, number, at_ms, country))
                self._stats.queue(
                    batch, app,
                    {"sends": 1, "verifications": 1 if number == 1 else 0,
                     "failed": 0 if accepted else 1, "cost": cost if accepted else 0},
                    provider=provider, country=country, reason=error_code, channel=channel,
                )  # fmt: skip
            if not accepted and number == 1:
                self._events.queue(
                    batch, app, "verification.failed",
                    {"verification_id": verification_id, "status": "failed",
                     "provider": provider, "error_code": error_code, "channel": channel},
                )  # fmt: skip

        return entry

    def quota_passed(self, app: str, caps: list[str]) -> Entry:
        """A send passed the app's soft quota ``caps`` (each told once per period)."""
        if not caps:
            return _nothing

        def entry(batch: Batch) -> None:
            for cap in caps:
                self._events.queue(batch, app, "quota.exceeded", {"quota": cap})

        return entry

    def approval_counts(
        self, app: str, *, provider: str | None, country: str, channel: str, amount: int = 1
    ) -> Entry:
        """An approval's statistics (``amount`` -1 takes back one counted too early)."""

        def entry(batch: Batch) -> None:
            self._stats.queue(
                batch, app, {"approved": amount}, provider=provider, country=country,
                channel=channel,
            )  # fmt: skip

        return entry

    def approved_event(self, app: str, verification_id: str, channel: str = "sms") -> Entry:
        """The app's event of an approval (only once the approval is sure)."""
        if not self._events.wants(app):
            return _nothing

        def entry(batch: Batch) -> None:
            self._events.queue(
                batch, app, "verification.approved",
                {"verification_id": verification_id, "status": "approved", "channel": channel},
            )  # fmt: skip

        return entry

    def ended(self, app: str, verification_id: str, status: str) -> Entry:
        """The verification expired or was canceled: an event, counted nowhere."""
        if not self._events.wants(app):
            return _nothing

        def entry(batch: Batch) -> None:
            kind: EventType = (
                "verification.expired" if status == "expired" else "verification.canceled"
            )
            self._events.queue(
                batch, app, kind, {"verification_id": verification_id, "status": status}
            )

        return entry

    def reported(
        self,
        app: str,
        verification_id: str,
        report: DeliveryReport,
        *,
        status: str,
        sent_at_ms: int | None,
        provider: str | None,
        country: str | None,
        channel: str = "sms",
    ) -> Entry:
        """A provider's report moved a message to ``status``; only a final one counts."""
        if status not in _FINAL:
            return _nothing
        delivered = status == "delivered"
        at = report.occurred_at.timestamp() if report.occurred_at else time.time()
        seconds = _since(sent_at_ms, at) if delivered else None

        def entry(batch: Batch) -> None:
            self._stats.queue(
                batch, app, {"delivered" if delivered else "undelivered": 1},
                provider=provider, country=country, channel=channel,
                reason=None if delivered else (report.error_code or report.provider_status),
                delivery_seconds=seconds,
            )  # fmt: skip
            self._events.queue(
                batch, app, "message.delivered" if delivered else "message.failed",
                {"verification_id": verification_id, "provider": provider, "status": status,
                 "provider_message_id": report.provider_message_id,
                 "error_code": report.error_code, "channel": channel},
            )  # fmt: skip

        return entry

    def fallback(
        self, app: str, verification_id: str, message: Mapping[str, Any], *, step: int
    ) -> Entry:
        """A fallback plan's ``step`` sent ``message`` (or no provider took it): an event
        (the send itself is counted as every send is)."""
        if not self._events.wants(app):
            return _nothing
        data = {
            "verification_id": verification_id, "message_id": message["id"], "step": step,
            "reason": message.get("fallback"), "channel": message.get("channel", "sms"),
            "provider": message.get("provider"), "status": message["status"],
        }  # fmt: skip

        def entry(batch: Batch) -> None:
            self._events.queue(batch, app, "message.fallback", data)

        return entry

    def opted(self, app: str, entry: OptOut, *, out: bool, by: str | None = None) -> Entry:
        """A number opted out of ``app`` (``out``) or back in: through its provider, or
        cleared by the admin key ``by`` (counted apart from the provider then)."""
        data = {
            "opt_out_id": entry.id, "number": entry.number, "country": entry.country,
            "provider": entry.provider, "keyword": None if by else entry.keyword,
            **({"by": by} if by else {}),
        }  # fmt: skip

        def record(batch: Batch) -> None:
            self._stats.queue(
                batch, app, {"opted_out" if out else "opted_in": 1},
                provider=None if by else entry.provider, country=entry.country,
            )  # fmt: skip
            self._events.queue(batch, app, "number.opted_out" if out else "number.opted_in", data)

        return record

    def unmatched(self, provider: str) -> Entry:
        """A report for a message nobody knows: counted apart, since it has no app."""

        def entry(batch: Batch) -> None:
            self._stats.queue_unmatched(batch, provider)

        return entry


def _since(sent_at_ms: int | None, at: float) -> float | None:
    if not sent_at_ms:
        return None
    return max(0.0, at - sent_at_ms / 1000)
