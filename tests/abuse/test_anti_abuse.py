"""Who may get a code: geo permissions, number types, IP lists, pumping guards, test
numbers and the pre-send hook. Each refusal is a clear problem+json code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar, Response, post
from litestar.params import JSONBody
from redis.asyncio import Redis

from tests.abuse.test_rate_limits import check, send
from tests.conftest import AUTH, ClientFactory, latest_code
from tests.stubs.loopback import serve

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


def abuse(**rules: Any) -> dict[str, Any]:
    return {"abuse": rules}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    return problem


async def test_allowed_and_denied_countries(make_client: ClientFactory) -> None:
    async with make_client(**abuse(allowed_countries=["CN"])) as client:
        assert (await send(client, to=TO)).status_code == 201
        refused = assert_problem(await send(client, to="+14155552671"), 403, "country_not_allowed")
        assert refused["country"] == "US"
    async with make_client(**abuse(denied_countries=["US"])) as client:
        assert_problem(await send(client, to="+14155552671"), 403, "country_not_allowed")
        assert (await send(client, to="+447911123456")).status_code == 201


async def test_number_types(make_client: ClientFactory) -> None:
    async with make_client() as client:
        problem = assert_problem(
            await send(client, to="+19005550100"), 422, "number_type_not_allowed"
        )
        assert problem["number_type"] == "premium_rate"
        assert_problem(await send(client, to="+18005550100"), 422, "number_type_not_allowed")
        assert (await send(client, to="+14155552671")).status_code == 201  # fixed line or mobile
    async with make_client(**abuse(number_types=["mobile", "toll_free"])) as client:
        assert (await send(client, to="+18005550100")).status_code == 201
        assert_problem(await send(client, to="+14155552671"), 422, "number_type_not_allowed")


async def test_client_ip_deny_and_allow_lists(make_client: ClientFactory) -> None:
    async with make_client(**abuse(ip_deny=["203.0.113.0/24"])) as client:
        assert_problem(await send(client, client_ip="203.0.113.50"), 403, "ip_not_allowed")
        assert (await send(client, client_ip="198.51.100.1")).status_code == 201
    async with make_client(**abuse(ip_allow=["10.0.0.0/8", "2001:db8::/32"])) as client:
        assert (await send(client, to=TO, client_ip="10.1.2.3")).status_code == 201
        assert (await send(client, to="+14155552671", client_ip="2001:db8::5")).status_code == 201
        assert_problem(
            await send(client, to="+447911123456", client_ip="192.0.2.1"), 403, "ip_not_allowed"
        )
        assert_problem(await send(client, to="+447911123456"), 403, "ip_not_allowed")


def _numbers(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:03d}" for n in range(count)]


async def test_pumping_through_one_prefix_is_blocked_while_others_still_work(
    make_client: ClientFactory,
) -> None:
    async with make_client(**abuse(prefix_max_numbers=5, prefix_digits=3)) as client:
        pumped = _numbers("+8613800138", 8)
        for to in pumped[:5]:
            assert (await send(client, to=to)).status_code == 201
        blocked = assert_problem(await send(client, to=pumped[5]), 403, "suspected_fraud")
        assert blocked["block_id"].startswith("blk_")
        assert int((await send(client, to=pumped[6])).headers["retry-after"]) > 3000
        # a normal number elsewhere still gets its code
        assert (await send(client, to="+8613912345678")).status_code == 201
        # the same numbers again are not new numbers, but the prefix is blocked now
        assert_problem(await send(client, to=pumped[0]), 403, "suspected_fraud")

        blocks = (await client.get("/v1/blocks", headers=AUTH)).json()["blocks"]
        assert [(b["kind"], b["subject"]) for b in blocks] == [("prefix", "+8613800138")]
        lifted = await client.delete(f"/v1/blocks/{blocks[0]['id']}", headers=AUTH)
        assert lifted.status_code == 200
        assert (await client.get("/v1/blocks", headers=AUTH)).json()["blocks"] == []
        assert (await send(client, to=pumped[7])).status_code == 201
        again = await client.delete(f"/v1/blocks/{blocks[0]['id']}", headers=AUTH)
        assert_problem(again, 404, "block_not_found")


async def test_safe_prefixes_are_exempt_from_the_pumping_guards(make_client: ClientFactory) -> None:
    async with make_client(**abuse(prefix_max_numbers=2, safe_prefixes=["+8613800138"])) as client:
        for to in _numbers("+8613800138", 5):
            assert (await send(client, to=to)).status_code == 201


async def _approve(client: Any, to: str) -> None:
    result = await check(client, await latest_code(client, to), to=to)
    assert result.json()["status"] == "approved"


# Numbers under different prefixes, so only the conversion guard is in play.
CN_NUMBERS = [f"+86138{n:02d}13{n:02d}00" for n in range(10, 20)]


async def test_conversion_guard_trips_for_a_country_that_stops_converting(
    make_client: ClientFactory,
) -> None:
    rules = abuse(conversion_min_sends=5, conversion_min_rate=0.5)
    async with make_client(**rules) as client:
        for to in CN_NUMBERS[:5]:
            assert (await send(client, to=to)).status_code == 201
        held = assert_problem(await send(client, to=CN_NUMBERS[5]), 403, "suspected_fraud")
        assert "country" in held["detail"]
        assert (await send(client, to="+14155552671")).status_code == 201  # other countries
        blocks = (await client.get("/v1/blocks", headers=AUTH)).json()["blocks"]
        assert [(b["kind"], b["subject"]) for b in blocks] == [("country", "CN")]
        # an admin lifts it: the count starts afresh
        await client.delete(f"/v1/blocks/{blocks[0]['id']}", headers=AUTH)
        assert (await send(client, to=CN_NUMBERS[5])).status_code == 201


async def test_conversion_guard_leaves_a_converting_country_alone(
    make_client: ClientFactory,
) -> None:
    rules = abuse(conversion_min_sends=5, conversion_min_rate=0.5)
    async with make_client(**rules) as client:
        for to in CN_NUMBERS[:5]:
            assert (await send(client, to=to)).status_code == 201
        for to in CN_NUMBERS[:3]:
            await _approve(client, to)
        # 3 of 5 approved: over the 50 % threshold, so sends go on
        assert (await send(client, to=CN_NUMBERS[5])).status_code == 201


async def test_conversion_hold_expires_and_recovers(make_client: ClientFactory) -> None:
    rules = abuse(
        conversion_min_sends=3, conversion_min_rate=0.5, conversion_hold=1, conversion_window=2
    )
    async with make_client(**rules) as client:
        for to in CN_NUMBERS[:3]:
            assert (await send(client, to=to)).status_code == 201
        assert_problem(await send(client, to=CN_NUMBERS[3]), 403, "suspected_fraud")
        # the hold ends and the unconverted sends age out of the window
        deadline = asyncio.get_running_loop().time() + 6
        while (response := await send(client, to=CN_NUMBERS[4])).status_code == 403:
            assert asyncio.get_running_loop().time() < deadline, "the hold never lifted"
            await asyncio.sleep(0.25)
        assert response.status_code == 201


async def test_test_numbers_get_a_fixed_code_and_no_sms(make_client: ClientFactory) -> None:
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    rules = abuse(test_numbers=[{"number": TO, "code": "246810", "until": until}])
    async with make_client(**rules, limits={"send_per_number": ["1/minute"]}) as client:
        for _ in range(3):  # no send quota is used
            sent = await send(client)
            assert sent.status_code == 201
            assert sent.json()["message"]["status"] == "skipped"
        outbox = await client.get("/dev/outbox", params={"to": TO, "format": "json"})
        assert outbox.json() == []
        assert (await check(client, "111111")).json()["valid"] is False  # checks as usual
        assert (await check(client, "246810")).json()["status"] == "approved"


async def test_expired_test_numbers_are_ordinary_numbers(make_client: ClientFactory) -> None:
    until = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    async with make_client(
        **abuse(test_numbers=[{"number": TO, "code": "246810", "until": until}])
    ) as client:
        assert (await send(client)).json()["message"]["status"] == "sent"
        code = await latest_code(client, TO)
        if code != "246810":
            assert (await check(client, "246810")).json()["valid"] is False


class HookStub:
    """The app's pre-send hook on loopback: records requests, answers as told."""

    def __init__(self) -> None:
        self.allow = True
        self.delay = 0.0
        self.status = 200
        self.seen: list[dict[str, Any]] = []

        @post("/hook", status_code=200)
        async def hook(data: JSONBody[dict[str, Any]]) -> Any:
            self.seen.append(data)
            await asyncio.sleep(self.delay)
            if self.status != 200:
                return Response({"error": "boom"}, status_code=self.status)
            return {"allow": self.allow, "reason": None if self.allow else "known fraudster"}

        self.app = Litestar([hook])


