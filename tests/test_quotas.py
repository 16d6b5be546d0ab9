"""An app's quota of sends and spend per UTC day and month: hard caps refuse exactly at
the cap however many sends race, soft ones tell once, and nothing refused or failed is
counted."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from app.abuse.quota import period_ends
from app.delivery.events import STREAM
from tests.conftest import AUTH, NO_LIMITS, ClientFactory, latest_code
from tests.delivery.test_events import SECRET, Receiver
from tests.stubs.loopback import serve

pytestmark = pytest.mark.topologies

#: A provider whose address refuses connections: the route fails over, or fails.
DOWN = {"type": "http", "url": "http://127.0.0.1:9/v1/messages", "secret": "s" * 32}


def numbers(count: int) -> list[str]:
    """Numbers under distinct prefixes, so that the prefix velocity guard stays quiet."""
    return [f"+1415{200 + n:03d}0100" for n in range(count)]


def with_quota(**quota: Any) -> dict[str, Any]:
    return {"apps": {"default": {"quota": quota}}}


async def send(client: Any, to: str, **body: Any) -> Any:
    return await client.post("/v1/verifications", json={"to": to, **body}, headers=AUTH)


async def standing(client: Any) -> dict[str, Any]:
    usage = await client.get("/v1/apps/default/usage", headers=AUTH)
    assert usage.status_code == 200, usage.text
    quota: dict[str, Any] = usage.json()["quota"]
    return quota


def assert_quota_refused(response: Any, cap: str, limit: float) -> None:
    assert response.status_code == 429, response.text
    problem = response.json()
    assert (problem["code"], problem["quota"], problem["quota_limit"]) == (
        "quota_exceeded", cap, limit,
    )  # fmt: skip
    day_end, month_end = period_ends(datetime.now(UTC))
    end = day_end if cap.endswith("day") else month_end
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= (end - datetime.now(UTC)).total_seconds() + 2


async def test_fifty_concurrent_sends_take_exactly_a_daily_cap_of_twenty(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(**with_quota(sends_per_day=20)) as client:
        answers = await asyncio.gather(*(send(client, to) for to in numbers(50)))
        statuses = sorted(answer.status_code for answer in answers)
        others = [a.text for a in answers if a.status_code not in {201, 429}]
        assert statuses == [201] * 20 + [429] * 30, others
        for refused in (a for a in answers if a.status_code == 429):
            assert_quota_refused(refused, "sends_per_day", 20)
        quota = await standing(client)
        assert (quota["sends_today"], quota["sends_this_month"]) == (20, 20)
        assert quota["sends_per_day"] == 20 and quota["mode"] == "hard"


async def test_concurrent_sends_never_pass_a_spend_cap(make_live_client: ClientFactory) -> None:
    settings = with_quota(spend_per_day=0.25) | {"prices": {"outbox": {"default": 0.05}}}
    async with make_live_client(**settings) as client:
        answers = await asyncio.gather(*(send(client, to) for to in numbers(50)))
        others = [a.text for a in answers if a.status_code not in {201, 429}]
        assert sum(a.status_code == 201 for a in answers) == 5, others
        refused = next(a for a in answers if a.status_code == 429)
        assert_quota_refused(refused, "spend_per_day", 0.25)
        quota = await standing(client)
        assert quota["spend_today"] == pytest.approx(0.25)
        assert quota["spend_this_month"] == pytest.approx(0.25)


async def test_a_monthly_cap_refuses_until_the_month_ends(make_client: ClientFactory) -> None:
    async with make_client(**with_quota(sends_per_day=10, sends_per_month=2)) as client:
        first, second, third = [await send(client, to) for to in numbers(3)]
        assert (first.status_code, second.status_code) == (201, 201)
        assert_quota_refused(third, "sends_per_month", 2)


async def test_a_refused_send_gives_its_quota_back(make_client: ClientFactory) -> None:
    limits = {"limits": {**NO_LIMITS, "send_per_ip": ["1/hour"]}}
    async with make_client(**with_quota(sends_per_day=5), **limits) as client:
        assert (await send(client, numbers(1)[0], client_ip="203.0.113.7")).status_code == 201
        for to in numbers(4)[1:]:
            throttled = await send(client, to, client_ip="203.0.113.7")
            assert throttled.json()["code"] == "rate_limited"
        assert (await standing(client))["sends_today"] == 1


async def test_a_quota_refusal_takes_nothing_of_the_app_budget(make_client: ClientFactory) -> None:
    limits = {"limits": {**NO_LIMITS, "send_per_app": ["3/hour"]}}
    async with make_client(**with_quota(sends_per_day=1), **limits) as client:
        assert (await send(client, numbers(1)[0])).status_code == 201
        for to in numbers(5)[1:]:
            assert (await send(client, to)).json()["code"] == "quota_exceeded"
        rules = (await client.get("/v1/limits", headers=AUTH)).json()
        app_budget = next(r for r in rules["rules"] if r["rule"] == "send_per_app")
        assert app_budget["remaining"] == 2


async def test_a_resend_counts_as_a_send(make_client: ClientFactory) -> None:
    async with make_client(**with_quota(sends_per_day=2)) as client:
        to = numbers(1)[0]
        assert (await send(client, to)).status_code == 201
        assert (await send(client, to)).status_code == 201  # the resend
        assert (await send(client, to)).json()["code"] == "quota_exceeded"


async def test_failover_settles_the_reservation_at_the_price_of_the_provider_that_sent(
    make_client: ClientFactory,
) -> None:
    settings = with_quota(spend_per_day=1.0) | {
        "providers": {"down": DOWN}, "routes": {"default": ["down", "outbox"]},
        "prices": {"down": {"default": 0.10}, "outbox": {"default": 0.02}},
    }  # fmt: skip
    async with make_client(**settings) as client:
        sent = await send(client, numbers(1)[0])
        assert sent.status_code == 201 and sent.json()["message"]["provider"] == "outbox"
        assert (await standing(client))["spend_today"] == pytest.approx(0.02)
        usage = (await client.get("/v1/apps/default/usage", headers=AUTH)).json()
        assert usage["total"]["cost"] == pytest.approx(0.02)
        assert usage["by_provider"]["outbox"]["cost"] == pytest.approx(0.02)


async def test_a_send_no_provider_took_counts_nothing(make_client: ClientFactory) -> None:
    settings = with_quota(sends_per_day=1, spend_per_day=1.0) | {
        "providers": {"down": DOWN}, "routes": {"default": ["down"]},
        "prices": {"down": {"default": 0.10}},
    }  # fmt: skip
    async with make_client(**settings) as client:
        for to in numbers(2):
            assert (await send(client, to)).json()["code"] == "delivery_failed"
        quota = await standing(client)
        assert (quota["sends_today"], quota["spend_today"]) == (0, 0.0)


async def test_test_numbers_count_against_no_quota(make_client: ClientFactory) -> None:
    test_number = {"number": "+14155550199", "code": "123456", "until": "2099-01-01T00:00:00Z"}
    settings = {"apps": {"default": {"quota": {"sends_per_day": 1}}}}
    async with make_client(**settings, abuse={"test_numbers": [test_number]}) as client:
        for _ in range(3):
            assert (await send(client, "+14155550199")).status_code == 201
        assert (await standing(client))["sends_today"] == 0


async def test_a_soft_quota_lets_sends_through_and_tells_once(
    make_client: ClientFactory, redis: Redis
) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        app = {
            "quota": {"sends_per_day": 2, "mode": "soft"}, "events_url": f"{url}/events",
            "events_secret": SECRET, "events_allow_private": True,
        }  # fmt: skip
        async with make_client(apps={"default": app}) as client:
            for to in numbers(5):
                assert (await send(client, to)).status_code == 201
            assert (await standing(client))["sends_today"] == 5
            await receiver.wait_for(1)
            deadline = asyncio.get_running_loop().time() + 5
            while await redis.xlen(STREAM):  # every event queued has been delivered
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
    told = [json.loads(body) for _, body in receiver.received]
    assert [(e["type"], e["data"]) for e in told] == [
        ("quota.exceeded", {"quota": "sends_per_day"})
    ]


async def test_a_quota_set_through_the_api_is_in_force(make_client: ClientFactory) -> None:
    async with make_client() as client:
        changed = await client.patch(
            "/v1/apps/default", json={"settings": {"quota": {"sends_per_day": 1}}}, headers=AUTH
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["settings"]["quota"]["sends_per_day"] == 1
        assert (await send(client, numbers(1)[0])).status_code == 201
        assert (await send(client, numbers(2)[1])).json()["code"] == "quota_exceeded"
        wrong = await client.patch(
            "/v1/apps/default", json={"settings": {"quota": {"sends_per_day": 0}}}, headers=AUTH
        )
        assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_request")
        unknown = await client.patch(
            "/v1/apps/default", json={"settings": {"quota": {"per_week": 3}}}, headers=AUTH
        )
        assert unknown.status_code == 400


async def test_an_approved_code_still_checks_after_the_quota_is_spent(
    make_client: ClientFactory,
) -> None:
    async with make_client(**with_quota(sends_per_day=1)) as client:
        to = numbers(1)[0]
        assert (await send(client, to)).status_code == 201
        assert (await send(client, numbers(2)[1])).status_code == 429
        code = await latest_code(client, to)
        checked = await client.post(
            "/v1/verifications/check", json={"to": to, "code": code}, headers=AUTH
        )
        assert checked.json()["status"] == "approved"
