"""Approving a verification without its code (``POST /v1/verifications/{id}/approve``,
Twilio's ``Status=approved``): it ends the verification once, counts as an approval, and
its codes stop working; racing approvals and checks approve exactly once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.asgi import create_app
from app.twilio_verify.sids import service_sid, verification_sid
from tests.conftest import API_KEY, AUTH, ClientFactory, SettingsFactory, latest_code
from tests.delivery.test_events import Receiver, app_settings
from tests.stubs.loopback import serve
from tests.stubs.twilio_sdk import sdk_client

# The tests marked `topologies` (the atomic ones) run on Cluster and Sentinel too.

TO = "+8613800138000"


async def start(client: Any, to: str = TO) -> dict[str, Any]:
    sent = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


async def approve(client: Any, verification_id: str, headers: dict[str, str] = AUTH) -> Any:
    return await client.post(f"/v1/verifications/{verification_id}/approve", headers=headers)


async def check(client: Any, verification_id: str, code: str) -> Any:
    body = {"id": verification_id, "code": code}
    return await client.post("/v1/verifications/check", json=body, headers=AUTH)


async def approved_count(client: Any) -> int:
    stats = await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)
    return int(stats.json()["total"]["approved"])


@pytest.mark.topologies
async def test_an_approval_ends_the_verification_and_counts_as_one(
    client: AsyncTestClient[Any],
) -> None:
    sent = await start(client)
    code = await latest_code(client, TO)
    approved = await approve(client, sent["id"])
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["id"], body["status"], body["attempts_remaining"]) == (sent["id"], "approved", 0)
    assert body["resend_after"] is None and len(body["messages"]) == 1
    read = await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
    assert read.json()["status"] == "approved"
    stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
    assert (stats["total"]["approved"], stats["total"]["conversion_rate"]) == (1, 1.0)
    assert stats["by_country"]["CN"]["approved"] == 1
    assert stats["by_provider"]["outbox"]["approved"] == 1
    # its code no longer approves anything, and nothing counts twice
    late = await check(client, sent["id"], code)
    assert (late.status_code, late.json()["code"]) == (404, "verification_not_found")
    assert await approved_count(client) == 1
    # a new send is a new verification
    assert (await start(client))["id"] != sent["id"]


async def test_approving_a_finished_verification_is_409_and_changes_nothing(
    client: AsyncTestClient[Any],
) -> None:
    sent = await start(client)
    checked = await check(client, sent["id"], await latest_code(client, TO))
    assert checked.json()["status"] == "approved"
    again = await approve(client, sent["id"])
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["verification_status"]) == (
        "verification_not_pending", "approved",
    )  # fmt: skip
    other = await start(client, "+8613800138001")
    await client.post(f"/v1/verifications/{other['id']}/cancel", headers=AUTH)
    canceled = await approve(client, other["id"])
    assert (canceled.status_code, canceled.json()["verification_status"]) == (409, "canceled")
    shown = await client.get(f"/v1/verifications/{other['id']}", headers=AUTH)
    assert shown.json()["status"] == "canceled"
    assert await approved_count(client) == 1  # the check's only


async def test_approving_an_expired_verification_is_410(make_client: ClientFactory) -> None:
    async with make_client(code_ttl=0.3) as client:
        sent = await start(client)
        await asyncio.sleep(0.4)  # the TTL is 0.3 s; Redis' clock decides
        expired = await approve(client, sent["id"])
        assert (expired.status_code, expired.json()["code"]) == (410, "verification_expired")
        shown = await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
        assert shown.json()["status"] == "expired"
        assert await approved_count(client) == 0


async def test_an_approval_needs_the_verify_scope_and_the_app_s_own_verification(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    sent = await start(client)
    reader, _ = await ApiKeyStore(redis).create("default", ["read"])
    refused = await approve(client, sent["id"], {"Authorization": f"Bearer {reader}"})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    other, _ = await ApiKeyStore(redis).create("other", ["verify"])
    theirs = await approve(client, sent["id"], {"Authorization": f"Bearer {other}"})
    assert (theirs.status_code, theirs.json()["code"]) == (404, "verification_not_found")
    for unknown in ("ver_00000000000000000000000000", "nope"):
        missing = await approve(client, unknown)
        assert (missing.status_code, missing.json()["code"]) == (404, "verification_not_found")
    shown = await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
    assert shown.json()["status"] == "pending"


async def test_an_approval_emits_the_event_a_right_check_does(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        async with AsyncTestClient(create_app(make_settings(**app_settings(url)))) as client:
            sent = await start(client)
            assert (await approve(client, sent["id"])).status_code == 200
            await receiver.wait_for(1)
    event = json.loads(receiver.received[0][1])
    assert event["type"] == "verification.approved"
    assert event["data"] == {"verification_id": sent["id"], "status": "approved", "channel": "sms"}


@pytest.mark.topologies
async def test_concurrent_approvals_and_right_checks_approve_exactly_once(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(max_attempts=20) as client:
        sent = await start(client)
        code = await latest_code(client, TO)
        results = await asyncio.gather(
            *(approve(client, sent["id"]) for _ in range(10)),
            *(check(client, sent["id"], code) for _ in range(10)),
        )
        won = [r for r in results if r.status_code == 200 and r.json()["status"] == "approved"]
        assert len(won) == 1
        lost = {(r.status_code, r.json()["code"]) for r in results if r not in won}
        assert lost <= {(409, "verification_not_pending"), (404, "verification_not_found")}
        assert await approved_count(client) == 1  # a check's early count is taken back


@pytest.mark.topologies
@pytest.mark.parametrize("status", ["canceled", "approved"])
async def test_twilio_updates_racing_on_one_verification_one_wins(
    make_live_client: ClientFactory, status: str
) -> None:
    """Cancels (and approvals) at once: the script's answer decides, so one is 200 and
    every other finds the verification finished (20404), as Twilio's own do."""
    from twilio.base.exceptions import TwilioRestException

    async with make_live_client() as client:
        sent = await start(client)
        v2 = sdk_client(str(client.base_url).rstrip("/"), "bootstrap", API_KEY).verify.v2
        verification = v2.services(service_sid("default")).verifications(
            verification_sid(sent["id"])
        )

        def update() -> Any:
            try:
                return verification.update(status=status).status
            except TwilioRestException as exc:
                return (exc.status, exc.code)

        outcomes = await asyncio.gather(*(asyncio.to_thread(update) for _ in range(6)))
        assert sorted(outcomes, key=str) == sorted([status, *[(404, 20404)] * 5], key=str)
        shown = await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
        assert shown.json()["status"] == status
