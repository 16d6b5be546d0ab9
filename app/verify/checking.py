"""A check: find the verification -> admit (wrong-code and per-IP budgets) -> reserve an
attempt -> compare off the loop -> approve or count the miss -> answer.

The attempt is counted before the comparison, atomically, so concurrent guesses can
never take more than the budget; a right code approves only if the verification is still
pending and that code still stands, so two right checks approve exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from app.errors import OtpgateError
from app.metrics import CHECKS
from app.phone import normalize_phone, phone_digest
from app.store.outcomes import Approved, Ended, Unavailable
from app.verify.messages import TEST_PROVIDER
from app.verify.models import CheckResult

if TYPE_CHECKING:
    from app.abuse.service import AbuseService
    from app.delivery.ledger import Ledger
    from app.store.outcomes import Reservation
    from app.store.verifications import VerificationStore
    from app.verify.codes import CodeHasher
    from app.verify.models import CheckVerification, VerificationStatus

__all__ = ["CheckFlow", "not_checkable"]


def not_checkable(verification_id: str, status: str) -> OtpgateError:
    """Why a verification in ``status`` takes no check (a code, once used, is gone)."""
    if status == "expired":
        return OtpgateError("verification_expired", verification_id=verification_id)
    if status in {"max_attempts_reached", "exhausted"}:
        return OtpgateError(
            "max_attempts_reached",
            "every check attempt of this verification is used",
            verification_id=verification_id,
        )
    if status == "not_found":
        return OtpgateError("verification_not_found", f"no verification {verification_id!r}")
    return OtpgateError(
        "verification_not_found",
        f"verification {verification_id} is {status}, not pending",
        verification_id=verification_id,
        verification_status=status,
    )


class CheckFlow:
    """Checks codes for every app."""

    def __init__(
        self,
        *,
        store: VerificationStore,
        hasher: CodeHasher,
        abuse: AbuseService,
        ledger: Ledger,
        pepper: bytes,
        retention_ms: int,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._abuse = abuse
        self._ledger = ledger
        self._pepper = pepper
        self._retention_ms = retention_ms

    async def check(self, app: str, request: CheckVerification) -> CheckResult:
        """Compare a typed code with the verification's codes; approve on a match."""
        verification_id, number, region = await self._find(app, request)
        await self._abuse.clear_check(app, number, request.client_ip)
        reserved = await self._store.reserve_attempt(app, verification_id)
        if isinstance(reserved, Unavailable):
            if reserved.just_expired:  # this check is the one that found it expired
                await self._ledger.write(self._ledger.ended(app, verification_id, "expired"))
            raise not_checkable(verification_id, reserved.status)
        found = await self._hasher.match(
            [code_hash for _, code_hash in reserved.codes], verification_id, request.code
        )
        if found is not None:
            send = reserved.codes[found][0]
            approved = await self._approve(app, verification_id, region, reserved, send)
            if approved is not None:
                return approved
        return await self._missed(app, verification_id, number, reserved)

    async def _approve(
        self, app: str, verification_id: str, region: str, reserved: Reservation, code: int
    ) -> CheckResult | None:
        """Approve with the matched code; None when a resend replaced it meanwhile."""
        settled = await self._store.approve(
            verification_id, reserved.lookup, code, self._retention_ms
        )
        if isinstance(settled, Ended):
            # A concurrent check approved (or ended) it first: this code is consumed.
            raise not_checkable(verification_id, settled.status)
        if not isinstance(settled, Approved):
            return None  # stale
        CHECKS.labels("approved").inc()
        await self._abuse.approved(app, region)
        await self._ledger.write(
            self._ledger.approved(
                app, verification_id, provider=settled.provider or None, country=region,
                counted=settled.provider != TEST_PROVIDER,
            )
        )  # fmt: skip
        remaining = reserved.max_attempts - reserved.attempts_used
        return CheckResult(verification_id, "approved", valid=True, attempts_remaining=remaining)

    async def _missed(
        self, app: str, verification_id: str, number: str, reserved: Reservation
    ) -> CheckResult:
        """A wrong code: counted against the number; the last attempt locks."""
        CHECKS.labels("wrong").inc()
        await self._abuse.wrong_code(app, number)
        remaining = reserved.max_attempts - reserved.attempts_used
        if remaining > 0:
            return CheckResult(
                verification_id, "pending", valid=False, attempts_remaining=remaining
            )
        settled = await self._store.lock(verification_id, reserved.lookup, self._retention_ms)
        status = "max_attempts_reached" if not isinstance(settled, Ended) else settled.status
        if status == "gone":  # the record expired away meanwhile
            status = "expired"
        return CheckResult(
            verification_id, cast("VerificationStatus", status), valid=False, attempts_remaining=0
        )

    async def _find(self, app: str, request: CheckVerification) -> tuple[str, str, str]:
        """The verification to check, its number's digest and its country."""
        if request.id is not None:
            subject = await self._store.subject(app, request.id)
            if subject is None:
                raise OtpgateError("verification_not_found", f"no verification {request.id!r}")
            return request.id, *subject
        if request.to is None:
            raise OtpgateError(
                "invalid_request", "give the verification `id`, or `to` and `purpose`"
            )
        phone = normalize_phone(request.to, request.country)
        number = phone_digest(self._pepper, phone.e164)
        latest = await self._store.latest(self._store.keys.lookup(app, number, request.purpose))
        if latest is None:
            raise OtpgateError(
                "verification_not_found", "no verification for this number and purpose"
            )
        return latest, number, phone.region