async def test_pre_send_hook_allow_deny_timeout(make_client: ClientFactory) -> None:
    stub = HookStub()
    with serve(stub.app) as base:
        rules = abuse(hook_url=f"{base}/hook", hook_timeout=0.3)
        async with make_client(**rules) as client:
            assert (
                await send(client, purpose="signup", client_ip="203.0.113.7")
            ).status_code == 201
            assert stub.seen[-1] == {
                "app": "default",
                "to": TO,
                "country": "CN",
                "client_ip": "203.0.113.7",
                "purpose": "signup",
                "channel": "sms",
            }
            stub.allow = False
            denied = assert_problem(await send(client, to="+14155552671"), 403, "send_denied")
            assert denied["detail"] == "known fraudster"
            stub.allow, stub.delay = True, 1.0
            assert_problem(await send(client, to="+447911123456"), 403, "send_denied")
            stub.delay, stub.status = 0.0, 500
            assert_problem(await send(client, to="+447911123456"), 403, "send_denied")
    async with make_client(**abuse(hook_url=f"{base}/hook", hook_fail_open=True)) as client:
        # the stub is gone: connection refused, and this app fails open
        assert (await send(client, to="+447911123456")).status_code == 201


async def test_limits_and_blocks_need_the_admin_scope(
    make_client: ClientFactory, redis: Redis
) -> None:
    from app.apps.keys import ApiKeyStore

    key, _ = await ApiKeyStore(redis).create("default", ["verify"])
    verify_only = {"Authorization": f"Bearer {key}"}
    async with make_client() as client:
        for method, path in [
            ("GET", "/v1/limits"),
            ("DELETE", "/v1/limits"),
            ("GET", "/v1/blocks"),
            ("DELETE", "/v1/blocks/blk_x"),
        ]:
            assert_problem(
                await client.request(method, path, headers=verify_only), 403, "forbidden"
            )


async def test_support_desk_clears_a_numbers_counters(make_client: ClientFactory) -> None:
    async with make_client(limits={"send_per_number": ["1/minute"]}) as client:
        assert (await send(client)).status_code == 201
        assert (await send(client)).status_code == 429
        before = (await client.get("/v1/limits", params={"to": TO}, headers=AUTH)).json()["rules"]
        assert [r["remaining"] for r in before if r["rule"] == "send_per_number"] == [0]
        cleared = await client.delete("/v1/limits", params={"to": TO}, headers=AUTH)
        assert cleared.json() == {"cleared": ["send_per_number", "wrong_checks_per_number"]}
        assert (await send(client)).status_code == 201
        assert_problem(await client.delete("/v1/limits", headers=AUTH), 400, "invalid_request")
