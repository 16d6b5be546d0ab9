"""Signed events to the calling app, delivered at least once from a Redis Stream.

Events go onto one stream (``XADD``, in the same pipeline as the write that caused
them). A dispatcher in every worker process reads it through a consumer group: it POSTs
each event, signed, to the app's ``events_url`` and acknowledges it on a 2xx. A failed
delivery goes to a retry set with exponential backoff and jitter, and after
``events_max_attempts`` to a dead-letter stream, from which an admin can replay it. An
event a worker took and never acknowledged (it crashed mid-delivery) is claimed by
another worker once it has been idle for ``events_claim_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import httpx
import msgspec
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from app.delivery.destinations import Resolver, check_destination, is_public, resolve
from app.errors import OtpgateError
from app.ids import random_id
from app.metrics import REDIS_ERRORS
from app.signatures import SIGNATURE_HEADER, signature_header
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from app.delivery.destinations import Address
    from app.settings import Settings
    from app.store.redis import Batch, Scripts, StoreClient

__all__ = [
    "Event", "EventBus", "EventDispatcher", "EventTarget", "check_destination", "event_targets",
]  # fmt: skip

log = logging.getLogger("otpgate.events")

EventType = Literal[
    "verification.approved",
    "verification.failed",
    "verification.expired",
    "verification.canceled",
    "message.delivered",
    "message.failed",
    "message.fallback",
    "quota.exceeded",
    "number.opted_out",
    "number.opted_in",
]
STREAM, RETRY, DEAD = Keys.EVENTS, Keys.EVENTS_RETRY, Keys.EVENTS_DEAD
GROUP = "dispatchers"
_MAX_STREAM = 100_000
_MAX_DEAD = 10_000


class Event(msgspec.Struct, frozen=True):
    """What the app receives (the JSON body), plus delivery bookkeeping."""

    id: Annotated[str, msgspec.Meta(description="The event id (`evt_…`); deduplicate on it.")]
    type: Annotated[EventType, msgspec.Meta(description="What happened.")]
    app: Annotated[str, msgspec.Meta(description="The app it is for.")]
    created_at: Annotated[float, msgspec.Meta(description="Unix time (s) it happened.")]
    data: Annotated[
        dict[str, Any],
        msgspec.Meta(
            description="`verification_id` and `status`; `provider` and `error_code` too "
            "for `verification.failed` and `message.*`, and `provider_message_id` for "
            "`message.*`; for `quota.exceeded`, `quota`: the soft cap passed "
            "(`sends_per_day`, `sends_per_month`, `spend_per_day` or `spend_per_month`); "
            "for `number.opted_out` and `number.opted_in`, `opt_out_id`, `number` (masked), "
            "`country`, `provider` and `keyword` (the word, folded; null: an admin cleared "
            "it, `by` names the key)."
        ),
    ]
    attempt: Annotated[int, msgspec.Meta(description="Deliveries tried so far.")] = 0
    last_error: Annotated[str | None, msgspec.Meta(description="Why the last delivery failed.")] = (
        None
    )


class EventTarget(msgspec.Struct, frozen=True):
    """Where an app's events go, and the secret they are signed with."""

    url: str
    secret: str
    allow_private: bool = False


def event_targets(settings: Settings) -> dict[str, EventTarget]:
    """Where each app that set an ``events_url`` gets its events."""
    return {
        name: EventTarget(own.events_url, own.events_secret or "", own.events_allow_private)
        for name, own in settings.apps.items()
        if own.events_url
    }


