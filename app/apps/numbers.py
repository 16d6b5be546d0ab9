"""An app's safe and test numbers at run time: add (or replace), remove, list.

Beside the TOML file's ``abuse.safe_numbers`` and ``abuse.test_numbers``, which keep
working: an entry is stored as :class:`~app.apps.listed.NumberEntry` (the number's
digest, masked form, a test code sealed), changed in one transaction with its audit
entry and the apps' version bump, so every instance reads it within a second
(:meth:`AppRegistry.refresh`). An entry whose end date passed has no effect; it is
dropped when next seen here.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from app.apps.listed import NumberEntry, code_place
from app.apps.registry import AuditEntry
from app.errors import OtpgateError
from app.phone import mask_phone, normalize_phone
from app.store.keys import Keys

if TYPE_CHECKING:
    from app.apps.listed import Kind
    from app.apps.registry import AppRegistry
    from app.store.redis import Scripts, StoreClient

__all__ = ["MAX_AHEAD", "NumberLists", "end_date"]

#: How far ahead an end date may be: 10 years, as an API key's lifetime (a Unix time in
#: milliseconds, a common slip, is refused rather than read as the year 57000).
MAX_AHEAD = 10 * 365 * 86400
_FIELDS = {"safe": "abuse.safe_numbers", "test": "abuse.test_numbers"}


def end_date(until: float | datetime | None, now: float) -> float | None:
    """``until`` (Unix time or an aware datetime) as Unix time, checked: in the future,
    and at most :data:`MAX_AHEAD` from ``now``."""
    if until is None:
        return None
    end = until.timestamp() if isinstance(until, datetime) else float(until)
    if not end > now:
        raise OtpgateError("invalid_request", "until: the end date must be in the future")
    if end > now + MAX_AHEAD:
        raise OtpgateError(
            "invalid_request", "until: at most 10 years ahead (Unix time is in seconds)"
        )
    return end


class NumberLists:
    """Every app's run-time safe and test numbers, as the admin API changes them."""

    def __init__(self, apps: AppRegistry, client: StoreClient, scripts: Scripts, keys: Keys):
        self._apps = apps
        self._client = client
        self._scripts = scripts
        self._keys = keys

    async def listed(self, app: str, kind: Kind) -> list[NumberEntry]:
        """``app``'s entries of ``kind`` in force, oldest first (ended ones are dropped)."""
        self._known(app)
        now = time.time()
        live = []
        ended: list[tuple[str, str]] = []
        for number_id, raw in (await self._client.hgetall(Keys.LISTED_NUMBERS)).items():
            entry = _decoded(raw)
            if entry is None:  # the index logs it and leaves it out too
                continue
            if not entry.live(now):
                ended.append((number_id, raw))
            elif entry.app == app and entry.kind == kind:
                live.append(entry)
        await self._drop(ended)
        return sorted(live, key=lambda entry: (entry.created_at, entry.id))

    async def add(
        self,
        app: str,
        kind: Kind,
        number: str,
        *,
        by: str,
        until: float | datetime | None = None,
        note: str = "",
        code: str | None = None,
    ) -> NumberEntry:
        """List ``number`` (E.164) for ``app``; a number listed already gets this entry in
        place of its old one, under the same id. ``code``: a test number's fixed code."""
        self._known(app)
        phone = normalize_phone(number)
        now = time.time()
        end = end_date(until, now)
        digest = self._keys.number(phone.e164)
        sealed = None
        if kind == "test":
            sealed = self._apps.sealer.seal(self._code(app, code).encode(), code_place(app, digest))
        entry = NumberEntry(
            id=self._keys.listed_id(app, kind, digest), app=app, kind=kind, number=digest,
            masked=mask_phone(phone.e164), created_at=now, created_by=by, until=end, note=note,
            code=sealed,
        )  # fmt: skip
        value = msgspec.json.encode(entry).decode()
        audit = AuditEntry(now, by, "add_number", [_FIELDS[kind]], number_id=entry.id)
        await self._apps.commit(
            app, audit, lambda pipe: pipe.hset(Keys.LISTED_NUMBERS, entry.id, value)
        )
        return entry

    async def remove(self, app: str, kind: Kind, number_id: str, *, by: str) -> NumberEntry:
        """Take entry ``number_id`` off ``app``'s ``kind`` list; ``number_not_found`` when
        the list has no such entry in force."""
        self._known(app)
        raw = await self._client.hget(Keys.LISTED_NUMBERS, number_id)
        entry = _decoded(raw)
        if raw is None or entry is None or entry.app != app or entry.kind != kind:
            raise OtpgateError("number_not_found", f"no {kind} number {number_id!r} in this app")
        if not entry.live(time.time()):
            await self._drop([(number_id, raw)])
            raise OtpgateError("number_not_found", f"{kind} number {number_id!r} has ended")
        audit = AuditEntry(time.time(), by, "remove_number", [_FIELDS[kind]], number_id=entry.id)
        await self._apps.commit(app, audit, lambda pipe: pipe.hdel(Keys.LISTED_NUMBERS, entry.id))
        return entry

    def _known(self, app: str) -> None:
        if not self._apps.known(app):
            raise OtpgateError("app_not_found", f"no app {app!r}")

    def _code(self, app: str, code: str | None) -> str:
        length = self._apps.settings.policy_for(app).code_length
        if code is None or not re.fullmatch(f"[0-9]{{{length}}}", code):
            raise OtpgateError("invalid_request", f"code: the app's codes are {length} digits")
        return code

    async def _drop(self, ended: list[tuple[str, str]]) -> None:
        """Delete ended entries, each only if unchanged since read (not replaced)."""
        if ended:
            args = [part for pair in ended for part in pair]
            await self._scripts.run("numbers_prune", [Keys.LISTED_NUMBERS], args)


def _decoded(raw: str | None) -> NumberEntry | None:
    try:
        return None if raw is None else msgspec.json.decode(raw, type=NumberEntry)
    except msgspec.DecodeError:
        return None
