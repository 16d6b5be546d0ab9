"""Fallback plans in Redis: which verifications wait for a step, and until when.

A verification whose app has a fallback plan gets, after each message but the plan's
last, a small hash in its number's slot (the recipient sealed, the plan's step that
message was, its number, when the next step is due) that lives no longer than its code,
and its id in one sorted set by due time that every instance polls
(``fallback_claim.lua``: the due ones move a lease ahead, so exactly one instance acts on
each). A final failure report brings a step forward (``ZADD XX LT``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.store.keys import Keys
from app.store.records import StoredVerification, decode

if TYPE_CHECKING:
    from app.store.redis import Batch, Scripts

__all__ = ["FallbackStore", "Waiting"]


class Waiting(msgspec.Struct, frozen=True):
    """A verification waiting for a fallback step, as the worker reads it."""

    verification_id: str
    sealed_to: str
    #: the plan's step the watched message was (0: the client's send)
    step: int
    #: the watched message's number, and when the next step goes without a report
    number: int
    due_ms: int
    record: StoredVerification | None
    opted_out: bool


class FallbackStore:
    """Schedules, claims and ends verifications' fallback steps."""

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts

    @staticmethod
    def queue_schedule(
        batch: Batch, verification_id: str, *, sealed_to: str, step: int, number: int,
        due_ms: int, ttl_ms: int,
    ) -> None:  # fmt: skip
        """Queue waiting for message ``number`` (the plan's ``step``) until ``due_ms``."""
        key = Keys.fallback(verification_id)
        batch.command("HSET", key, "t", sealed_to, "s", step, "n", number, "d", due_ms)
        batch.command("PEXPIRE", key, max(ttl_ms, 1))
        batch.command("ZADD", Keys.FALLBACK_DUE, due_ms, verification_id)

    @staticmethod
    def queue_mark(batch: Batch, verification_id: str, number: int, reason: str) -> None:
        """Queue noting on the record why a fallback step sent message ``number``."""
        batch.command("HSET", Keys.verification(verification_id), f"b{number}", reason)

    @staticmethod
    def queue_end(batch: Batch, verification_id: str) -> None:
        """Queue the end of a verification's plan: no step follows."""
        batch.command("DEL", Keys.fallback(verification_id))
        batch.command("ZREM", Keys.FALLBACK_DUE, verification_id)

    @staticmethod
    def queue_hurry(batch: Batch, verification_id: str) -> None:
        """Queue making a waiting verification's step due now (a final failure report
        came); nothing for one that waits for nothing."""
        now_ms = int(time.time() * 1000)
        batch.command("ZADD", Keys.FALLBACK_DUE, "XX", "LT", now_ms, verification_id)

    async def queue_wait(self, verification_id: str, due_ms: int) -> None:
        """Put a claimed verification back to wait until ``due_ms``."""
        batch = self._scripts.batch()
        batch.command("ZADD", Keys.FALLBACK_DUE, "XX", due_ms, verification_id)
        await batch.run()

    async def end(self, verification_id: str) -> None:
        batch = self._scripts.batch()
        self.queue_end(batch, verification_id)
        await batch.run()

    async def claim(self, limit: int, lease_ms: int) -> tuple[int, list[str]]:
        """Redis' time and the due verifications, each leased to this caller."""
        batch = self._scripts.batch()
        batch.script("fallback_claim", [Keys.FALLBACK_DUE], [limit, lease_ms])
        (result,) = await batch.run()
        return int(result[0]), [str(member) for member in result[1:]]

    async def read(self, verification_ids: list[str]) -> list[Waiting | None]:
        """Each claimed verification's plan state, record and opt-out mark, in one round
        trip (None: its plan is gone, with its code)."""
        batch = self._scripts.batch()
        for verification_id in verification_ids:
            subject = Keys.subject_of(verification_id)
            batch.command("HGETALL", Keys.fallback(verification_id))
            batch.command("HGETALL", Keys.verification(verification_id))
            batch.command("EXISTS", Keys.opt_out(subject))
        results = await batch.run()
        return [
            _waiting(verification_id, *results[3 * i : 3 * i + 3])
            for i, verification_id in enumerate(verification_ids)
        ]


def _waiting(verification_id: str, plan: Any, fields: Any, opted_out: Any) -> Waiting | None:
    if not plan or "t" not in plan:
        return None
    return Waiting(
        verification_id, plan["t"], int(plan["s"]), int(plan["n"]), int(plan["d"]),
        decode(fields) if fields else None, opted_out == 1,
    )  # fmt: skip
