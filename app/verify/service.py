"""Verifications for the API: send (:mod:`app.verify.sending`), check
(:mod:`app.verify.checking`), read, cancel, and approve without a code. It knows
nothing of HTTP, and nothing of Redis but what
:class:`~app.store.verifications.VerificationStore` answers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.abuse.policy import parse_client_ip
from app.errors import OtpgateError
from app.verify.customization import UNCUSTOMIZED, Customization
from app.verify.recipients import recipient_for
from app.verify.records import detail_from_record

if TYPE_CHECKING:
    from app.delivery.ledger import Ledger
    from app.settings import Settings
    from app.store.records import StoredVerification
    from app.store.reports import ReportStore
    from app.store.verifications import VerificationStore
    from app.verify.checking import CheckFlow
    from app.verify.config import FallbackStep
    from app.verify.models import (
        CheckResult,
        CheckVerification,
        MessageView,
        StartVerification,
        VerificationDetail,
    )
    from app.verify.recipients import Recipient
    from app.verify.send_steps import PlannedStep
    from app.verify.sending import SendFlow, Started

__all__ = ["VerificationService", "not_ended"]


def not_ended(verification_id: str, outcome: str, status: str) -> OtpgateError:
    """Why a cancel or an approval did not end a verification (``outcome`` of the store)."""
    if outcome == "expired":
        return OtpgateError("verification_expired", verification_id=verification_id)
    if outcome == "not_pending":
        return OtpgateError(
            "verification_not_pending",
            f"verification {verification_id} is {status}",
            verification_status=status,
        )
    return OtpgateError("verification_not_found", f"no verification {verification_id!r}")


def _validate_client_ip(client_ip: str | None) -> None:
    if client_ip is not None:
        parse_client_ip(client_ip)


class VerificationService:
    """The verification flow for every app."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: VerificationStore,
        sending: SendFlow,
        checking: CheckFlow,
        ledger: Ledger,
        reports: ReportStore,
    ) -> None:
        self._settings = settings
        self._store = store
        self._reports = reports
        self._sending = sending
        self._checking = checking
        self._ledger = ledger
        self._retention_ms = int(settings.retention * 1000)
        self._report_timeout_ms = settings.delivery_report_timeout * 1000

    def plan(self, app: str) -> tuple[FallbackStep, ...]:
        """``app``'s fallback plan (empty: none)."""
        return self._settings.policy_for(app).fallback

    async def step(
        self, app: str, to: Recipient, purpose: str, locale: str, planned: PlannedStep
    ) -> MessageView | None:
        """Send a fallback step (:meth:`app.verify.sending.SendFlow.step`)."""
        return await self._sending.step(app, to, purpose, locale, planned)

    async def start(
        self,
        app: str,
        request: StartVerification,
        idempotency_key: str | None = None,
        own: Customization = UNCUSTOMIZED,
    ) -> Started:
        """Send a code, or resend one for the pending verification of this recipient;
        ``own``: the verification's own name and app hash, instead of the app's."""
        to = recipient_for(request.to, request.country, request.channel)
        _validate_client_ip(request.client_ip)
        own.check()
        if request.custom_code is not None and not self._custom_codes(app):
            raise OtpgateError(
                "invalid_request",
                "custom_code: this app does not take codes of its own (custom_code_enabled)",
            )
        return await self._sending.start(app, to, request, idempotency_key, own)

    async def check(self, app: str, request: CheckVerification) -> CheckResult:
        """Compare a typed code with the verification's codes; approve on a match."""
        _validate_client_ip(request.client_ip)
        return await self._checking.check(app, request)

    async def get(self, app: str, verification_id: str) -> VerificationDetail:
        """The verification ``verification_id`` of ``app`` with all its messages."""
        return detail_from_record(
            await self._record(app, verification_id), time.time() * 1000, self._report_timeout_ms
        )

    async def get_many(self, app: str, ids: list[str]) -> dict[str, VerificationDetail]:
        """``app``'s verifications among ``ids`` (those gone or another app's left out)."""
        now_ms = time.time() * 1000
        return {
            verification_id: detail_from_record(record, now_ms, self._report_timeout_ms)
            for verification_id, record in (await self._store.read_many(app, ids)).items()
        }

    async def of_messages(
        self, provider: str, provider_message_ids: list[str]
    ) -> list[tuple[str, VerificationDetail] | None]:
        """The app and verification of each of ``provider``'s messages, whatever the app
        (the dev outbox shows every app's messages); None until the send is recorded, or
        once the verification is gone."""
        found = await self._reports.find_messages(provider, provider_message_ids)
        ids = [reference[0] for reference in found if reference is not None]
        records = dict(zip(ids, await self._store.read_any(ids), strict=True))
        now_ms = time.time() * 1000
        return [
            None
            if reference is None or (record := records.get(reference[0])) is None
            else (record.app, detail_from_record(record, now_ms, self._report_timeout_ms))
            for reference in found
        ]

    async def cancel(
        self, app: str, verification_id: str, *, again: bool = True
    ) -> VerificationDetail:
        """Cancel a pending verification; its codes stop working at once. A canceled one
        is canceled ``again`` (unless that is false: then it is not pending, so of two
        racing cancels one wins)."""
        record = await self._record(app, verification_id)
        done = await self._store.decisions.cancel(
            app, verification_id, record.lookup, self._retention_ms
        )
        if done.outcome in {"canceled", "expired"}:  # this call is the one that ended it
            await self._ledger.write(self._ledger.ended(app, verification_id, done.outcome))
        if done.outcome == "again" and not again:
            raise not_ended(verification_id, "not_pending", "canceled")
        if done.outcome not in {"canceled", "again"}:
            raise not_ended(verification_id, done.outcome, done.status)
        return await self.get(app, verification_id)

    async def approve(self, app: str, verification_id: str) -> VerificationDetail:
        """Approve a pending verification without its code (the app's backend decided by
        other means): its codes stop working at once, and it counts as an approval."""
        record = await self._record(app, verification_id)
        done = await self._checking.approve(app, verification_id, record.lookup)
        if done.outcome != "approved":
            raise not_ended(verification_id, done.outcome, done.status)
        return await self.get(app, verification_id)

    def _custom_codes(self, app: str) -> bool:
        return self._settings.policy_for(app).custom_code_enabled

    async def _record(self, app: str, verification_id: str) -> StoredVerification:
        record = await self._store.read(app, verification_id)
        if record is None:
            raise OtpgateError("verification_not_found", f"no verification {verification_id!r}")
        return record
