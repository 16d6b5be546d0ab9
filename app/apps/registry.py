"""Apps at run time: the TOML apps are the seed; what the API changes is kept in Redis,
validated exactly as start-up validates the file, and seen by every instance within a
second (each polls one version counter).

An app's stored record holds only the fields given through the API; on top of its TOML
table (if any) they make the app's settings. Its run-time safe and test numbers
(:mod:`app.apps.listed`) are read with the apps, under the same version. Every change is
audited: who (the key id), when, what (the fields named). Disabling keeps everything; the
app's keys get ``403 app_disabled`` until it is enabled again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from redis.exceptions import RedisClusterException, RedisError

from app.apps.listed import CODE_SEALING, NumberIndex
from app.metrics import REDIS_ERRORS
from app.sealing import Sealer
from app.sensitive import redacted
from app.settings import AppSettings, ConfigError, Settings
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.store.redis import StoreClient

__all__ = ["AppRecord", "AppRegistry", "AuditEntry", "effective_settings"]

log = logging.getLogger("otpgate.apps")

Action = Literal["create", "update", "disable", "enable", "add_number", "remove_number"]
#: Fields that hold phone numbers, codes or secrets, which Redis must not hold in clear
#: (the first at the top of an app, the others in its ``abuse``).
_IN_FILE_ONLY = frozenset({"events_secret", "safe_numbers", "test_numbers"})
#: Audit entries kept per app, newest first.
AUDIT_KEPT = 1000


class AppRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the API has said about one app."""

    overrides: dict[str, Any] = msgspec.field(default_factory=dict)
    disabled: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0


class AuditEntry(msgspec.Struct, frozen=True, omit_defaults=True):
    """One change to an app."""

    at: Annotated[float, msgspec.Meta(description="Unix time.")]
    by: Annotated[str, msgspec.Meta(description="The id of the API key that made it.")]
    action: Annotated[
        Action,
        msgspec.Meta(
            description="What was done: to the app, or `add_number` / `remove_number` to one "
            "of its safe or test numbers."
        ),
    ]
    fields: Annotated[
        list[str],
        msgspec.Meta(
            description="The settings it named (`abuse.safe_numbers` or `abuse.test_numbers` "
            "for a number)."
        ),
    ]
    number_id: (
        Annotated[
            str,
            msgspec.Meta(
                description="`add_number`, `remove_number`: the entry's id (never the number)."
            ),
        ]
        | None
    ) = None


def effective_settings(base: Settings, records: dict[str, AppRecord]) -> Settings:
    """``base`` with each stored app's overrides on top of its TOML table, validated as
    start-up validates the file (a ConfigError says what is wrong)."""
    apps = dict(base.apps)
    for name, record in records.items():
        seed = msgspec.to_builtins(base.apps.get(name, AppSettings()))
        try:
            apps[name] = msgspec.convert({**seed, **record.overrides}, AppSettings)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"apps.{name}: {exc}") from exc
    try:  # replace() runs Settings.__post_init__: the checks the file's apps pass
        return msgspec.structs.replace(base, apps=apps)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