class EventBus:
    """Queues events for the apps that asked for them."""

    def __init__(self, client: StoreClient, targets: Mapping[str, EventTarget]) -> None:
        self._client = client
        self._targets = targets

    def wants(self, app: str) -> bool:
        return app in self._targets

    def queue(self, batch: Batch, app: str, kind: EventType, data: dict[str, Any]) -> None:
        """Queue the event's XADD into ``batch`` (nothing when the app has no ``events_url``)."""
        if app not in self._targets:
            return
        event = Event(random_id("evt_"), kind, app, time.time(), data)
        payload = msgspec.json.encode(event)
        batch.command("XADD", STREAM, "MAXLEN", "~", _MAX_STREAM, "*", "event", payload)

    async def backlog(self) -> dict[str, int]:
        """Events of every app not delivered yet: on the stream, waiting for a retry,
        dead-lettered."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xlen(STREAM)
            pipe.zcard(RETRY)
            pipe.xlen(DEAD)
            pending, retrying, dead = await pipe.execute()
        return {"pending": pending, "retrying": retrying, "dead": dead}

    async def dead(self, app: str) -> list[Event]:
        entries = await self._client.xrevrange(DEAD, count=_MAX_DEAD)
        events = [msgspec.json.decode(fields["event"], type=Event) for _, fields in entries]
        return [event for event in events if event.app == app]

    async def replay(self, app: str, event_id: str) -> Event:
        """Put a dead-lettered event of ``app`` back on the stream, attempts reset."""
        for entry_id, fields in await self._client.xrange(DEAD, count=_MAX_DEAD):
            event = msgspec.json.decode(fields["event"], type=Event)
            if event.id == event_id and event.app == app:
                fresh = msgspec.structs.replace(event, attempt=0, last_error=None)
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.xadd(STREAM, {"event": msgspec.json.encode(fresh)})
                    pipe.xdel(DEAD, entry_id)
                    await pipe.execute()
                return fresh
        raise OtpgateError("event_not_found", f"no dead-lettered event {event_id!r}")


class EventDispatcher:
    """Delivers the stream's events; one per worker process, as a background task."""

    def __init__(
        self,
        client: StoreClient,
        scripts: Scripts,
        http: httpx.AsyncClient,
        targets: Mapping[str, EventTarget],
        *,
        max_attempts: int,
        backoff: float,
        claim_after: float,
        allow_http: bool,
        timeout: float = 5.0,
        resolver: Resolver = resolve,
        allowed: Callable[[Address], bool] = is_public,
    ) -> None:
        self._client = client
        self._scripts = scripts
        self._http = http
        self._targets = targets
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._claim_after_ms = int(claim_after * 1000)
        self._allow_http = allow_http
        self._timeout = timeout
        self._resolver = resolver
        self._allowed = allowed
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{random_id('', 6)}"
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Deliver until :meth:`stop`; survives Redis outages by waiting and retrying."""
        while not self._stopping.is_set():
            if not self._targets:  # no app has an events URL (yet: apps change at run time)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1)
                continue
            try:
                await self._ensure_group()
                await self.step(block_ms=1000)
            except (RedisError, RedisClusterException) as exc:
                REDIS_ERRORS.labels("events").inc()
                log.warning("event dispatcher: redis unavailable (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1)

    def stop(self) -> None:
        self._stopping.set()

    async def _ensure_group(self) -> None:
        try:
            await self._client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, block_ms: int = 0) -> int:
        """One round: due retries onto the stream, stale claims, new events. Returns how
        many events it handled."""
        await self._scripts.run("events_due", [RETRY, STREAM], [100, _MAX_STREAM])
        claimed = await self._client.xautoclaim(
            STREAM, GROUP, self.consumer, min_idle_time=self._claim_after_ms, count=20
        )
        entries = list(claimed[1])
        fresh = await self._client.xreadgroup(
            GROUP, self.consumer, {STREAM: ">"}, count=20, block=block_ms or None
        )
        for _, stream_entries in fresh or []:
            entries.extend(stream_entries)
        await asyncio.gather(
            *(self._handle(entry_id, fields) for entry_id, fields in entries if fields)
        )
        return len(entries)

    async def _handle(self, entry_id: str, fields: Mapping[str, str]) -> None:
        event = msgspec.json.decode(fields["event"], type=Event)
        error = await self._deliver(event)
        async with self._client.pipeline(transaction=True) as pipe:
            if error is not None:
                failed = msgspec.structs.replace(event, attempt=event.attempt + 1, last_error=error)
                if failed.attempt >= self._max_attempts or error.startswith("refused:"):
                    pipe.xadd(
                        DEAD,
                        {"event": msgspec.json.encode(failed)},
                        maxlen=_MAX_DEAD,
                        approximate=True,
                    )
                    log.warning(
                        "event %s dead after %d attempts: %s", event.id, failed.attempt, error
                    )
                else:
                    pipe.zadd(RETRY, {msgspec.json.encode(failed): self._due(failed.attempt)})
            pipe.xack(STREAM, GROUP, entry_id)
            pipe.xdel(STREAM, entry_id)
            await pipe.execute()

    def _due(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at five minutes (ms since epoch)."""
        delay = min(300.0, self._backoff * 2 ** (attempt - 1))
        return (time.time() + random.uniform(delay / 2, delay)) * 1000  # noqa: S311 - jitter

    async def _deliver(self, event: Event) -> str | None:
        """POST the event; None on a 2xx, else why not ("refused: ..." is final)."""
        target = self._targets.get(event.app)
        if target is None:
            return "refused: the app has no events_url any more"
        try:
            destination = await asyncio.to_thread(
                check_destination, target.url,
                allow_private=target.allow_private, allow_http=self._allow_http,
                resolver=self._resolver, allowed=self._allowed,
            )  # fmt: skip
        except ValueError as exc:
            return f"refused: {exc}"
        body = msgspec.json.encode(
            {"id": event.id, "type": event.type, "created_at": event.created_at,
             "app": event.app, "data": event.data}
        )  # fmt: skip
        headers = {
            "Host": destination.host,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(target.secret, int(time.time()), body),
            "Otpgate-Event-Id": event.id,
        }
        # Connect to the address that was checked; TLS still checks the host's name.
        extensions = {"sni_hostname": destination.server_name} if destination.server_name else {}
        try:
            response = await self._http.post(
                destination.url, content=body, headers=headers, timeout=self._timeout,
                extensions=extensions,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return None if response.is_success else f"http_{response.status_code}"
