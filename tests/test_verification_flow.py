"""The verification flow end to end over HTTP, on a real Redis."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from tests.conftest import AUTH, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


async def start(client: AsyncTestClient[Any], to: str = TO, **body: Any) -> Any:
    return await client.post("/v1/verifications", json={"to": to, **body}, headers=AUTH)


async def check(client: AsyncTestClient[Any], code: str, **body: Any) -> Any:
    payload = {"to": TO, **body, "code": code}
    return await client.post("/v1/verifications/check", json=payload, headers=AUTH)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


async def test_send_read_from_outbox_check_approves_once(client: AsyncTestClient[Any]) -> None:
    sent = await start(client, purpose="login", locale="zh-CN")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["status"] == "pending"
    assert body["to"] == TO
    assert body["attempts_remaining"] == 5
    assert body["sends"] == 1 and body["sends_remaining"] == 4
    assert body["message"]["provider"] == "outbox" and body["message"]["status"] == "sent"
    created = datetime.fromisoformat(body["created_at"])
    assert (datetime.fromisoformat(body["expires_at"]) - created).total_seconds() == 300

    outbox = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
    assert outbox[0]["text"].startswith("您的验证码为") and "5分钟内有效" in outbox[0]["text"]
    code = await latest_code(client, TO)

    approved = await check(client, code)
    assert approved.status_code == 200
    assert approved.json() == {
        "id": body["id"],
        "status": "approved",
        "valid": True,
        "attempts_remaining": 4,
    }
    again = await check(client, code)
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "verification_not_found"

    shown = (await client.get(f"/v1/verifications/{body['id']}", headers=AUTH)).json()
    assert shown["status"] == "approved"
    assert shown["to"] == "+86138****8000"  # otpgate keeps no number in clear
    assert [m["id"] for m in shown["messages"]] == [body["message"]["id"]]


async def test_check_by_id_works_like_check_by_number(client: AsyncTestClient[Any]) -> None:
    sent = (await start(client, to="+14155552671")).json()
    code = await latest_code(client, "+14155552671")
    result = await client.post(
        "/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=AUTH
    )
    assert result.json()["status"] == "approved"


async def test_english_text_by_default_outside_china(client: AsyncTestClient[Any]) -> None:
    await start(client, to="+14155552671")
    outbox = (
        await client.get("/dev/outbox", params={"to": "+14155552671", "format": "json"})
    ).json()
    assert outbox[0]["text"].startswith("Your verification code is ")
    assert "expires in 5 minutes" in outbox[0]["text"]


async def test_national_number_with_country_is_normalised(client: AsyncTestClient[Any]) -> None:
    sent = await start(client, to="138 0013 8000", country="CN")
    assert sent.status_code == 201
    assert sent.json()["to"] == TO


async def test_five_wrong_codes_lock_the_verification(client: AsyncTestClient[Any]) -> None:
    await start(client)
    code = await latest_code(client, TO)
    remaining = []
    for _ in range(4):
        result = (await check(client, wrong(code))).json()
        assert result["status"] == "pending" and result["valid"] is False
        remaining.append(result["attempts_remaining"])
    assert remaining == [4, 3, 2, 1]
    fifth = await check(client, wrong(code))
    assert fifth.status_code == 200
    assert fifth.json()["status"] == "max_attempts_reached"
    assert fifth.json()["attempts_remaining"] == 0

    later = await check(client, code)  # even the right code
    assert later.status_code == 429
    assert later.json()["code"] == "max_attempts_reached"


async def test_resend_does_not_restore_attempts(client: AsyncTestClient[Any]) -> None:
    first = (await start(client)).json()
    code = await latest_code(client, TO)
    for _ in range(3):
        await check(client, wrong(code))
    resent = await start(client)
    assert resent.status_code == 201
    assert resent.json()["id"] == first["id"]
    assert resent.json()["attempts_remaining"] == 2
    new_code = await latest_code(client, TO)
    assert (await check(client, wrong(new_code))).json()["attempts_remaining"] == 1
    last = await check(client, wrong(new_code))
    assert last.json()["status"] == "max_attempts_reached"
    assert (await check(client, new_code)).status_code == 429


async def test_wrong_code_after_lock_keeps_answering_429(client: AsyncTestClient[Any]) -> None:
    await start(client)
    code = await latest_code(client, TO)
    for _ in range(5):
        await check(client, wrong(code))
    for _ in range(3):
        assert (await check(client, wrong(code))).status_code == 429


async def test_code_expires_after_its_ttl(make_client: ClientFactory) -> None:
    async with make_client(code_ttl=0.3) as client:
        sent = (await start(client)).json()
        code = await latest_code(client, TO)
        await asyncio.sleep(0.4)  # the TTL is 0.3 s; Redis' clock decides
        expired = await check(client, code, id=sent["id"])
        assert expired.status_code == 410
        assert expired.json()["code"] == "verification_expired"
        assert (await check(client, code)).status_code == 410  # by number too
        shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
        assert shown["status"] == "expired"
        # a new send after expiry starts a new verification
        fresh = (await start(client)).json()
        assert fresh["id"] != sent["id"] and fresh["sends"] == 1


async def test_record_is_kept_for_the_retention_then_gone(make_client: ClientFactory) -> None:
    async with make_client(code_ttl=0.2, retention=0.3) as client:
        sent = (await start(client)).json()
        await asyncio.sleep(0.3)
        assert (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()[
            "status"
        ] == "expired"
        await asyncio.sleep(0.4)
        gone = await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
        assert gone.status_code == 404


async def test_resend_within_cooldown_is_429_with_retry_after(make_client: ClientFactory) -> None:
    async with make_client(resend_cooldown=30) as client:
        first = (await start(client)).json()
        again = await start(client)
        assert again.status_code == 429
        assert again.json()["code"] == "resend_cooldown"
        assert 28 <= int(again.headers["retry-after"]) <= 30
        assert again.json()["verification_id"] == first["id"]
        outbox = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
        assert len(outbox) == 1  # no second SMS


async def test_resend_after_cooldown_sends_a_new_code(make_client: ClientFactory) -> None:
    async with make_client(resend_cooldown=0.3) as client:
        first = (await start(client)).json()
        await asyncio.sleep(0.35)
        resent = await start(client)
        assert resent.status_code == 201
        assert resent.json()["id"] == first["id"] and resent.json()["sends"] == 2


async def test_replace_policy_only_newest_code_works(client: AsyncTestClient[Any]) -> None:
    await start(client)
    old = await latest_code(client, TO)
    await start(client)
    new = await latest_code(client, TO)
    if old == new:
        pytest.skip("the two random codes happen to be equal")
    stale = await check(client, old)
    assert stale.json()["valid"] is False
    assert (await check(client, new)).json()["status"] == "approved"


async def test_keep_policy_every_unexpired_code_works(make_client: ClientFactory) -> None:
    async with make_client(apps={"default": {"resend_policy": "keep"}}) as client:
        await start(client)
        old = await latest_code(client, TO)
        await start(client)
        assert (await check(client, old)).json()["status"] == "approved"


async def test_keep_policy_old_code_expires_on_its_own(make_client: ClientFactory) -> None:
    # margins of 0.6 s: two checks took 0.6 s once on two loaded cores
    async with make_client(code_ttl=1.5, apps={"default": {"resend_policy": "keep"}}) as client:
        await start(client)
        old = await latest_code(client, TO)
        await asyncio.sleep(0.9)
        await start(client)  # new code, valid 1.5 s from now
        new = await latest_code(client, TO)
        await asyncio.sleep(0.9)  # the old code is now 1.8 s old
        if old != new:
            assert (await check(client, old)).json()["valid"] is False
        assert (await check(client, new)).json()["status"] == "approved"


async def test_max_sends_per_verification(make_client: ClientFactory) -> None:
    async with make_client(max_sends=3) as client:
        for n in range(1, 4):
            sent = await start(client)
            assert sent.status_code == 201 and sent.json()["sends"] == n
        assert sent.json()["sends_remaining"] == 0
        refused = await start(client)
        assert refused.status_code == 429
        assert refused.json()["code"] == "max_sends_reached"


async def test_code_for_one_purpose_never_approves_another(client: AsyncTestClient[Any]) -> None:
    login = (await start(client, purpose="login")).json()
    login_code = await latest_code(client, TO)
    reset = (await start(client, purpose="password_reset")).json()
    assert reset["id"] != login["id"]
    reset_code = await latest_code(client, TO)
    if login_code != reset_code:
        assert (await check(client, login_code, purpose="password_reset")).json()["valid"] is False
    assert (await check(client, reset_code, purpose="password_reset")).json()["valid"] is True
    assert (await check(client, login_code, purpose="login")).json()["valid"] is True


async def test_cancel_stops_the_code(client: AsyncTestClient[Any]) -> None:
    sent = (await start(client)).json()
    code = await latest_code(client, TO)
    canceled = await client.post(f"/v1/verifications/{sent['id']}/cancel", headers=AUTH)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert (await check(client, code)).status_code == 404
    again = await client.post(f"/v1/verifications/{sent['id']}/cancel", headers=AUTH)
    assert again.json()["status"] == "canceled"
    # a new send is a new verification, not a resend of the canceled one
    assert (await start(client)).json()["id"] != sent["id"]


async def test_cancel_of_an_approved_verification_is_409(client: AsyncTestClient[Any]) -> None:
    sent = (await start(client)).json()
    await check(client, await latest_code(client, TO))
    refused = await client.post(f"/v1/verifications/{sent['id']}/cancel", headers=AUTH)
    assert refused.status_code == 409
    assert refused.json()["code"] == "verification_not_pending"


async def test_unknown_verification_is_404(client: AsyncTestClient[Any]) -> None:
    for path in ("/v1/verifications/ver_00000000000000000000000000", "/v1/verifications/nope"):
        response = await client.get(path, headers=AUTH)
        assert response.status_code == 404
        assert response.json()["code"] == "verification_not_found"
    never = await check(client, "123456")
    assert never.status_code == 404


async def test_one_app_cannot_see_another_apps_verification(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    sent = (await start(client)).json()
    other_key, _ = await ApiKeyStore(redis).create("other-app", ["verify"])
    other = {"Authorization": f"Bearer {other_key}"}
    assert (await client.get(f"/v1/verifications/{sent['id']}", headers=other)).status_code == 404
    code = await latest_code(client, TO)
    by_id = await client.post(
        "/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=other
    )
    assert by_id.status_code == 404
    by_number = await client.post(
        "/v1/verifications/check", json={"to": TO, "code": code}, headers=other
    )
    assert by_number.status_code == 404
    assert (await check(client, code)).json()["status"] == "approved"


async def test_code_length_is_configurable(make_client: ClientFactory) -> None:
    async with make_client(code_length=8) as client:
        await start(client)
        assert len(await latest_code(client, TO)) == 8


async def test_a_custom_code_only_for_an_app_that_allows_it(make_client: Any) -> None:
    from tests.conftest import latest_code

    async with make_client() as client:
        refused = await client.post(
            "/v1/verifications", json={"to": "+8613800138000", "custom_code": "135790"},
            headers=AUTH,
        )  # fmt: skip
        assert refused.status_code == 400 and "custom_code" in refused.json()["detail"]
    async with make_client(apps={"default": {"custom_code_enabled": True}}) as client:
        sent = await client.post(
            "/v1/verifications", json={"to": "+8613800138000", "custom_code": "135790"},
            headers=AUTH,
        )  # fmt: skip
        assert sent.status_code == 201
        assert await latest_code(client, "+8613800138000") == "135790"
        checked = await client.post(
            "/v1/verifications/check", json={"id": sent.json()["id"], "code": "135790"},
            headers=AUTH,
        )  # fmt: skip
        assert checked.json()["status"] == "approved"