class AppRegistry:
    """The apps stored in Redis, and the settings they make with the file's."""

    def __init__(self, client: StoreClient, base: Settings) -> None:
        self._client = client
        self.base = base
        self.settings = base
        self.records: dict[str, AppRecord] = {}
        #: What seals test numbers' codes (a key of its own, derived from the pepper).
        self.sealer = Sealer(base.secret_pepper, CODE_SEALING)
        #: The run-time safe and test numbers in force, by app and number digest.
        self.numbers = NumberIndex()
        self.version = -1
        #: Called with the new settings after each change is read.
        self.listeners: list[Callable[[Settings], None]] = []
        #: What else the apps' version covers (their templates): read again with each new
        #: version, before it counts as read, so a failed read is tried again.
        self.followers: list[Callable[[], Awaitable[object]]] = []

    def known(self, app: str) -> bool:
        return app == "default" or app in self.settings.apps

    def names(self) -> list[str]:
        """Every app: ``default``, the file's and those created at run time, by name."""
        return sorted({"default", *self.settings.apps, *self.records})

    def disabled(self, app: str) -> bool:
        record = self.records.get(app)
        return record is not None and record.disabled

    async def stored_version(self) -> int:
        return int(await self._client.get(Keys.APPS_VERSION) or 0)

    async def refresh(self) -> bool:
        """Read the stored apps if they changed since the last read; True if they did."""
        version = await self.stored_version()
        if version == self.version:
            return False
        # Not a transaction (redis-py's cluster transactions fail on HGETALL's reply): a
        # change between the two reads has bumped the version, so the next poll reads again.
        pipe = self._client.pipeline(transaction=False)
        pipe.hgetall(Keys.APPS)
        pipe.hgetall(Keys.LISTED_NUMBERS)
        stored, numbers = await pipe.execute()
        records: dict[str, AppRecord] = {}
        for name, value in stored.items():
            try:
                records[name] = msgspec.json.decode(value, type=AppRecord)
            except msgspec.DecodeError:  # written by hand, or by a later version
                log.error("apps: the stored record of %r cannot be read; it is left out", name)
        try:
            settings = effective_settings(self.base, records)
        except ConfigError:  # stored under other file settings; keep what works
            settings = effective_settings(self.base, self._valid(records))
        self.numbers = NumberIndex.read(numbers, self.sealer, time.time())
        for follower in self.followers:
            await follower()
        self.settings, self.records, self.version = settings, records, version
        for listener in self.listeners:
            listener(self.settings)
        return True

    def _valid(self, records: dict[str, AppRecord]) -> dict[str, AppRecord]:
        valid: dict[str, AppRecord] = {}
        for name, record in records.items():
            try:
                effective_settings(self.base, {**valid, name: record})
            except ConfigError:
                continue
            valid[name] = record
        return valid

    async def save(
        self, name: str, record: AppRecord, by: str, action: Action, fields: list[str]
    ) -> Settings:
        """Validate ``record`` with every other app, store it, audit it, bump the version."""
        abuse = record.overrides.get("abuse")
        kept = sorted(
            (_IN_FILE_ONLY & set(record.overrides))
            | {f"abuse.{k}" for k in _IN_FILE_ONLY & set(abuse if isinstance(abuse, dict) else {})}
        )
        if kept:  # Redis holds no number, code or secret in clear
            raise ConfigError(
                f"apps.{name}: {', '.join(kept)} hold numbers, codes or secrets: set them in "
                "the TOML file (secrets as ${NAME}), or numbers through "
                f"/v1/apps/{name}/safe-numbers and /v1/apps/{name}/test-numbers"
            )
        settings = effective_settings(self.base, {**self.records, name: record})
        value = msgspec.json.encode(record).decode()
        entry = AuditEntry(time.time(), by, action, sorted(fields))
        await self.commit(name, entry, lambda pipe: pipe.hset(Keys.APPS, name, value))
        return settings

    async def commit(self, name: str, entry: AuditEntry, write: Callable[[Any], object]) -> None:
        """One change of app ``name`` (``write`` queues it), its audit ``entry`` and the
        version bump, in one transaction (one hash tag: one slot); then read them back."""
        pipe = self._client.pipeline(transaction=True)
        write(pipe)
        pipe.lpush(Keys.app_audit(name), msgspec.json.encode(entry))
        pipe.ltrim(Keys.app_audit(name), 0, AUDIT_KEPT - 1)
        pipe.incr(Keys.APPS_VERSION)
        await pipe.execute()
        await self.refresh()

    async def watch(self, every: float) -> None:
        """Read the stored apps every ``every`` seconds (a GET of one counter) until
        cancelled; Redis down or apps no longer valid keep the last apps read."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except (RedisError, RedisClusterException) as exc:
                REDIS_ERRORS.labels("apps_watch").inc()
                log.warning("apps: redis unavailable (%s); the last apps read stay", exc)
            except Exception:  # a stored record it cannot read: keep watching the others
                log.exception("apps: could not read the stored apps; the last read stay")

    async def change(
        self,
        name: str,
        settings: dict[str, Any],
        by: str,
        action: Action,
        *,
        disabled: bool | None = None,
    ) -> Settings:
        """Merge ``settings`` into app ``name``'s stored fields (``None`` puts the file's
        value back), set ``disabled`` when given, and :meth:`save` it."""
        now = time.time()
        old = self.records.get(name, AppRecord(created_at=now))
        overrides = {k: v for k, v in {**old.overrides, **settings}.items() if v is not None}
        record = msgspec.structs.replace(
            old,
            overrides=overrides,
            disabled=old.disabled if disabled is None else disabled,
            updated_at=now,
        )
        return await self.save(name, record, by, action, sorted(settings))

    def shown(self, name: str) -> dict[str, Any]:
        """App ``name``'s settings in force over the globals: the fields set, secrets masked."""
        defaults = redacted(AppSettings())
        own = redacted(self.settings.apps.get(name, AppSettings()))
        return {key: value for key, value in own.items() if value != defaults[key]}

    async def audit(self, name: str) -> list[AuditEntry]:
        raw = await self._client.lrange(Keys.app_audit(name), 0, AUDIT_KEPT - 1)
        return [msgspec.json.decode(entry, type=AuditEntry) for entry in raw]
