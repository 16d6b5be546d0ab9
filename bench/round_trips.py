"""Count what one send and one check cost in Redis: round trips and memory.

Runs the app in-process on an embedded redis-server and counts what redis-py writes to
its connections (one write = one round trip; a pipeline or a script is one), then sums
``MEMORY USAGE`` over the keys the flows leave behind. These are counts, not timings:
the same code gives the same figures on any machine. ``tests/test_footprint.py`` runs
the same functions and fails if the figures grow past the targets.

    .venv/bin/python bench/round_trips.py
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.asgi import create_app
from app.settings import load_settings
from app.store.embedded import EmbeddedRedis
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "otpg_bench_" + "r" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
RULES_OFF: dict[str, Any] = {
    "limits": {
        "send_per_number": [], "send_per_ip": [], "wrong_checks_per_number": [],
        "checks_per_ip": [],
    },
    "abuse": {"safe_prefixes": ["+"]},
}  # fmt: skip
# Every default rule plus the app and country budgets and a quota, all far from tripping.
RULES_ON: dict[str, Any] = {
    "limits": {"send_per_app": ["1000000/minute"], "send_per_country": ["1000000/minute"]},
    "apps": {"default": {"quota": {"sends_per_day": 10**9, "spend_per_month": 10**6}}},
}
FLOWS = 200  # flows whose leftovers are averaged


class RoundTrips:
    """Counts ``send_packed_command`` calls on every redis-py asyncio connection."""

    count = 0

    @classmethod
    @contextmanager
    def counting(cls) -> Iterator[None]:
        original = AbstractConnection.send_packed_command

        async def counted(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
            cls.count += 1
            await original(self, *args, **kwargs)

        AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            AbstractConnection.send_packed_command = original  # type: ignore[method-assign]

    @classmethod
    async def of(cls, request: Any) -> tuple[int, Any]:
        before = cls.count
        response = await request
        return cls.count - before, response


@dataclass(frozen=True)
class Footprint:
    send_trips: int  # a send with a fresh number
    check_trips: int  # a right check by id
    stored_bytes: float  # the keys a pending verification is kept in, per verification
    left_bytes: float  # every key FLOWS flows added, per flow (counters, stats, events)


def app_settings(redis_url: str, rules: dict[str, Any]) -> Any:
    return load_settings(
        {},
        overrides={
            "env": "test", "redis_url": redis_url, "bootstrap_api_key": KEY,
            "argon2": {"time_cost": 1, "memory_cost": 64}, "resend_cooldown": 0, **rules,
        },
    )  # fmt: skip


async def memory(redis: Redis, keys: set[str] | None = None) -> int:
    """Bytes Redis spends on ``keys`` (every key when None), by ``MEMORY USAGE``."""
    if keys is None:  # the dev outbox is the bench's mailbox, not what a flow keeps
        keys = {k async for k in redis.scan_iter(count=1000) if not k.startswith(Keys.OUTBOX)}
    names = keys
    total = 0
    for name in names:
        total += await redis.memory_usage(name, samples=0) or 0
    return total


def number(n: int, operator: str) -> str:
    """A distinct Chinese mobile number per ``n``, spread over prefixes as real traffic is
    (sequential numbers would look like the pumping the prefix guard stops)."""
    digest = int.from_bytes(hashlib.sha256(f"{operator}:{n}".encode()).digest()[:8], "big")
    return f"+86{operator}{digest % 10**8:08d}"


async def flow(client: Any, n: int) -> tuple[int, int, str]:
    """One send to a fresh number and a right check; their round trips and the id."""
    to = number(n, "139")
    body = {"to": to, "client_ip": f"203.0.{n // 250 % 250}.{n % 250 + 1}"}
    sent_trips, sent = await RoundTrips.of(
        client.post("/v1/verifications", json=body, headers=AUTH)
    )
    outbox = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    code = re.search(r"\d{6}", outbox.json()[0]["text"])
    assert sent.status_code == 201 and code, sent.text
    check = {"id": sent.json()["id"], "code": code.group(), "client_ip": body["client_ip"]}
    check_trips, checked = await RoundTrips.of(
        client.post("/v1/verifications/check", json=check, headers=AUTH)
    )
    assert checked.json()["valid"], checked.text
    return sent_trips, check_trips, sent.json()["id"]


async def stored_bytes(client: Any, redis: Redis, flows: int) -> float:
    """Bytes per pending verification: the keys named after its number's slot."""
    before = {k async for k in redis.scan_iter(match="otp:{n*", count=1000)}
    for n in range(flows):
        to = number(n, "137")
        sent = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
        assert sent.status_code == 201, sent.text
    after = {k async for k in redis.scan_iter(match="otp:{n*", count=1000)}
    return await memory(redis, after - before) / flows


async def measure(redis_url: str, rules: dict[str, Any], flows: int = FLOWS) -> Footprint:
    """Round trips of the first flow; memory averaged over ``flows`` flows on an empty db."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.flushdb()
    try:
        with RoundTrips.counting():
            async with AsyncTestClient(create_app(app_settings(redis_url, rules))) as client:
                await client.get("/readyz")  # warm the pools and the script cache
                await flow(client, 0)  # the first flow creates the app's shared keys
                base = await memory(redis)
                send_trips, check_trips, _ = await flow(client, 1)
                for n in range(2, flows + 1):
                    await flow(client, n)
                left = (await memory(redis) - base) / flows
                stored = await stored_bytes(client, redis, flows)
    finally:
        await redis.aclose()
    return Footprint(send_trips, check_trips, stored, left)


async def main() -> None:
    logging.disable(logging.INFO)  # the figures, not the request log
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(tmp, persistent=False) as server:
        off = await measure(server.url, RULES_OFF)
        on = await measure(server.url, RULES_ON)
    print("Redis cost per request (outbox provider, no Idempotency-Key)")
    print("  rules  send RTs  check RTs  bytes/stored verification  bytes left/flow")
    for label, f in (("off", off), ("on", on)):
        print(
            f"  {label:<5} {f.send_trips:8d} {f.check_trips:10d}"
            f" {f.stored_bytes:26.0f} {f.left_bytes:16.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
