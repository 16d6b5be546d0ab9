"""Verifications in Redis: every state change one Lua script, every answer a typed value.

This module owns the keys and scripts of verifications (the record, the per-purpose
index, the number's throttles the scripts take, the pointers from providers' message
ids; the send's first script reads the number's opt-out mark too) and turns each
script's reply into a struct, so nothing above it reads a Lua reply by position. A
request's steps queue their scripts into a :class:`~app.store.redis.Batch` with the other
parts of the same round trip (``queue_*``), then read the answers (``read_*``). Cancels
and approvals without a code are :attr:`VerificationStore.decisions`
(:mod:`app.store.decisions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.store.decisions import Decisions
from app.store.keys import Keys
from app.store.outcomes import (
    Approved,
    Conflict,
    Ended,
    MessageRecord,
    Pending,
    Precheck,
    Refused,
    Reservation,
    Sent,
    Settled,
    Unavailable,
)
from app.store.records import StoredVerification, decode, decode_message, encode_attempts
from app.store.throttles import Refusal, rates_args, refusal_of, rooms_of

if TYPE_CHECKING:
    from app.store.outcomes import NewRecord
    from app.store.redis import Batch, Scripts
    from app.store.throttles import Counter
    from app.verify.config import Policy

__all__ = ["VerificationStore"]


def _rates(throttle: Counter | None) -> list[int]:
    return rates_args(throttle.rates if throttle else ())


def _window(throttle: Counter | None, subject: str, rule: str) -> str:
    return throttle.key if throttle else Keys.number_window(subject, rule)


class VerificationStore:
    """Reads and changes verifications; ``keys`` names them."""

    def __init__(self, scripts: Scripts, keys: Keys) -> None:
        self._scripts = scripts
        self._client = scripts.client
        self.keys = keys
        self.decisions = Decisions(scripts)  # cancel, approve without a code

    def batch(self) -> Batch:
        return self._scripts.batch()

    # -- sends -----------------------------------------------------------------------

    def queue_precheck(
        self, batch: Batch, subject: str, lookup: str, throttle: Counter | None
    ) -> int:
        window, mark = _window(throttle, subject, "sn"), Keys.opt_out(subject)
        keys = [Keys.index(subject, lookup), window, mark]
        return batch.script("admit_number", keys, _rates(throttle))

    @staticmethod
    def read_precheck(result: list[Any], throttle: Counter | None) -> Precheck:
        now, index, rate = int(result[0]), result[1], int(result[2])
        refusal = refusal_of(throttle, rate, float(result[5])) if throttle and rate else None
        pending = _pending(index)
        return Precheck(
            now, pending if pending and pending.pending_until_ms > now else None, refusal,
            opted_out=result[6] == 1,
        )  # fmt: skip

    def queue_send(
        self,
        batch: Batch,
        subject: str,
        record: NewRecord,
        *,
        expected: str | None,
        verification_id: str,
        code_hash: str,
        params: str,
        message_id: str,
        policy: Policy,
        retention_ms: int,
        throttle: Counter | None,
        channel: str = "sms",
        step: int | None = None,
        own: tuple[str, str] = ("", ""),
    ) -> int:
        """Queue creating the verification (``expected`` None) or resending for it,
        through ``channel`` (a resend may change the verification's channel); ``step``:
        a fallback step after send ``step`` (no cooldown; earlier codes keep working);
        ``own``: the verification's own app name and app hash from now on (``""``: keep
        its own)."""
        keys = [
            Keys.index(subject, record.lookup), Keys.verification(verification_id),
            _window(throttle, subject, "sn"),
        ]  # fmt: skip
        resend = policy.resend_policy if step is None else f"step:{step}"
        args = [
            expected or "", verification_id, code_hash, int(policy.code_ttl * 1000), retention_ms,
            int(policy.resend_cooldown * 1000), policy.max_sends, policy.max_attempts, resend,
            message_id, params, channel, *own, *_rates(throttle),
            *([] if expected else record.fields()),
        ]  # fmt: skip
        return batch.script("send", keys, args)

    @staticmethod
    def read_send(
        result: list[Any], throttle: Counter | None
    ) -> Sent | Conflict | Refused | Refusal:
        outcome, current = result[0], result[1]
        if outcome == "conflict":
            return Conflict(current)
        numbers = [int(value) for value in result[2:14]]
        if outcome in {"cooldown", "max_sends"}:
            return Refused(outcome, current, sends=numbers[3], retry_ms=numbers[8])
        if outcome == "limited":
            assert throttle is not None
            return refusal_of(throttle, numbers[9], numbers[0] + numbers[8])
        rooms = rooms_of([throttle], result[16:]) if throttle else []
        now, expires, last_send, sends, attempts, max_attempts, max_sends, cooldown = numbers[:8]
        return Sent(
            outcome == "created", current, now, expires, last_send, sends, attempts,
            max_attempts, max_sends, cooldown, limits=rooms, app_name=result[14],
            app_hash=result[15],
        )  # fmt: skip

    def queue_record_message(
        self,
        batch: Batch,
        verification_id: str,
        lookup: str,
        number: int,
        message: dict[str, Any],
        *,
        fail: bool,
        retention_ms: int,
        pointer_ms: int,
    ) -> None:
        """Queue storing what the route made of message ``number`` (failing the
        verification if ``fail``) and the pointer from the provider's message id to it."""
        subject = Keys.subject_of(verification_id)
        batch.script(
            "record_message",
            [Keys.verification(verification_id), Keys.index(subject, lookup)],
            [
                number, "failed" if fail else "", retention_ms, message.get("provider") or "-",
                message["status"], message.get("provider_message_id") or "",
                encode_attempts(message.get("attempts") or []), message.get("error_code") or "",
                message.get("error_kind") or "",
            ],
        )  # fmt: skip
        provider, provider_message_id = message.get("provider"), message.get("provider_message_id")
        if provider and provider_message_id:
            batch.command(
                "SET", Keys.provider_message(provider, provider_message_id),
                f"{verification_id} {number}", "PX", pointer_ms,
            )  # fmt: skip

    async def message(self, verification_id: str, number: int) -> MessageRecord:
        """Message ``number`` of a verification, and where the verification stands."""
        fields = await self._client.hgetall(Keys.verification(verification_id))
        if not fields:
            return MessageRecord(None, None, None, recorded=False)
        return MessageRecord(
            status=fields.get("s"),
            expires_ms=int(fields["E"]) if "E" in fields else None,
            message=decode_message(fields, number),
            recorded=f"p{number}" in fields,
        )

    # -- reads -----------------------------------------------------------------------

    async def read(self, app: str, verification_id: str) -> StoredVerification | None:
        """``app``'s verification (None: unknown, gone, or another app's)."""
        if not Keys.is_verification_id(verification_id):
            return None
        fields: dict[str, str] = await self._client.hgetall(Keys.verification(verification_id))
        return decode(fields) if fields.get("a") == app else None

    async def read_many(self, app: str, ids: list[str]) -> dict[str, StoredVerification]:
        """``app``'s verifications among ``ids``, in one pipeline (gone ones left out)."""
        ids = [
            verification_id for verification_id in ids if Keys.is_verification_id(verification_id)
        ]
        found = await self.read_any(ids) if ids else []
        return {i: r for i, r in zip(ids, found, strict=True) if r is not None and r.app == app}

    async def read_any(self, verification_ids: list[str]) -> list[StoredVerification | None]:
        """Verifications of any app, in one round trip (None: gone); for the dev outbox."""
        async with self._client.pipeline(transaction=False) as pipe:  # on Cluster: by slot
            for verification_id in verification_ids:
                pipe.hgetall(Keys.verification(verification_id))
            found: list[dict[str, str]] = await pipe.execute()
        return [decode(fields) if fields else None for fields in found]

    def queue_latest(self, batch: Batch, subject: str, lookup: str) -> int:
        """Queue reading the newest verification of (app, number, purpose)."""
        return batch.command("GET", Keys.index(subject, lookup))

    @staticmethod
    def read_latest(result: str | None) -> str | None:
        found = _pending(result or "")
        return found.verification_id if found else None

    # -- checks ----------------------------------------------------------------------

    def queue_reserve(
        self, batch: Batch, app: str, verification_id: str, wrong: Counter | None
    ) -> int:
        """Queue counting one check attempt (the number's wrong-code budget read first)."""
        subject = Keys.subject_of(verification_id)
        keys = [Keys.verification(verification_id), _window(wrong, subject, "wn")]
        return batch.script("reserve_attempt", keys, [app, *_rates(wrong)])

    @staticmethod
    def read_reserve(
        result: list[Any], wrong: Counter | None
    ) -> Reservation | Unavailable | Refusal:
        outcome = result[0]
        if outcome == "ok":
            rows = result[6:]
            codes = [
                (int(rows[i]), rows[i + 1], rows[i + 2], rows[i + 3])
                for i in range(0, len(rows), 4)
            ]
            return Reservation(
                int(result[1]), int(result[2]), result[3], result[4], result[5], codes
            )
        if outcome == "limited":
            assert wrong is not None
            return refusal_of(wrong, int(result[1]), float(result[4]))
        if outcome == "status":
            return Unavailable(result[1])
        return Unavailable(outcome, just_expired=outcome == "expired")

    def queue_conclude(
        self,
        batch: Batch,
        verification_id: str,
        lookup: str,
        verdict: str,
        *,
        code: int = 0,
        retention_ms: int = 0,
        wrong: Counter | None = None,
    ) -> int:
        """Queue a check's verdict: ``approve`` with the matched ``code``, ``miss``
        (counted against the number's wrong-code budget), or ``release`` the attempt."""
        subject = Keys.subject_of(verification_id)
        keys = [
            Keys.verification(verification_id), Keys.index(subject, lookup),
            _window(wrong, subject, "wn"),
        ]  # fmt: skip
        return batch.script(
            "conclude",
            keys,
            [verdict, code, retention_ms, *_rates(wrong if verdict == "miss" else None)],
        )

    @staticmethod
    def read_conclude(result: list[Any]) -> Approved | Settled | Ended:
        if result[0] == "approved":
            return Approved(result[1])
        if result[0] == "status":
            return Ended(result[1])
        return Settled(result[0])


def _pending(index: str) -> Pending | None:
    if not index:
        return None
    verification_id, *numbers = index.split(" ")
    return Pending(verification_id, *(int(n) for n in numbers))
