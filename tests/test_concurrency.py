"""Races: concurrent requests against a real server on loopback and a real Redis.

The Lua scripts must keep every invariant however the requests interleave; the
argon2 thread pool makes the comparisons overlap for real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.conftest import AUTH, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


async def _start(client: Any) -> Any:
    return await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)


async def _check(client: Any, verification_id: str, code: str) -> Any:
    return await client.post(
        "/v1/verifications/check", json={"id": verification_id, "code": code}, headers=AUTH
    )


async def test_twenty_concurrent_right_checks_approve_exactly_once(
    make_live_client: ClientFactory,
) -> None:
    # A budget of 20 attempts lets every check reach the comparison.
    async with make_live_client(max_attempts=20) as client:
        sent = (await _start(client)).json()
        code = await latest_code(client, TO)
        results = await asyncio.gather(*(_check(client, sent["id"], code) for _ in range(20)))
        assert sum(1 for r in results if r.status_code == 200 and r.json()["valid"]) == 1
        others = [r for r in results if not (r.status_code == 200 and r.json()["valid"])]
        assert {r.status_code for r in others} == {404}
        assert {r.json()["code"] for r in others} == {"verification_not_found"}


async def test_concurrent_right_checks_with_default_budget_approve_once(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as client:
        sent = (await _start(client)).json()
        code = await latest_code(client, TO)
        results = await asyncio.gather(*(_check(client, sent["id"], code) for _ in range(20)))
        assert sum(1 for r in results if r.status_code == 200 and r.json()["valid"]) == 1
        # the rest found it consumed (404) or every attempt already reserved (429)
        assert {r.status_code for r in results} <= {200, 404, 429}


async def test_twenty_concurrent_wrong_checks_never_exceed_the_budget(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as client:
        sent = (await _start(client)).json()
        code = await latest_code(client, TO)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        results = await asyncio.gather(*(_check(client, sent["id"], wrong) for _ in range(20)))
        statuses = Counter(r.status_code for r in results)
        assert statuses == {200: 5, 429: 15}  # exactly the budget was compared
        final = [r.json() for r in results if r.status_code == 200]
        assert sum(1 for body in final if body["status"] == "max_attempts_reached") == 1
        assert sorted(body["attempts_remaining"] for body in final) == [0, 1, 2, 3, 4]
        shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
        assert shown["status"] == "max_attempts_reached"
        assert (await _check(client, sent["id"], code)).status_code == 429


async def test_concurrent_sends_to_one_number_create_one_verification(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(resend_cooldown=60) as client:
        results = await asyncio.gather(*(_start(client) for _ in range(10)))
        assert sum(1 for r in results if r.status_code == 201) == 1
        assert {r.json()["code"] for r in results if r.status_code != 201} == {"resend_cooldown"}
        outbox = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
        assert len(outbox) == 1


async def test_concurrent_resends_without_cooldown_stay_in_one_verification(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(resend_cooldown=0, max_sends=5) as client:
        first = (await _start(client)).json()
        results = await asyncio.gather(*(_start(client) for _ in range(10)))
        ok = [r.json() for r in results if r.status_code == 201]
        assert {view["id"] for view in ok} == {first["id"]}
        assert sorted(view["sends"] for view in ok) == [2, 3, 4, 5]  # five sends at most
        refused = {r.json()["code"] for r in results if r.status_code != 201}
        assert refused <= {"max_sends_reached", "resend_cooldown"}
        outbox = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
        assert len(outbox) == 5
