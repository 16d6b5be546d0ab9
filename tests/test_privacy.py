"""What Redis holds after real flows: no code and no phone number in clear."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.store.keys import Keys
from tests.conftest import AUTH, FAST_ARGON2, ClientFactory, latest_code, redis_snapshot

pytestmark = pytest.mark.topologies

NUMBERS = ["+8613800138000", "+14155552671", "+447911123456"]


async def test_no_code_or_number_in_any_redis_key_or_value(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    codes = []
    for to in NUMBERS:
        sent = await client.post(
            "/v1/verifications",
            json={"to": to, "purpose": "signup"},
            headers=AUTH,
        )
        assert sent.status_code == 201
        await client.post(
            "/v1/verifications",
            json={"to": to, "purpose": "signup"},
            headers={**AUTH, "Idempotency-Key": f"idem-{to}"},
        )
        codes.append(await latest_code(client, to))
    # one approved, one locked, one left pending
    await client.post(
        "/v1/verifications/check",
        json={"to": NUMBERS[0], "purpose": "signup", "code": codes[0]},
        headers=AUTH,
    )
    for _ in range(5):
        await client.post(
            "/v1/verifications/check",
            json={"to": NUMBERS[1], "purpose": "signup", "code": "000000"},
            headers=AUTH,
        )

    snapshot = await redis_snapshot(redis)
    # The dev outbox is the one place that shows a message, by design and in dev only.
    outbox = [key for key in snapshot if key.startswith(Keys.DEV_PREFIX)]
    assert len(outbox) == 1 + len(NUMBERS)
    for key in outbox:
        del snapshot[key]
    dump = repr(snapshot)
    assert len(snapshot) >= 6
    for to in NUMBERS:
        digits = to.lstrip("+")
        assert digits not in dump
        assert digits[-8:] not in dump  # not even the national part
    for code in codes:
        assert not re.search(rf"(?<![0-9A-Za-z+/]){code}(?![0-9A-Za-z+/])", dump), code


async def test_code_hash_is_argon2id_of_a_peppered_digest(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    from app.settings import DEV_PEPPER
    from app.verify.codes import code_digest
    from tests.test_codes import argon2id_of

    sent = (await client.post("/v1/verifications", json={"to": NUMBERS[0]}, headers=AUTH)).json()
    record = await redis.hgetall(Keys.verification(sent["id"]))
    code = await latest_code(client, NUMBERS[0])
    cost = ",".join(str(FAST_ARGON2[part]) for part in ("time_cost", "memory_cost", "parallelism"))
    assert record["A"] == cost  # the suite's argon2 cost, kept beside the hash
    assert argon2id_of(record["c1"], code_digest(DEV_PEPPER.encode(), sent["id"], code), cost)
    assert not argon2id_of(record["c1"], code_digest(b"other", sent["id"], code), cost)
    assert record["t"] == "+86138****8000"


async def test_logs_show_the_masked_number_and_never_the_code(
    client: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("otpgate")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="otpgate"):
            await client.post("/v1/verifications", json={"to": NUMBERS[0]}, headers=AUTH)
            code = await latest_code(client, NUMBERS[0])
            await client.post(
                "/v1/verifications/check", json={"to": NUMBERS[0], "code": code}, headers=AUTH
            )
    finally:
        logger.removeHandler(caplog.handler)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("otpgate"))
    assert "provider=outbox to=+86138****8000 outcome=accepted" in text
    assert "13800138000" not in text
    assert code not in text


async def test_run_time_safe_and_test_numbers_leave_no_number_or_code_in_redis(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    safe, test, code = NUMBERS[1], NUMBERS[2], "731946"
    for kind, body in (("safe", {"number": safe}), ("test", {"number": test, "code": code})):
        added = await client.post(
            f"/v1/apps/default/{kind}-numbers", json={**body, "note": "store review"}, headers=AUTH
        )
        assert added.status_code == 201, added.text
    for to in (safe, test):
        sent = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
        assert sent.status_code == 201
    checked = await client.post(
        "/v1/verifications/check", json={"to": test, "code": code}, headers=AUTH
    )
    assert checked.json()["status"] == "approved"
    listed = (await client.get("/v1/apps/default/test-numbers", headers=AUTH)).json()
    removed = listed["numbers"][0]["id"]
    await client.delete(f"/v1/apps/default/test-numbers/{removed}", headers=AUTH)
    await client.post("/v1/apps/default/test-numbers", json={"number": test, "code": code},
                      headers=AUTH)  # fmt: skip

    snapshot = await redis_snapshot(redis)
    for key in [key for key in snapshot if key.startswith(Keys.DEV_PREFIX)]:
        del snapshot[key]  # the dev outbox: the safe number's message, by design
    assert Keys.LISTED_NUMBERS in snapshot and any(":audit:" in key for key in snapshot)
    dump = repr(snapshot)
    for to in (safe, test):
        assert to.lstrip("+") not in dump
        assert to.lstrip("+")[-8:] not in dump
    # (inside a digest or a sealed value six digits in a row are chance, not the code)
    assert not re.search(rf"(?<![0-9A-Za-z+/_-]){code}(?![0-9A-Za-z+/_-])", dump)


async def test_opt_outs_through_every_vendor_leave_no_number_in_redis(
    make_live_client: ClientFactory, redis: Redis
) -> None:
    from tests.delivery.test_opt_out_flow import KINDS, accounts, text_in

    numbers = ["+8613800138000", "+8613912345678", "+8615071924386", "+8618697253140"]
    async with make_live_client(**accounts()) as client:
        for kind, number in zip(KINDS, numbers, strict=True):
            await text_in(client, kind, "TD", number=number)
        await text_in(client, "twilio", "START", number=numbers[0])
        await text_in(client, "twilio", "TD", number=numbers[0])
        listed = await client.get("/v1/apps/default/opt-outs", headers=AUTH)
        assert len(listed.json()["opt_outs"]) == len(numbers)
    snapshot = await redis_snapshot(redis)
    assert Keys.opt_outs("default") in snapshot
    dump = repr(snapshot)
    for number in numbers:
        assert number.lstrip("+") not in dump
        assert number.lstrip("+")[-8:] not in dump  # not even the national part
