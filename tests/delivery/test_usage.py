"""GET /v1/apps/{app}/usage: what was sent, delivered, approved and what it cost, by UTC
day, provider and country, to the app's own keys only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.delivery.stats import Stats
from app.delivery.usage import UsageReader
from app.settings import load_settings
from app.store.keys import Keys
from app.store.redis import Scripts
from tests.conftest import AUTH, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
DAY = 86400


async def _count(redis: Redis, at: float, counts: dict[str, int], **where: str) -> None:
    batch = Scripts(redis).batch()
    Stats.queue(batch, "shop", counts, now=at, **where)
    await batch.run()


async def test_usage_sums_whole_days_by_provider_and_country(redis: Redis) -> None:
    now = NOW.timestamp()
    await _count(redis, now - 2 * DAY, {"sends": 2, "cost": 12600}, provider="ali", country="CN")
    await _count(redis, now - DAY, {"sends": 1, "cost": 8300}, provider="twl", country="US")
    await _count(redis, now - DAY, {"delivered": 1}, provider="twl", country="US")
    await _count(redis, now, {"approved": 1}, provider="twl", country="US")
    await _count(redis, now - 20 * DAY, {"sends": 7}, provider="ali", country="CN")  # outside
    reader = UsageReader(redis, Keys(b"pepper"), load_settings({}))
    view = await reader.read("shop", date(2026, 11, 13), date(2026, 11, 15), now=NOW)
    assert (view.start, view.end, view.currency, view.quota) == (
        "2026-11-13", "2026-11-15", "USD", None,
    )  # fmt: skip
    assert [(d.date, d.sends, d.delivered, d.approved) for d in view.days] == [
        ("2026-11-13", 2, 0, 0), ("2026-11-14", 1, 1, 0), ("2026-11-15", 0, 0, 1),
    ]  # fmt: skip
    assert (view.total.sends, view.total.delivered, view.total.approved) == (3, 1, 1)
    assert view.total.cost == pytest.approx(0.0209)
    assert view.by_provider["ali"].cost == pytest.approx(0.0126)
    assert view.by_country["US"].sends == 1 and view.by_country["US"].delivered == 1
    assert (await reader.read("other", None, None, now=NOW)).total.sends == 0


async def test_usage_defaults_to_the_last_thirty_days_and_shows_the_quota(redis: Redis) -> None:
    quota = {"sends_per_day": 100, "spend_per_month": 50.0}
    settings = load_settings({}, overrides={"apps": {"shop": {"quota": quota}}})
    view = await UsageReader(redis, Keys(b"p"), settings).read("shop", None, None, now=NOW)
    assert (view.start, view.end, len(view.days)) == ("2026-10-17", "2026-11-15", 30)
    assert view.quota is not None
    assert (view.quota.sends_today, view.quota.sends_per_day, view.quota.spend_per_month) == (
        0, 100, 50.0,
    )  # fmt: skip


async def test_usage_over_the_api_counts_what_was_sent_and_approved(
    make_client: ClientFactory,
) -> None:
    prices = {"outbox": {"CN": 0.006, "default": 0.05}}
    async with make_client(prices=prices, price_currency="CNY") as client:
        for to in ("+8613800138000", "+8613900139000", "+14155552671"):
            assert (
                await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
            ).is_success
        code = await latest_code(client, "+8613800138000")
        await client.post(
            "/v1/verifications/check", json={"to": "+8613800138000", "code": code}, headers=AUTH
        )
        usage = (await client.get("/v1/apps/default/usage", headers=AUTH)).json()
    assert usage["currency"] == "CNY" and usage["to"] == datetime.now(UTC).date().isoformat()
    assert (usage["total"]["sends"], usage["total"]["approved"]) == (3, 1)
    assert usage["total"]["cost"] == pytest.approx(0.062)
    assert usage["by_country"]["CN"]["cost"] == pytest.approx(0.012)
    assert usage["by_provider"]["outbox"]["sends"] == 3
    assert usage["days"][-1]["sends"] == 3 and usage["quota"] is None


@pytest.mark.parametrize(
    "query",
    [{"from": "2026-11-20", "to": "2026-11-10"}, {"from": "2024-01-01", "to": "2026-11-10"},
     {"from": "yesterday"}, {"to": "2026-13-01"}],
)  # fmt: skip
async def test_a_range_backwards_too_long_or_unreadable_is_a_400(
    client: AsyncTestClient[Any], query: dict[str, str]
) -> None:
    answer = await client.get("/v1/apps/default/usage", params=query, headers=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


async def test_usage_is_the_app_own_keys_business(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    await client.post("/v1/verifications", json={"to": "+8613800138000"}, headers=AUTH)
    store = ApiKeyStore(redis)
    other = {"Authorization": f"Bearer {(await store.create('other', ['admin']))[0]}"}
    refused = await client.get("/v1/apps/default/usage", headers=other)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert (await client.get("/v1/apps/other/usage", headers=other)).json()["total"]["sends"] == 0
    verify_only = {"Authorization": f"Bearer {(await store.create('default', ['verify']))[0]}"}
    assert (await client.get("/v1/apps/default/usage", headers=verify_only)).status_code == 403
    operator = {"Authorization": f"Bearer {(await store.create('other', ['operator']))[0]}"}
    seen = await client.get("/v1/apps/default/usage", headers=operator)
    assert seen.json()["total"]["sends"] == 1
