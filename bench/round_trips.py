"""Count the Redis round trips one send and one check cost, with the rules on and off.

Runs the app in-process on an embedded redis-server and counts what redis-py writes to
its connections (one write = one round trip; a pipeline or a script is one). It is a
count, not a timing: the same code gives the same figures on any machine.

    .venv/bin/python bench/round_trips.py
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar.testing import AsyncTestClient
from redis.asyncio.connection import AbstractConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.asgi import create_app
from app.settings import load_settings
from app.store.embedded import EmbeddedRedis

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
RULES_ON: dict[str, Any] = {
    "limits": {"send_per_app": ["1000000/minute"], "send_per_country": ["1000000/minute"]},
}


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


async def measure(redis_url: str, rules: dict[str, Any], label: str) -> list[str]:
    settings = load_settings(
        {},
        overrides={
            "env": "test", "redis_url": redis_url, "bootstrap_api_key": KEY,
            "argon2": {"time_cost": 1, "memory_cost": 64}, "resend_cooldown": 0, **rules,
        },
    )  # fmt: skip
    lines = []
    async with AsyncTestClient(create_app(settings)) as client:
        await client.get("/readyz")  # warm the pools and the script cache
        for n, to in enumerate(["+8613800138000", "+8613900139000"]):
            body = {"to": to, "client_ip": f"203.0.113.{n + 1}"}
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
        lines.append(f"  rules {label:<4} send {sent_trips:3d}   check by id {check_trips:3d}")
    return lines


async def main() -> None:
    logging.disable(logging.INFO)  # the figures, not the request log
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(tmp, persistent=False) as server,
        RoundTrips.counting(),
    ):
        lines = [
            *(await measure(server.url, RULES_OFF, "off")),
            *(await measure(server.url, RULES_ON, "on")),
        ]
    print("Redis round trips per request (outbox provider, no Idempotency-Key)")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
