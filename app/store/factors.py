"""TOTP factors in Redis: a record per factor and, per subject (an app's user), the set
of its factors and its consecutive wrong codes, all in the subject's slot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Batch, Scripts

__all__ = ["CheckOutcome", "FactorRecord", "FactorStore"]

Outcome = Literal[
    "missing", "locked", "not_verified", "verified_already", "wrong", "replayed", "ok"
]


class FactorRecord(msgspec.Struct, frozen=True):
    """A factor as stored (field names are the hash's)."""

    id: str
    a: str  # app
    s: str  # subject digest
    n: str  # friendly name
    st: str  # 'u' unverified | 'v' verified
    k: str  # the secret, sealed
    d: int  # digits
    p: int  # period s
    c: int  # created ms
    v: int = 0  # verified ms
    u: int = 0  # last used ms
    l: int = 0  # noqa: E741 - the last time step accepted


class CheckOutcome(msgspec.Struct, frozen=True):
    outcome: Outcome
    failures: int


class FactorStore:
    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts

    def batch(self) -> Batch:
        return self._scripts.batch()

    async def create(self, record: FactorRecord, ttl_ms: int) -> None:
        """Store an unconfirmed factor, which is gone after ``ttl_ms`` unless confirmed."""
        key = Keys.factor(record.id)
        fields = msgspec.structs.asdict(record)
        del fields["id"]
        batch = self.batch()
        batch.command("HSET", key, *(v for pair in fields.items() for v in pair))
        batch.command("PEXPIRE", key, ttl_ms)
        batch.command("SADD", Keys.factor_index(record.s), record.id)
        await batch.run()

    async def get(self, factor_id: str, subject: str) -> tuple[FactorRecord | None, int]:
        """The factor (None if gone) and its subject's consecutive failures, in one trip."""
        batch = self.batch()
        batch.command("HGETALL", Keys.factor(factor_id))
        batch.command("GET", Keys.factor_failures(subject))
        fields, failures = await batch.run()
        return _record(factor_id, fields), int(failures or 0)

    async def check(
        self, record: FactorRecord, mode: str, step: int, allowed: int, resealed: str
    ) -> CheckOutcome:
        batch = self.batch()
        keys = [Keys.factor(record.id), Keys.factor_failures(record.s)]
        batch.script("factor_check", keys, [mode, step, allowed, resealed])
        outcome, failures = (await batch.run())[0]
        return CheckOutcome(outcome, int(failures))

    async def of_subject(self, subject: str) -> list[FactorRecord]:
        """The subject's factors, oldest first (ids of expired ones are forgotten)."""
        batch = self.batch()
        batch.command("SMEMBERS", Keys.factor_index(subject))
        ids = sorted((await batch.run())[0])
        batch = self.batch()
        for factor_id in ids:
            batch.command("HGETALL", Keys.factor(factor_id))
        found = await batch.run() if ids else []
        records = [_record(i, f) for i, f in zip(ids, found, strict=True)]
        gone = [i for i, r in zip(ids, records, strict=True) if r is None]
        if gone:
            forget = self.batch()
            forget.command("SREM", Keys.factor_index(subject), *gone)
            await forget.run()
        return sorted((r for r in records if r is not None), key=lambda r: r.c)

    async def delete(self, record: FactorRecord) -> bool:
        batch = self.batch()
        deleted = batch.command("DEL", Keys.factor(record.id))
        batch.command("SREM", Keys.factor_index(record.s), record.id)
        return bool((await batch.run())[deleted])

    async def unlock(self, subject: str) -> None:
        batch = self.batch()
        batch.command("DEL", Keys.factor_failures(subject))
        await batch.run()


def _record(factor_id: str, fields: dict[str, str] | None) -> FactorRecord | None:
    if not fields:
        return None
    return msgspec.convert({**fields, "id": factor_id}, FactorRecord, strict=False)
