"""Safe numbers and test numbers at run time (/v1/apps/{app}/safe-numbers, /test-numbers):
they act exactly as the file's, end on their end date, stay within their app, reach every
instance within a second, and Redis holds neither the number nor the code in clear."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.listed import NumberEntry, NumberIndex
from app.apps.numbers import MAX_AHEAD, end_date
from app.apps.registry import AppRegistry
from app.errors import OtpgateError
from app.settings import Settings
from app.store.keys import Keys
from tests.abuse.test_anti_abuse import CN_NUMBERS, assert_problem
from tests.abuse.test_rate_limits import check, send
from tests.conftest import AUTH, ClientFactory, latest_code, redis_snapshot
from tests.test_apps import bearer, key_of

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
OTHER = "+14155552671"
PUMPED = [f"+8613900139{n:03d}" for n in range(4)]  # under one prefix, apart from TO


async def add(
    client: Any, kind: str, app: str = "default", headers: dict[str, str] = AUTH, **body: Any
) -> Any:
    return await client.post(f"/v1/apps/{app}/{kind}-numbers", json=body, headers=headers)


async def listed(
    client: Any, kind: str, app: str = "default", headers: dict[str, str] = AUTH
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/apps/{app}/{kind}-numbers", headers=headers)
    assert response.status_code == 200, response.text
    numbers: list[dict[str, Any]] = response.json()["numbers"]
    return numbers


async def state(redis: Redis) -> dict[str, Any]:
    """Every key and value, but the keys' last use (written in the background, and again
    by the services each change builds anew)."""
    snapshot = await redis_snapshot(redis)
    snapshot.pop(Keys.API_KEY_LAST_USED, None)
    return snapshot


async def outbox(client: Any, to: str) -> list[Any]:
    messages: list[Any] = (
        await client.get("/dev/outbox", params={"to": to, "format": "json"})
    ).json()
    return messages


async def test_a_safe_number_passes_the_prefix_guard_that_blocks_its_neighbours(
    make_client: ClientFactory,
) -> None:
    async with make_client(abuse={"prefix_max_numbers": 2}) as client:
        added = await add(client, "safe", number=PUMPED[3], note="support desk")
        assert added.status_code == 201, added.text
        entry = added.json()
        assert entry["number"] == "+86139****9003"
        assert entry["id"].startswith("num_")
        assert (entry["until"], entry["note"], entry["created_by"]) == (
            None,
            "support desk",
            "bootstrap",
        )
        for to in PUMPED[:2]:
            assert (await send(client, to=to)).status_code == 201
        assert_problem(await send(client, to=PUMPED[2]), 403, "suspected_fraud")
        assert (await send(client, to=PUMPED[3])).status_code == 201  # the prefix is blocked
        assert await listed(client, "safe") == [entry]


async def test_a_safe_number_passes_the_country_hold_that_stops_others(
    make_client: ClientFactory,
) -> None:
    rules = {"conversion_min_sends": 3, "conversion_min_rate": 0.5}
    async with make_client(abuse=rules) as client:
        assert (await add(client, "safe", number=CN_NUMBERS[9])).status_code == 201
        for to in CN_NUMBERS[:3]:
            assert (await send(client, to=to)).status_code == 201
        assert_problem(await send(client, to=CN_NUMBERS[3]), 403, "suspected_fraud")
        assert (await send(client, to=CN_NUMBERS[9])).status_code == 201


async def test_a_test_number_gets_its_fixed_code_and_no_sms_beside_the_file_s(
    make_client: ClientFactory,
) -> None:
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    in_file = {"test_numbers": [{"number": OTHER, "code": "135790", "until": until}]}
    async with make_client(abuse=in_file, limits={"send_per_number": ["1/minute"]}) as client:
        added = await add(client, "test", number=TO, code="246810", note="app review")
        assert added.status_code == 201, added.text
        assert "246810" not in added.text and "13800138000" not in added.text
        for _ in range(3):  # no send quota is used, no SMS goes out
            sent = await send(client)
            assert sent.status_code == 201
            assert sent.json()["message"]["status"] == "skipped"
        assert await outbox(client, TO) == []
        assert (await check(client, "111111")).json()["valid"] is False  # checked as usual
        assert (await check(client, "246810")).json()["status"] == "approved"
        # the file's test number works alongside
        assert (await send(client, to=OTHER)).json()["message"]["status"] == "skipped"
        assert (await check(client, "135790", to=OTHER)).json()["status"] == "approved"
        assert [n["number"] for n in await listed(client, "test")] == ["+86138****8000"]


async def test_adding_a_listed_number_again_replaces_its_entry_under_the_same_id(
    client: AsyncTestClient[Any],
) -> None:
    first = (await add(client, "test", number=TO, code="246810", note="first")).json()
    later = time.time() + 3600
    second = (await add(client, "test", number="+86 138 0013 8000", code="975310",
                        until=later, note="second")).json()  # fmt: skip
    assert second["id"] == first["id"]
    assert (second["note"], second["until"]) == ("second", later)
    assert await listed(client, "test") == [second]
    await send(client)
    assert (await check(client, "246810")).json()["valid"] is False  # the old code is gone
    assert (await check(client, "975310")).json()["status"] == "approved"
    # an end date in ISO 8601 is the same instant, whatever its offset
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    beijing = moment.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert (await add(client, "safe", number=TO, until=beijing)).json()[
        "until"
    ] == moment.timestamp()


async def test_removing_a_number_makes_it_ordinary_again(client: AsyncTestClient[Any]) -> None:
    entry = (await add(client, "test", number=TO, code="246810")).json()
    removed = await client.delete(f"/v1/apps/default/test-numbers/{entry['id']}", headers=AUTH)
    assert (removed.status_code, removed.json()) == (200, entry)
    assert await listed(client, "test") == []
    assert (await send(client)).json()["message"]["status"] == "sent"
    assert len(await outbox(client, TO)) == 1
    again = await client.delete(f"/v1/apps/default/test-numbers/{entry['id']}", headers=AUTH)
    assert_problem(again, 404, "number_not_found")


async def test_an_entry_whose_end_date_passed_has_no_effect_and_is_dropped(
    make_client: ClientFactory, redis: Redis
) -> None:
    async with make_client(abuse={"prefix_max_numbers": 1}) as client:
        soon = time.time() + 1.0
        assert (await add(client, "test", number=TO, code="246810", until=soon)).status_code == 201
        assert (await add(client, "safe", number=PUMPED[1], until=soon)).status_code == 201
        assert (await send(client)).json()["message"]["status"] == "skipped"
        assert (await send(client, to=PUMPED[0])).status_code == 201
        assert (await send(client, to=PUMPED[1])).status_code == 201  # safe: not counted
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while await listed(client, "test") or await listed(client, "safe"):
            assert loop.time() < deadline, "the ended entries are still listed"
            await asyncio.sleep(0.05)
        assert time.time() >= soon
        assert await redis.hlen(Keys.LISTED_NUMBERS) == 0  # dropped from Redis too
        sent = await send(client, purpose="later")
        assert sent.json()["message"]["status"] == "sent"  # an ordinary number again
        assert await latest_code(client, TO)
        # the former safe number counts under its prefix now: a second number, blocked
        assert_problem(await send(client, to=PUMPED[1], purpose="later"), 403, "suspected_fraud")


async def test_a_change_on_one_instance_is_in_force_on_another_within_a_second(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as a, make_live_client() as b:
        loop = asyncio.get_running_loop()

        async def until_b_sends(status: str) -> None:
            started = loop.time()
            for attempt in range(100):
                sent = await send(b, purpose=f"poll{attempt}")
                if sent.json()["message"]["status"] == status:
                    return
                assert loop.time() - started < 1.5, f"instance b never sent {status!r}"
                await asyncio.sleep(0.05)
            raise AssertionError(f"instance b never sent {status!r}")

        assert (await send(b, purpose="before")).json()["message"]["status"] == "sent"
        entry = (await add(a, "test", number=TO, code="246810")).json()
        await until_b_sends("skipped")
        assert [n["id"] for n in await listed(b, "test")] == [entry["id"]]
        removed = await a.delete(f"/v1/apps/default/test-numbers/{entry['id']}", headers=AUTH)
        assert removed.status_code == 200
        await until_b_sends("sent")


async def test_an_app_s_numbers_are_its_own_and_need_their_scopes(
    client: AsyncTestClient[Any],
) -> None:
    assert (await client.post("/v1/apps", json={"name": "shop"}, headers=AUTH)).status_code == 201
    reader, admin = await key_of(client, "shop", "read"), await key_of(client, "shop", "admin")
    verifier = await key_of(client, "shop", "verify")
    theirs = (await add(client, "test", number=TO, code="246810")).json()  # default's
    mine = (await add(client, "test", "shop", bearer(admin), number=OTHER, code="135790")).json()
    assert [n["id"] for n in await listed(client, "test", "shop", bearer(reader))] == [mine["id"]]
    assert await listed(client, "test", "shop") == [mine]  # an operator reads any app's
    assert await listed(client, "safe", "shop", bearer(reader)) == []
    for key, method, path in [
        (reader, "POST", "/v1/apps/shop/test-numbers"),
        (reader, "DELETE", f"/v1/apps/shop/test-numbers/{mine['id']}"),
        (verifier, "GET", "/v1/apps/shop/test-numbers"),
        (admin, "GET", "/v1/apps/default/test-numbers"),
        (admin, "POST", "/v1/apps/default/safe-numbers"),
        (admin, "DELETE", f"/v1/apps/default/test-numbers/{theirs['id']}"),
    ]:
        body = {"number": TO, **({"code": "111111"} if "test" in path else {})}
        refused = await client.request(
            method, path, json=body if method == "POST" else None, headers=bearer(key)
        )
        assert_problem(refused, 403, "forbidden")
    elsewhere = await client.delete(
        f"/v1/apps/shop/test-numbers/{theirs['id']}", headers=bearer(admin)
    )
    assert_problem(elsewhere, 404, "number_not_found")
    # default's test number is an ordinary number to shop, and shop's to default
    assert (await send(client, headers=bearer(verifier))).json()["message"]["status"] == "sent"
    assert (await send(client)).json()["message"]["status"] == "skipped"
    assert (await send(client, to=OTHER)).json()["message"]["status"] == "sent"
    shop_sent = await send(client, to=OTHER, headers=bearer(verifier))
    assert shop_sent.json()["message"]["status"] == "skipped"


async def test_changes_are_audited_by_entry_id_without_the_number(
    client: AsyncTestClient[Any],
) -> None:
    safe = (await add(client, "safe", number=TO)).json()
    test = (await add(client, "test", number=OTHER, code="246810")).json()
    await client.delete(f"/v1/apps/default/safe-numbers/{safe['id']}", headers=AUTH)
    audit = await client.get("/v1/apps/default/audit", headers=AUTH)
    entries = audit.json()["entries"]
    assert [(e["action"], e["fields"], e["number_id"], e["by"]) for e in entries] == [
        ("remove_number", ["abuse.safe_numbers"], safe["id"], "bootstrap"),
        ("add_number", ["abuse.test_numbers"], test["id"], "bootstrap"),
        ("add_number", ["abuse.safe_numbers"], safe["id"], "bootstrap"),
    ]
    for secret in ("8613800138000", "13800138000", "4155552671", "246810"):
        assert secret not in audit.text


def _bad(status: int, problem: str, kind: str, **body: Any) -> Any:
    return pytest.param(
        kind, body, status, problem, id=f"{kind}-{'-'.join(map(str, body.values()))}"[:60]
    )


BAD_ADDS = [
    _bad(422, "invalid_phone", "safe", number="12345"),
    _bad(422, "invalid_phone", "safe", number="+8613"),
    _bad(422, "invalid_phone", "safe", number="+86138001380000000000000000000000000"),
    _bad(400, "invalid_request", "safe", number="+8613800138000\n"),
    _bad(400, "invalid_request", "safe", number=8613800138000),
    _bad(400, "invalid_request", "safe", note="x"),  # no number
    _bad(400, "invalid_request", "test", number=TO, code="12345"),  # the app's codes: 6
    _bad(400, "invalid_request", "test", number=TO, code="1234567"),
    _bad(400, "invalid_request", "test", number=TO, code="12a456"),
    _bad(400, "invalid_request", "test", number=TO, code="１２３４５６"),
    _bad(400, "invalid_request", "test", number=TO),
    _bad(400, "invalid_request", "safe", number=TO, code="246810"),
    _bad(400, "invalid_request", "safe", number=TO, until=1_000_000_000),  # 2001
    _bad(400, "invalid_request", "safe", number=TO, until="2001-09-09T01:46:40Z"),
    _bad(400, "invalid_request", "safe", number=TO, until=1.9e12),  # milliseconds
    _bad(400, "invalid_request", "safe", number=TO, until=1e300),
    _bad(400, "invalid_request", "safe", number=TO, until="2030-01-01T00:00:00"),  # no offset
    _bad(400, "invalid_request", "safe", number=TO, until="soon"),
    _bad(400, "invalid_request", "safe", number=TO, note="a\x00b"),
    _bad(400, "invalid_request", "safe", number=TO, note="x" * 201),
]


@pytest.mark.parametrize(("kind", "body", "status", "code"), BAD_ADDS)
async def test_a_bad_entry_is_a_clear_problem_and_changes_nothing(
    client: AsyncTestClient[Any],
    redis: Redis,
    kind: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    assert (await add(client, "safe", number=OTHER)).status_code == 201
    before = await state(redis)
    assert_problem(await add(client, kind, **body), status, code)
    assert await state(redis) == before


async def test_an_end_date_out_of_any_range_is_400(client: AsyncTestClient[Any]) -> None:
    body = b'{"number": "+8613800138000", "until": 1e999}'
    headers = {**AUTH, "Content-Type": "application/json"}
    response = await client.post("/v1/apps/default/safe-numbers", content=body, headers=headers)
    assert_problem(response, 400, "invalid_request")
    assert await listed(client, "safe") == []


async def test_unknown_ids_and_apps_are_404_and_change_nothing(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    safe = (await add(client, "safe", number=OTHER)).json()
    before = await state(redis)
    for path in (
        "/v1/apps/default/safe-numbers/num_nothing",
        f"/v1/apps/default/test-numbers/{safe['id']}",  # a safe number's id, as a test number
    ):
        assert_problem(await client.delete(path, headers=AUTH), 404, "number_not_found")
    assert_problem(await add(client, "safe", "nowhere", number=TO), 404, "app_not_found")
    nowhere = await client.get("/v1/apps/nowhere/test-numbers", headers=AUTH)
    assert_problem(nowhere, 404, "app_not_found")
    assert await state(redis) == before


async def test_a_sealed_code_moved_to_another_number_or_app_does_not_open(
    client: AsyncTestClient[Any], redis: Redis, settings: Settings
) -> None:
    keys = Keys(settings.secret_pepper)
    await add(client, "test", number=TO, code="246810")
    (raw,) = (await redis.hgetall(Keys.LISTED_NUMBERS)).values()
    entry = msgspec.json.decode(raw, type=NumberEntry)
    assert entry.code is not None and "246810" not in raw
    for moved in (
        msgspec.structs.replace(entry, id="num_moved", number=keys.number(OTHER)),
        msgspec.structs.replace(entry, id="num_other_app", app="shop"),
    ):
        await redis.hset(Keys.LISTED_NUMBERS, moved.id, msgspec.json.encode(moved))
    registry = AppRegistry(redis, settings)
    await registry.refresh()
    now = time.time()
    assert registry.numbers.test_code("default", keys.number(TO), now) == "246810"
    assert registry.numbers.test_code("default", keys.number(OTHER), now) is None
    assert registry.numbers.test_code("shop", keys.number(TO), now) is None


def test_the_index_answers_for_the_app_the_number_and_the_moment() -> None:
    index = NumberIndex(
        {("shop", "n1"): 100.0, ("shop", "n2"): math.inf}, {("shop", "n3"): (100.0, "246810")}
    )
    assert index.safe("shop", "n1", 99.9) and not index.safe("shop", "n1", 100.0)
    assert index.safe("shop", "n2", 1e12) and not index.safe("other", "n2", 0)
    assert index.test_code("shop", "n3", 99.9) == "246810"
    assert index.test_code("shop", "n3", 100.0) is None
    assert index.test_code("shop", "n1", 0) is None  # a safe number has no code


def test_an_end_date_is_in_the_future_and_within_ten_years() -> None:
    assert end_date(None, 1000.0) is None
    assert end_date(1000.5, 1000.0) == 1000.5
    assert end_date(datetime.fromtimestamp(2000, UTC), 1000.0) == 2000.0
    assert end_date(1000.0 + MAX_AHEAD, 1000.0) == 1000.0 + MAX_AHEAD
    for refused in (1000.0, 999.0, 1000.0 + MAX_AHEAD + 1, math.inf):
        with pytest.raises(OtpgateError, match="until"):
            end_date(refused, 1000.0)
