"""Verifications in Redis: every state change one Lua script, every answer a typed value.

This module owns the keys and scripts of verifications (the record, the pending index,
the latest pointer, the pointers from providers' message ids) and turns each script's
reply into a struct, so nothing above it reads a Lua reply by position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.store.keys import Keys
from app.store.outcomes import (
    Approved,
    Canceled,
    Conflict,
    Ended,
    MessageRecord,
    NewRecord,
    Pending,
    Refused,
    ReportApplied,
    ReportUpdate,
    Reservation,
    Sent,
    Settled,
    Unavailable,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

    from app.store.redis import Scripts
    from app.verify.config import Policy

__all__ = ["VerificationStore"]


class VerificationStore:
    """Reads and changes verifications; ``pepper`` keys the digests in key names."""

    def __init__(self, client: Redis, scripts: Scripts, pepper: bytes) -> None:
        self._client = client
        self._scripts = scripts
        self.keys = Keys(pepper)

    # -- sends -----------------------------------------------------------------------

    async def pending(self, lookup: str) -> Pending | None:
        raw = await self._client.get(Keys.pending(lookup))
        if raw is None:
            return None
        verification_id, *numbers = raw.split(" ")
        return Pending(verification_id, *map(int, numbers))

    async def send(
        self,
        lookup: str,
        *,
        expected: str | None,
        verification_id: str,
        code_hash: str,
        message: dict[str, Any],
        policy: Policy,
        retention_ms: int,
        record: NewRecord,
    ) -> Sent | Conflict | Refused:
        """Create the verification (``expected`` None) or resend for ``expected``."""
        result = await self._scripts.run(
            "send",
            [Keys.pending(lookup), Keys.verification(verification_id), Keys.latest(lookup)],
            [
                expected or "", verification_id, code_hash, int(policy.code_ttl * 1000),
                retention_ms, int(policy.resend_cooldown * 1000), policy.max_sends,
                policy.max_attempts, policy.resend_policy, msgspec.json.encode(message),
                *([] if expected else record.fields()),
            ],
        )  # fmt: skip
        outcome, current = result[0], result[1]
        if outcome == "conflict":
            return Conflict(current)
        numbers = [int(value) for value in result[2:]]
        if outcome in {"cooldown", "max_sends"}:
            return Refused(outcome, current, sends=numbers[3], retry_ms=numbers[8])
        return Sent(outcome == "created", current, *numbers[:8])

    async def record_message(
        self,
        verification_id: str,
        lookup: str,
        number: int,
        message: dict[str, Any],
        *,
        fail: bool,
        retention_ms: int,
        pointer: tuple[str, str, int] | None,
        also: Callable[[Pipeline], object],
    ) -> None:
        """Store what became of message ``number`` (failing the verification if ``fail``),
        the pointer ``(provider, provider message id, ttl ms)`` to it, and the commands
        ``also`` queues, in one round trip."""

        def queue(pipe: Pipeline) -> None:
            if pointer is not None:
                provider, provider_message_id, keep_ms = pointer
                pipe.set(
                    Keys.provider_message(provider, provider_message_id),
                    f"{verification_id} {number}",
                    px=keep_ms,
                )
            also(pipe)

        await self._scripts.run_with(
            "record_message",
            [Keys.verification(verification_id), Keys.pending(lookup)],
            [
                f"m:{number}", msgspec.json.encode(message), "failed" if fail else "",
                retention_ms, message.get("provider") or "",
            ],
            queue,
        )  # fmt: skip

    async def message(self, verification_id: str, number: int) -> MessageRecord:
        """Message ``number`` of a verification, and where the verification stands."""
        status, expires, stored, provider = await self._client.hmget(
            Keys.verification(verification_id),
            ["status", "expires", f"m:{number}", f"p:{number}"],
        )
        return MessageRecord(
            status=status,
            expires_ms=int(expires) if expires else None,
            message=msgspec.json.decode(stored) if stored else None,
            recorded=provider is not None,
        )

    # -- reads -----------------------------------------------------------------------

    async def read(self, app: str, verification_id: str) -> dict[str, str] | None:
        """The record of ``app``'s verification (None: unknown, gone, or another app's)."""
        if not Keys.is_verification_id(verification_id):
            return None
        record: dict[str, str] = await self._client.hgetall(Keys.verification(verification_id))
        return record if record.get("app") == app else None

    async def subject(self, app: str, verification_id: str) -> tuple[str, str] | None:
        """(number digest, country) of ``app``'s verification, for its throttles."""
        if not Keys.is_verification_id(verification_id):
            return None
        owner, number, region = await self._client.hmget(
            Keys.verification(verification_id), ["app", "ph", "region"]
        )
        return (number, region) if owner == app else None

    async def latest(self, lookup: str) -> str | None:
        """The newest verification of (app, number, purpose), while it is kept."""
        latest: str | None = await self._client.get(Keys.latest(lookup))
        return latest

    # -- checks ----------------------------------------------------------------------

    async def reserve_attempt(self, app: str, verification_id: str) -> Reservation | Unavailable:
        """Count one check attempt before any comparison, atomically."""
        result = await self._scripts.run(
            "reserve_attempt", [Keys.verification(verification_id)], [app]
        )
        if result[0] == "ok":
            pairs = result[4:]
            codes = [(int(pairs[i]), pairs[i + 1]) for i in range(0, len(pairs), 2)]
            return Reservation(int(result[1]), int(result[2]), result[3], codes)
        if result[0] == "status":
            return Unavailable(result[1])
        return Unavailable(result[0], just_expired=result[0] == "expired")

    async def approve(
        self, verification_id: str, lookup: str, code_number: int, retention_ms: int
    ) -> Approved | Settled | Ended:
        """Approve if still pending and code ``code_number`` still stands."""
        return await self._conclude(verification_id, lookup, "approve", code_number, retention_ms)

    async def lock(self, verification_id: str, lookup: str, retention_ms: int) -> Settled | Ended:
        """Lock the verification once its last attempt was used on a wrong code."""
        settled = await self._conclude(verification_id, lookup, "lock", "", retention_ms)
        assert not isinstance(settled, Approved)
        return settled

    async def _conclude(
        self, verification_id: str, lookup: str, verdict: str, number: int | str, retention: int
    ) -> Approved | Settled | Ended:
        result = await self._scripts.run(
            "conclude",
            [Keys.verification(verification_id), Keys.pending(lookup)],
            [verdict, number, retention],
        )
        if result[0] == "approved":
            return Approved(result[2])
        if result[0] == "status":
            return Ended(result[1])
        return Settled(result[0])

    # -- cancel ----------------------------------------------------------------------

    async def cancel(
        self, app: str, verification_id: str, lookup: str, retention_ms: int
    ) -> Canceled:
        """Cancel a pending verification (see :class:`Canceled` for the outcomes)."""
        result = await self._scripts.run(
            "cancel",
            [Keys.verification(verification_id), Keys.pending(lookup)],
            [app, retention_ms],
        )
        if result == ["canceled", "again"]:
            return Canceled("again")
        if result[0] == "status":
            return Canceled("not_pending", result[1])
        return Canceled(result[0])

    # -- delivery reports ------------------------------------------------------------

    async def find_messages(
        self, provider: str, provider_message_ids: list[str]
    ) -> list[tuple[str, int] | None]:
        """(verification id, message number) of each of a provider's message ids, while
        kept; one round trip whatever their number."""
        if not provider_message_ids:
            return []
        keys = [Keys.provider_message(provider, pmid) for pmid in provider_message_ids]
        found = []
        for reference in await self._client.mget(keys):
            verification_id, _, number = (reference or "").partition(" ")
            found.append((verification_id, int(number)) if number else None)
        return found

    async def apply_reports(self, updates: list[ReportUpdate]) -> list[ReportApplied]:
        """Apply each report to its message (the timeline grows, the status only moves
        forward, a duplicate changes nothing), all in one round trip."""
        calls = [_report_call(update) for update in updates]
        return [_applied(result) for result in await self._scripts.run_many("apply_report", calls)]


def _report_call(update: ReportUpdate) -> tuple[list[str], list[Any]]:
    args = [update.number, update.status, update.provider_status, update.error_code or ""]
    return [Keys.verification(update.verification_id)], [*args, update.occurred_ms or ""]


def _applied(result: list[Any]) -> ReportApplied:
    if result[0] == "gone":
        return ReportApplied("gone")
    outcome, old, status, sent_at, app, region, provider = result
    return ReportApplied(
        outcome, old or "", status, int(sent_at) if sent_at else None, app, region, provider
    )
