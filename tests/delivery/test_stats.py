"""GET /v1/stats equals what the test did."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.delivery.stats import Stats
from app.store.redis import Scripts
from tests.conftest import AUTH, latest_code

pytestmark = pytest.mark.topologies

CN = ["+8613800138000", "+8613900139000", "+8613700137000"]
US = "+14155552671"


async def test_stats_count_sends_approvals_and_conversion_by_country(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    for to in [*CN, US]:
        assert (
            await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
        ).status_code == 201
    await client.post("/v1/verifications", json={"to": CN[0]}, headers=AUTH)  # a resend
    for to in CN[:2]:
        code = await latest_code(client, to)
        checked = await client.post(
            "/v1/verifications/check", json={"to": to, "code": code}, headers=AUTH
        )
        assert checked.json()["status"] == "approved"

    for window in ("1h", "24h", "7d"):
        stats = (await client.get("/v1/stats", params={"window": window}, headers=AUTH)).json()
        total = stats["total"]
        assert (total["verifications"], total["sends"], total["approved"]) == (4, 5, 2)
        assert total["conversion_rate"] == 0.5
        assert total["delivered"] == 0 and total["delivery_rate"] == 0.0
        cn, us = stats["by_country"]["CN"], stats["by_country"]["US"]
        assert (cn["verifications"], cn["sends"], cn["approved"]) == (3, 4, 2)
        assert (us["verifications"], us["sends"], us["approved"]) == (1, 1, 0)
        assert round(cn["conversion_rate"], 3) == 0.667
        assert stats["by_provider"]["outbox"]["sends"] == 5
        assert stats["failures_by_reason"] == {}


async def test_stats_are_per_app_and_need_read(client: AsyncTestClient[Any], redis: Redis) -> None:
    await client.post("/v1/verifications", json={"to": CN[0]}, headers=AUTH)
    key, _ = await ApiKeyStore(redis).create("other", ["verify", "admin"])
    other = {"Authorization": f"Bearer {key}"}
    mine = (await client.get("/v1/stats", headers=AUTH)).json()
    theirs = (await client.get("/v1/stats", headers=other)).json()
    assert mine["total"]["sends"] == 1 and theirs["total"]["sends"] == 0
    # another app's figures are an operator's business only
    asked = await client.get("/v1/stats", params={"app": "default"}, headers=other)
    assert (asked.status_code, asked.json()["code"]) == (403, "forbidden")
    operator, _ = await ApiKeyStore(redis).create("other", ["operator"])
    headers = {"Authorization": f"Bearer {operator}"}
    asked = await client.get("/v1/stats", params={"app": "default"}, headers=headers)
    assert asked.json()["total"]["sends"] == 1
    verify_only, _ = await ApiKeyStore(redis).create("other", ["verify"])
    refused = await client.get("/v1/stats", headers={"Authorization": f"Bearer {verify_only}"})
    assert refused.status_code == 403
    bad = await client.get("/v1/stats", params={"window": "2y"}, headers=AUTH)
    assert bad.status_code == 400


async def test_old_buckets_fall_out_of_the_window(redis: Redis) -> None:
    stats = Stats(redis)
    now = 1_800_000_000.0
    for seconds_ago in (30, 3000, 7200, 90000):
        batch = Scripts(redis).batch()
        stats.queue(batch, "app", {"sends": 1}, now=now - seconds_ago)
        await batch.run()
    sends = {w: (await stats.read("app", w, now=now)).total.sends for w in ("1h", "24h", "7d")}
    assert sends == {"1h": 2, "24h": 3, "7d": 4}


async def test_median_time_to_delivery(redis: Redis) -> None:
    stats = Stats(redis)
    now = 1_800_000_000.0
    for seconds in (1, 4, 4, 7, 100):
        batch = Scripts(redis).batch()
        stats.queue(batch, "app", {"delivered": 1}, provider="p", delivery_seconds=seconds, now=now)
        await batch.run()
    view = await stats.read("app", "1h", now=now)
    assert view.total.median_delivery_seconds == 5.0  # the bucket (3, 5] holds the median
    assert view.by_provider["p"].median_delivery_seconds == 5.0
