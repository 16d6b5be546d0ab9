"""A check in two round trips: reserve -> compare -> settle.

1. reserve: one attempt counted atomically before any comparison (the number's
   wrong-code budget read first), beside the client network's throttle;
2. compare the code against the hashes that still work, off the event loop;
3. settle: approve (only if still pending and that code still stands, so two right
   checks approve exactly once) or count the miss and lock on the last attempt, beside
   the approval's statistics and conversion count.

An approval's statistics go out with the verdict, before it is known, so that a check
costs two round trips; in the rare case the verdict is not an approval (a concurrent
check won, or a resend replaced the code) they are taken back. Events go out only once
the approval is sure. A check by number first reads which verification is the newest.

An approval without a code (:meth:`CheckFlow.approve`: the app's backend decided) is
one script, then the same statistics, conversion count and event as a check's approval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from app.abuse.service import Clearance
from app.abuse.throttle import rate_limited
from app.emails import is_email
from app.errors import OtpgateError
from app.metrics import CHECKS
from app.store.keys import Keys
from app.store.outcomes import Approved, Ended, Unavailable
from app.store.throttles import Refusal
from app.verify.messages import TEST_PROVIDER
from app.verify.models import CheckResult
from app.verify.recipients import recipient_for

if TYPE_CHECKING:
    from app.abuse.service import AbuseService
    from app.channels import Channel
    from app.delivery.ledger import Ledger
    from app.store.outcomes import Approval, Reservation
    from app.store.redis import Batch
    from app.store.throttles import Counter
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
        retention_ms: int,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._abuse = abuse
        self._ledger = ledger
        self._retention_ms = retention_ms

    async def check(self, app: str, request: CheckVerification) -> CheckResult:
        """Compare a typed code with the verification's codes; approve on a match."""
        verification_id = request.id or await self._newest(app, request)
        wrong = self._abuse.wrong_counter(app, Keys.subject_of(verification_id))
        reserved = await self._reserve(app, verification_id, request.client_ip, wrong)
        found = await self._hasher.match(
            [code_hash for _, code_hash, _, _ in reserved.codes],
            verification_id, request.code, reserved.params,
        )  # fmt: skip
        if found is not None:
            send, _, provider, channel = reserved.codes[found]
            approved = await self._approve(
                app, verification_id, reserved, send, (provider, channel)
            )
            if approved is not None:
                return approved
        return await self._missed(verification_id, reserved, wrong)

    async def _newest(self, app: str, request: CheckVerification) -> str:
        if request.to is None:
            raise OtpgateError(
                "invalid_request", "give the verification `id`, or `to` and `purpose`"
            )
        keys = self._store.keys
        channel: Channel = "email" if is_email(request.to) else "sms"  # phones: one digest
        number = recipient_for(request.to, request.country, channel).digest(keys)
        batch = self._store.batch()
        index = self._store.queue_latest(
            batch, keys.subject(app, number), keys.lookup(app, number, request.purpose)
        )
        latest = self._store.read_latest((await batch.run())[index])
        if latest is None:
            raise OtpgateError(
                "verification_not_found", "no verification for this recipient and purpose"
            )
        return latest

    async def _reserve(
        self, app: str, verification_id: str, client_ip: str | None, wrong: Counter | None
    ) -> Reservation:
        """Count an attempt beside the network's throttle; either refusing undoes both."""
        batch = self._store.batch()
        reserving = self._store.queue_reserve(batch, app, verification_id, wrong)
        network, limiting = self._abuse.queue_check(batch, app, client_ip)
        results = await batch.run()
        reserved = self._store.read_reserve(results[reserving], wrong)
        taken = None if limiting is None else self._abuse.read_check(network, results[limiting])
        if isinstance(reserved, Unavailable | Refusal):
            if taken is not None and not isinstance(taken, Refusal):
                await self._abuse.give_back(Clearance(taken=[taken]))
            if isinstance(reserved, Refusal):
                raise rate_limited(reserved)
            if reserved.just_expired:  # this check is the one that found it expired
                await self._ledger.write(self._ledger.ended(app, verification_id, "expired"))
            raise not_checkable(verification_id, reserved.status)
        if isinstance(taken, Refusal):
            undo = self._store.batch()
            self._store.queue_conclude(undo, verification_id, reserved.lookup, "release")
            await undo.run()
            raise rate_limited(taken)
        return reserved

    async def _approve(
        self,
        app: str,
        verification_id: str,
        reserved: Reservation,
        code: int,
        sent: tuple[str, str],
    ) -> CheckResult | None:
        """Approve with the matched ``code`` (``sent``: the provider and channel of its
        message); None when a resend replaced it meanwhile."""
        provider, channel = sent
        counted = provider != TEST_PROVIDER
        known = (None if provider == "-" else provider, channel)
        batch = self._store.batch()
        settling = self._store.queue_conclude(
            batch, verification_id, reserved.lookup, "approve", code=code,
            retention_ms=self._retention_ms,
        )  # fmt: skip
        self._count_approval(batch, app, reserved.country, known, counted, 1)
        settled = self._store.read_conclude((await batch.run())[settling])
        if not isinstance(settled, Approved):
            undo = self._store.batch()
            self._count_approval(undo, app, reserved.country, known, counted, -1)
            await undo.run()
            if isinstance(settled, Ended):
                # A concurrent check approved (or ended) it first: this code is consumed.
                raise not_checkable(verification_id, settled.status)
            return None  # stale
        CHECKS.labels("approved").inc()
        await self._ledger.write(self._ledger.approved_event(app, verification_id, channel))
        remaining = reserved.max_attempts - reserved.attempts_used
        return CheckResult(verification_id, "approved", valid=True, attempts_remaining=remaining)

    async def approve(self, app: str, verification_id: str, lookup: str) -> Approval:
        """Approve a pending verification without a code, counted as a right check's
        approval is (statistics, the conversion guard, the ``verification.approved``
        event); one that just expired is marked so and its ending told."""
        done = await self._store.decisions.approve(app, verification_id, lookup, self._retention_ms)
        if done.outcome == "expired":
            await self._ledger.write(self._ledger.ended(app, verification_id, "expired"))
        if done.outcome != "approved":
            return done
        counted = done.provider != TEST_PROVIDER
        batch = self._store.batch()
        self._count_approval(
            batch, app, done.country, (done.provider or None, done.channel), counted, 1
        )
        self._ledger.approved_event(app, verification_id, done.channel)(batch)
        await batch.run()
        return done

    def _count_approval(
        self,
        batch: Batch,
        app: str,
        country: str,
        sent: tuple[str | None, str],
        counted: bool,
        sign: int,
    ) -> None:
        """Queue an approval's statistics and conversion count (``sign`` -1 takes them back)."""
        if counted:
            provider, channel = sent
            self._ledger.approval_counts(
                app, provider=provider, country=country, channel=channel, amount=sign
            )(batch)
            self._abuse.approved(batch, app, country, sign)

    async def _missed(
        self, verification_id: str, reserved: Reservation, wrong: Counter | None
    ) -> CheckResult:
        """A wrong code: counted against the number; the last attempt locks."""
        CHECKS.labels("wrong").inc()
        batch = self._store.batch()
        settling = self._store.queue_conclude(
            batch, verification_id, reserved.lookup, "miss", retention_ms=self._retention_ms,
            wrong=wrong,
        )  # fmt: skip
        settled = self._store.read_conclude((await batch.run())[settling])
        remaining = reserved.max_attempts - reserved.attempts_used
        if remaining > 0:
            return CheckResult(
                verification_id, "pending", valid=False, attempts_remaining=remaining
            )
        status = "max_attempts_reached" if not isinstance(settled, Ended) else settled.status
        if status == "gone":  # the record expired away meanwhile
            status = "expired"
        return CheckResult(
            verification_id, cast("VerificationStatus", status), valid=False, attempts_remaining=0
        )
