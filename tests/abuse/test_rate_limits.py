"""Each throttle fires at exactly its count, frees after its window, and touches
nothing it should not. Windows are one second long so the suite stays quick."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from tests.conftest import AUTH, NO_LIMITS, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
OTHER = "+8613900139000"


def only(**rules: list[str]) -> dict[str, Any]:
    """The limits settings with just these rules on."""
    return {"limits": {**NO_LIMITS, **rules}}


async def send(client: Any, to: str = TO, headers: dict[str, str] = AUTH, **body: Any) -> Any:
    return await client.post("/v1/verifications", json={"to": to, **body}, headers=headers)


async def check(client: Any, code: str, to: str = TO, **body: Any) -> Any:
    return await client.post(
        "/v1/verifications/check", json={"to": to, "code": code, **body}, headers=AUTH
    )


def assert_limited(response: Any, rule: str) -> None:
    assert response.status_code == 429, response.text
    problem = response.json()
    assert problem["code"] == "rate_limited"
    assert problem["rule"] == rule
    # a spent budget may stay spent into its next window, as the count it holds fades
    windows = 2 if rule in {"send_per_app", "send_per_country"} else 1
    assert 1 <= int(response.headers["retry-after"]) <= windows * problem["window"]


async def until_free(request: Any, within: float = 3.0) -> Any:
    """Repeat ``request`` until it is no longer rate limited (for at most ``within`` s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await request()
        if response.status_code != 429 or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.1)


async def test_sends_per_number_fire_at_the_count_and_free_after_the_window(
    make_client: ClientFactory,
) -> None:
    async with make_client(**only(send_per_number=["2/second"]), max_sends=10) as client:
        assert (await send(client)).status_code == 201
        assert (await send(client)).status_code == 201
        assert_limited(await send(client), "send_per_number")
        assert (await send(client, to=OTHER)).status_code == 201  # another number is fine
        freed = await until_free(lambda: send(client))
        assert freed.status_code == 201


async def test_default_per_number_rules_are_one_a_minute_five_an_hour_ten_a_day(
    make_client: ClientFactory, redis: Redis
) -> None:
    async with make_client(limits={}) as client:  # the defaults
        assert (await send(client)).status_code == 201
        refused = await send(client)
        assert_limited(refused, "send_per_number")
        assert refused.json()["limit"] == 1 and refused.json()["window"] == 60
        admin = {"Authorization": AUTH["Authorization"]}
        shown = (await client.get("/v1/limits", params={"to": TO}, headers=admin)).json()
        windows = {(r["rule"], r["limit"], r["window"]) for r in shown["rules"]}
        assert {
            ("send_per_number", 1, 60),
            ("send_per_number", 5, 3600),
            ("send_per_number", 10, 86400),
            ("wrong_checks_per_number", 20, 3600),
        } <= windows


async def test_sends_per_ip_count_across_numbers(make_client: ClientFactory) -> None:
    async with make_client(**only(send_per_ip=["2/second"])) as client:
        ip = {"client_ip": "203.0.113.7"}
        assert (await send(client, to=TO, **ip)).status_code == 201
        assert (await send(client, to=OTHER, **ip)).status_code == 201
        assert_limited(await send(client, to="+8613700137000", **ip), "send_per_ip")
        other_ip = await send(client, to="+8613700137000", client_ip="198.51.100.1")
        assert other_ip.status_code == 201


async def test_ipv6_clients_count_per_64(make_client: ClientFactory) -> None:
    async with make_client(**only(send_per_ip=["1/minute"])) as client:
        assert (await send(client, to=TO, client_ip="2001:db8:1:2::1")).status_code == 201
        same_64 = await send(client, to=OTHER, client_ip="2001:db8:1:2:ffff::9")
        assert_limited(same_64, "send_per_ip")
        other_64 = await send(client, to=OTHER, client_ip="2001:db8:1:3::1")
        assert other_64.status_code == 201


async def test_app_budget(make_client: ClientFactory) -> None:
    async with make_client(**only(send_per_app=["2/minute"])) as client:
        assert (await send(client, to=TO)).status_code == 201
        assert (await send(client, to=OTHER)).status_code == 201
        refused = await send(client, to="+8613700137000")
        assert_limited(refused, "send_per_app")
        # 2 taken in this window still weigh 1 half-way into the next: that is when a
        # third fits (the end of this window, had the first been taken in the last one)
        assert 30 <= int(refused.headers["retry-after"]) <= 90


async def until_window_at(window: float, fraction: float) -> None:
    """Sleep until ``fraction`` of the way into a window (windows start at multiples of
    ``window`` since the epoch, by the clock Redis shares with us)."""
    await asyncio.sleep((fraction * window - time.time() % window) % window)


