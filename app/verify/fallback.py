"""Fallback plans: what otpgate sends by itself when a message brings no receipt.

An app's plan (``fallback``, or ``resend_on_no_receipt`` for SMS alone) is a list of
steps; the client's send is step 0 when its channel is the plan's first. When a step's
message has no ``delivered`` report ``wait`` seconds after it went, or a final failure
report comes first, the next step goes: the same verification resent (a new code; the
earlier ones keep working) on the step's channel, through the providers that did not
have their turn first, within the send budget and the number's throttle, once, on
whichever instance claims it first (:mod:`app.store.fallbacks`). A step waits for
nothing once the verification is over, a delivered report came, the client sent again
(the person is in charge), or the number opted out.

Redis holds numbers only as digests, but a step must reach the number: so a plan keeps
the recipient sealed (AES-256-GCM under a key derived from the pepper, bound to the
verification id, :mod:`app.sealing`), no longer than the code lives, and drops it when
the plan ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import msgspec
from redis.exceptions import RedisClusterException, RedisError

from app.errors import OtpgateError
from app.sealing import Sealer, SealError
from app.verify.config import FallbackStep
from app.verify.models import FallbackReason
from app.verify.recipients import recipient_for
from app.verify.send_steps import PlannedStep

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.delivery.ledger import Ledger
    from app.store.fallbacks import FallbackStore, Waiting
    from app.store.redis import Batch
    from app.verify.recipients import Recipient
    from app.verify.send_steps import Reserved
    from app.verify.service import VerificationService

__all__ = ["End", "FallbackPlans", "FallbackWorker", "Go", "SealedRecipients", "Wait", "next_move"]

log = logging.getLogger("otpgate.fallback")

#: Seconds between two looks at the due steps, on every instance.
POLL_SECONDS = 0.5
#: How long a claimed step is this instance's: past it, another instance may take it.
LEASE_MS = 60_000
#: Steps one look claims at most (sent side by side).
CLAIM_LIMIT = 50
_FINAL_FAILURES = frozenset({"undelivered", "failed"})


class SealedRecipients:
    """A plan's recipient, sealed under a key of its own derived from the pepper and
    bound to the verification id."""

    def __init__(self, pepper: bytes) -> None:
        self._sealer = Sealer(pepper, b"otpgate fallback recipient v1")

    def seal(self, verification_id: str, address: str) -> str:
        return self._sealer.seal(address.encode(), verification_id.encode())

    def open(self, waiting: Waiting) -> str:
        """The recipient a waiting plan keeps sealed."""
        return self._sealer.open(waiting.sealed_to, waiting.verification_id.encode()).decode()


class FallbackPlans:
    """Schedules the next step of a plan in the round trip that records a send."""

    def __init__(self, store: FallbackStore, ledger: Ledger, pepper: bytes) -> None:
        self._store, self._ledger = store, ledger
        self._recipients = SealedRecipients(pepper)

    def queue_after(
        self, batch: Batch, app: str, to: Recipient, reserved: Reserved, message: dict[str, Any]
    ) -> None:
        """Queue what follows ``message`` in the app's plan: wait for its receipt, or (it
        failed) go on at once; or end the plan after its last step. A client's send
        starts the plan only when it created the verification on the plan's channel."""
        plan, verification_id = reserved.policy.fallback, reserved.verification_id
        if reserved.step is None:
            if not (reserved.created and plan and plan[0].channel == to.channel):
                return
            if message["status"] != "sent":  # failed: so has the verification; or a test number
                return
            step = 0
        else:
            step = reserved.step
            self._store.queue_mark(batch, verification_id, reserved.view.sends, message["fallback"])
            self._ledger.fallback(app, verification_id, message, step=step)(batch)
        if step + 1 >= len(plan):
            self._store.queue_end(batch, verification_id)
            return
        wait_ms = int((plan[step].wait or 0) * 1000) if message["status"] == "sent" else 0
        self._store.queue_schedule(
            batch, verification_id,
            sealed_to=self._recipients.seal(verification_id, to.address),
            step=step, number=reserved.view.sends, due_ms=message["created_at"] + wait_ms,
            ttl_ms=int(reserved.policy.code_ttl * 1000),
        )  # fmt: skip