async def test_a_budget_holds_across_its_window_boundary(make_client: ClientFactory) -> None:
    """Sends late in one window still count, fading, early in the next: the budget frees
    as the previous window's share fades, not all at once (rounding that share down, as
    `limits` does, let a third send of a 2-per-window budget through at the boundary)."""
    window, numbers = 2.0, (f"+86137001370{n:02d}" for n in range(20))
    async with make_client(**only(send_per_app=["2/2seconds"])) as client:
        for _ in range(3):  # two sends that cross the boundary on a slow machine try again
            await until_window_at(window, 0.7)
            assert (await send(client, to=next(numbers))).status_code == 201
            assert (await send(client, to=next(numbers))).status_code == 201
            if time.time() % window > 0.7 * window:
                break
            await asyncio.sleep(2 * window)  # both windows' counts gone
        else:
            pytest.fail("two sends never fitted in 0.6 s")
        await until_window_at(window, 0.05)
        # 2 x 0.95 of the previous window still counts: no room for one more
        refused = await send(client, to=next(numbers))
        assert_limited(refused, "send_per_app")
        assert refused.headers["retry-after"] == "1"  # half-way in, 2 x 0.5 + 1 fits
        await until_window_at(window, 0.55)
        assert (await send(client, to=next(numbers))).status_code == 201
        # 2 x 0.45 + 1 taken: full until the window's end, where 1 counts as previous
        assert_limited(await send(client, to=next(numbers)), "send_per_app")
        await until_window_at(window, 0.02)
        assert (await send(client, to=next(numbers))).status_code == 201


async def test_country_budget(make_client: ClientFactory) -> None:
    async with make_client(**only(send_per_country=["1/minute"])) as client:
        assert (await send(client, to=TO)).status_code == 201
        assert_limited(await send(client, to=OTHER), "send_per_country")
        assert (await send(client, to="+14155552671")).status_code == 201


async def test_one_apps_traffic_never_throttles_another(
    make_client: ClientFactory, redis: Redis
) -> None:
    other_key, _ = await ApiKeyStore(redis).create("other", ["verify"])
    other = {"Authorization": f"Bearer {other_key}"}
    async with make_client(
        **only(send_per_number=["1/minute"], send_per_app=["1/minute"])
    ) as client:
        assert (await send(client)).status_code == 201
        assert_limited(await send(client), "send_per_number")
        assert (await send(client, headers=other)).status_code == 201


async def test_a_request_refused_by_one_rule_consumes_nothing_of_the_others(
    make_client: ClientFactory,
) -> None:
    async with make_client(
        **only(send_per_number=["1/minute"], send_per_ip=["5/minute"], send_per_app=["5/minute"])
    ) as client:
        ip = "203.0.113.7"
        assert (await send(client, client_ip=ip)).status_code == 201
        for _ in range(3):
            assert_limited(await send(client, client_ip=ip), "send_per_number")
        shown = await client.get("/v1/limits", params={"client_ip": ip}, headers=AUTH)
        remaining = {r["rule"]: r["remaining"] for r in shown.json()["rules"]}
        assert remaining == {"send_per_app": 4, "send_per_ip": 4}


async def test_success_carries_ratelimit_headers_of_the_tightest_rule(
    make_client: ClientFactory,
) -> None:
    async with make_client(
        **only(send_per_number=["3/minute", "10/hour"], send_per_ip=["50/hour"])
    ) as client:
        first = await send(client, client_ip="203.0.113.7")
        assert first.headers["ratelimit-limit"] == "3"
        assert first.headers["ratelimit-remaining"] == "2"
        assert first.headers["ratelimit-policy"] == "3;w=60"
        assert 55 <= int(first.headers["ratelimit-reset"]) <= 60
        second = await send(client, client_ip="203.0.113.7")
        assert second.headers["ratelimit-remaining"] == "1"


async def test_wrong_checks_per_number_span_verifications(make_client: ClientFactory) -> None:
    async with make_client(**only(wrong_checks_per_number=["3/minute"]), max_attempts=10) as client:
        await send(client, purpose="login")
        code = await latest_code(client, TO)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(3):
            assert (await check(client, wrong, purpose="login")).json()["valid"] is False
        assert_limited(await check(client, code, purpose="login"), "wrong_checks_per_number")
        # a new verification does not reset the guessing budget
        await send(client, purpose="signup")
        fresh = await latest_code(client, TO)
        assert_limited(await check(client, fresh, purpose="signup"), "wrong_checks_per_number")
        # right codes do not count; another number is untouched
        await send(client, to=OTHER)
        assert (await check(client, await latest_code(client, OTHER), to=OTHER)).json()["valid"]


async def test_checks_per_ip(make_client: ClientFactory) -> None:
    async with make_client(**only(checks_per_ip=["2/minute"])) as client:
        await send(client)
        ip = {"client_ip": "203.0.113.9"}
        for _ in range(2):
            assert (await check(client, "000000", **ip)).status_code == 200
        assert_limited(await check(client, "000000", **ip), "checks_per_ip")
        assert (await check(client, "000000", client_ip="198.51.100.1")).status_code == 200


async def test_fifty_concurrent_sends_to_one_number_let_exactly_the_limit_through(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(**only(send_per_number=["5/minute"]), max_sends=20) as client:
        results = await asyncio.gather(*(send(client) for _ in range(50)))
        statuses = Counter(r.status_code for r in results)
        assert statuses == {201: 5, 429: 45}
        assert {r.json()["rule"] for r in results if r.status_code == 429} == {"send_per_number"}
        outbox = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
        assert len(outbox) == 5