class End(msgspec.Struct, frozen=True):
    """No step follows (``why``: for the log)."""

    why: str


class Wait(msgspec.Struct, frozen=True):
    """Not yet: the step is due at ``due_ms``."""

    due_ms: int


class Go(msgspec.Struct, frozen=True):
    """The next step goes now, for ``reason``."""

    step: FallbackStep
    reason: FallbackReason


def next_move(now_ms: int, waiting: Waiting, plan: tuple[FallbackStep, ...]) -> End | Wait | Go:
    """What to do, at ``now_ms``, with a verification whose plan step is due."""
    record = waiting.record
    if record is None or record.status != "pending" or record.expires_ms <= now_ms:
        return End("over")
    if record.sends != waiting.number:
        return End("sent again")
    if waiting.step + 1 >= len(plan):
        return End("plan done")
    status = record.messages[-1]["status"] if record.messages else "queued"
    if status == "delivered":
        return End("delivered")
    if status not in _FINAL_FAILURES and now_ms < waiting.due_ms:
        return Wait(waiting.due_ms)  # woken early by another message's report
    if waiting.opted_out:
        return End("opted out")
    reason: FallbackReason = "failed" if status == "failed" else "no_receipt"
    if status == "undelivered":
        reason = "undelivered"
    return Go(plan[waiting.step + 1], reason)


class FallbackWorker:
    """Takes due steps and sends them, on every instance (one acts on each step).

    Args:
        current: the verification service in force (apps change at run time).
    """

    def __init__(
        self, store: FallbackStore, pepper: bytes, current: Callable[[], VerificationService]
    ) -> None:
        self._store, self._current = store, current
        self._recipients = SealedRecipients(pepper)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.round()
            except (RedisError, RedisClusterException, OSError) as exc:
                log.warning("fallback steps unreachable for now: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=POLL_SECONDS)

    def stop(self) -> None:
        self._stopping.set()

    async def round(self) -> int:
        """Claim the due steps and act on each; how many were claimed."""
        now_ms, claimed = await self._store.claim(CLAIM_LIMIT, LEASE_MS)
        if claimed:
            found = await self._store.read(claimed)
            pairs = zip(claimed, found, strict=True)
            acts = (self._act(now_ms, vid, waiting) for vid, waiting in pairs)
            for failure in await asyncio.gather(*acts, return_exceptions=True):
                if isinstance(failure, Exception):  # its lease runs out: tried again then
                    log.error("a fallback step failed: %s", type(failure).__name__)
        return len(claimed)

    async def _act(self, now_ms: int, verification_id: str, waiting: Waiting | None) -> None:
        if waiting is None or waiting.record is None:
            await self._store.end(verification_id)
            return
        service, record = self._current(), waiting.record
        move = next_move(now_ms, waiting, service.plan(record.app))
        if isinstance(move, Wait):
            await self._store.queue_wait(verification_id, move.due_ms)
            return
        if isinstance(move, End):
            log.info("fallback of %s ends: %s", verification_id, move.why)
            await self._store.end(verification_id)
            return
        try:
            to = recipient_for(self._recipients.open(waiting), None, move.step.channel)
        except SealError:  # sealed under another pepper: it can never open
            log.warning("fallback of %s ends: its recipient does not open", verification_id)
            await self._store.end(verification_id)
            return
        tried = {m["provider"] for m in record.messages if m["channel"] == to.channel}
        planned = PlannedStep(
            verification_id, waiting.number, waiting.step + 1, move.reason,
            frozenset(name for name in tried if name),
        )  # fmt: skip
        try:
            sent = await service.step(record.app, to, record.purpose, record.locale, planned)
        except OtpgateError as exc:
            log.info("fallback step %d of %s to %s: %s", planned.index, verification_id,
                     to.masked, exc.code)  # fmt: skip
            if exc.code != "delivery_failed":  # that one's record already went on or ended
                await self._store.end(verification_id)
            return
        if sent is None:
            await self._store.end(verification_id)  # a send came in between
            return
        log.info("fallback step %d of %s: %s to %s (%s)", planned.index, verification_id,
                 to.channel, to.masked, move.reason)  # fmt: skip
