"""Fallback plans end to end: a message without a receipt is followed by the plan's next
step (another channel, or the next SMS provider), once, across instances, within the
send budget; a receipt, an approval, a resend by the client or a spent budget ends it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.settings import ConfigError, load_settings
from app.signatures import signature_header
from app.store.fallbacks import FallbackStore
from app.store.keys import Keys
from app.store.outcomes import NewRecord
from app.store.redis import Scripts
from app.store.verifications import VerificationStore
from app.verify import fallback
from tests.conftest import API_KEY, AUTH, SettingsFactory, latest_code
from tests.dashboard.signing import sign_in
from tests.providers.test_routing import provider, running
from tests.stubs.http_gateway import SECRET as GATEWAY_SECRET

# The tests marked `topologies` run on Cluster and Sentinel too: the due set and the
# plans live in other slots than the records.
TO = "+8613800138000"
SMS_THEN_VOICE = [{"channel": "sms", "wait": 0.5}, {"channel": "voice"}]
#: For the tests that act before the wait ends.
LATER_VOICE = [{"channel": "sms", "wait": 2}, {"channel": "voice"}]


@pytest.fixture(autouse=True)
def _quick_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker looks for due steps every 0.05 s here (0.5 s in service)."""
    monkeypatch.setattr(fallback, "POLL_SECONDS", 0.05)


async def _outbox(client: AsyncTestClient[Any], to: str = TO) -> list[dict[str, Any]]:
    response = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    assert response.status_code == 200, response.text
    return list(response.json())


async def _shown(client: AsyncTestClient[Any], verification_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/verifications/{verification_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _until(check: Any, seconds: float = 6.0) -> None:
    """Wait until ``await check()`` is true (the worker polls twice a second)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _messages(client: AsyncTestClient[Any], verification_id: str) -> list[dict[str, Any]]:
    return list((await _shown(client, verification_id))["messages"])


async def _send(client: AsyncTestClient[Any], to: str = TO, **body: Any) -> dict[str, Any]:
    sent = await client.post("/v1/verifications", json={"to": to, **body}, headers=AUTH)
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


@pytest.mark.topologies
async def test_no_receipt_sends_the_next_step_on_its_channel_and_both_codes_work(
    make_client: Any, redis: Redis
) -> None:
    async with make_client(apps={"default": {"fallback": SMS_THEN_VOICE}}) as client:
        sent = await _send(client)
        sms_code = await latest_code(client, TO)
        await _until(lambda: _count(client, sent["id"], 2))
        first, second = await _messages(client, sent["id"])
        waited = datetime.fromisoformat(second["created_at"]) - datetime.fromisoformat(
            first["created_at"]
        )
        assert waited.total_seconds() >= 0.5  # the plan's wait, not at once
        assert (first["channel"], first["fallback"]) == ("sms", None)
        assert (second["channel"], second["fallback"]) == ("voice", "no_receipt")
        assert second["status"] == "sent" and second["provider"] == "outbox"
        outbox = await _outbox(client)
        assert [m["channel"] for m in outbox] == ["voice", "sms"]  # newest first
        voice_code = "".join(ch for ch in outbox[0]["text"] if ch.isdigit())
        assert voice_code != sms_code
        # the operator's delivery page shows the step for what it is
        client.follow_redirects = False
        assert (await sign_in(client, API_KEY)).status_code == 303
        page = await client.get(f"/dashboard/delivery?app=default&id={sent['id']}")
        assert "voice via outbox" in page.text and "fallback step (no receipt)" in page.text
        assert page.text.count("fallback step") == 1
        # the plan is over: nothing of it is left in Redis, and no third message comes
        assert not await redis.exists(Keys.fallback(sent["id"]))
        assert await redis.zscore(Keys.FALLBACK_DUE, sent["id"]) is None
        await asyncio.sleep(0.8)
        assert len(await _messages(client, sent["id"])) == 2
        # a late SMS still works: a step keeps the codes before it
        check = await client.post(
            "/v1/verifications/check", json={"id": sent["id"], "code": sms_code}, headers=AUTH
        )
        assert check.json()["status"] == "approved", check.text


async def _count(client: AsyncTestClient[Any], verification_id: str, n: int) -> bool:
    """Whether message ``n`` is there and recorded (a step's message reads ``queued``
    between the send script and the provider's answer)."""
    messages = await _messages(client, verification_id)
    return len(messages) >= n and messages[n - 1]["status"] != "queued"


async def test_a_waiting_plan_keeps_the_number_only_sealed(make_client: Any, redis: Redis) -> None:
    plan = [{"channel": "sms", "wait": 60}, {"channel": "voice"}]
    async with make_client(apps={"default": {"fallback": plan}}) as client:
        sent = await _send(client)
        waiting = await redis.hgetall(Keys.fallback(sent["id"]))
        assert set(waiting) == {"t", "s", "n", "d"}
        ttl = await redis.pttl(Keys.fallback(sent["id"]))
        assert 0 < ttl <= 300_000  # no longer than the code lives
        digits = TO.lstrip("+")
        for key in await redis.keys("*"):
            if key.startswith(Keys.DEV_PREFIX):
                continue  # the dev outbox shows messages by design
            dumped = await redis.dump(key)
            assert digits[-8:].encode() not in (dumped or b""), key


async def test_an_approval_before_the_wait_ends_the_plan(make_client: Any, redis: Redis) -> None:
    async with make_client(apps={"default": {"fallback": LATER_VOICE}}) as client:
        sent = await _send(client)
        code = await latest_code(client, TO)
        check = await client.post(
            "/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=AUTH
        )
        assert check.json()["status"] == "approved"
        await _until(lambda: _gone(redis, sent["id"]))
        assert len(await _messages(client, sent["id"])) == 1
        assert [m["channel"] for m in await _outbox(client)] == ["sms"]


async def _gone(redis: Redis, verification_id: str) -> bool:
    in_set = await redis.zscore(Keys.FALLBACK_DUE, verification_id) is not None
    return not in_set and not await redis.exists(Keys.fallback(verification_id))


async def test_a_resend_by_the_client_ends_the_plan(make_client: Any, redis: Redis) -> None:
    async with make_client(apps={"default": {"fallback": LATER_VOICE}}) as client:
        sent = await _send(client)
        again = await _send(client)
        assert again["id"] == sent["id"]
        await _until(lambda: _gone(redis, sent["id"]))
        assert [m["channel"] for m in await _messages(client, sent["id"])] == ["sms", "sms"]


async def test_a_spent_send_budget_sends_no_step(make_client: Any, redis: Redis) -> None:
    settings = {"max_sends": 1, "apps": {"default": {"fallback": SMS_THEN_VOICE}}}
    async with make_client(**settings) as client:
        sent = await _send(client)
        await _until(lambda: _gone(redis, sent["id"]))
        assert len(await _messages(client, sent["id"])) == 1
        assert [m["channel"] for m in await _outbox(client)] == ["sms"]


async def test_an_opted_out_number_gets_no_step(make_client: Any, redis: Redis) -> None:
    async with make_client(apps={"default": {"fallback": SMS_THEN_VOICE}}) as client:
        sent = await _send(client)
        subject = Keys.subject_of(sent["id"])
        await redis.set(Keys.opt_out(subject), "1")  # as a STOP texted meanwhile would
        await _until(lambda: _gone(redis, sent["id"]))
        assert len(await _messages(client, sent["id"])) == 1


async def test_a_plan_starts_only_on_its_first_channel(make_client: Any, redis: Redis) -> None:
    async with make_client(apps={"default": {"fallback": SMS_THEN_VOICE}}) as client:
        sent = await _send(client, channel="voice")
        assert await redis.zscore(Keys.FALLBACK_DUE, sent["id"]) is None
        await asyncio.sleep(0.8)
        assert len(await _messages(client, sent["id"])) == 1


async def test_three_steps_follow_each_other(make_client: Any, redis: Redis) -> None:
    plan = [{"channel": "sms", "wait": 0.5}, {"channel": "whatsapp", "wait": 0.5},
            {"channel": "voice"}]  # fmt: skip
    async with make_client(apps={"default": {"fallback": plan}}) as client:
        sent = await _send(client)
        await _until(lambda: _count(client, sent["id"], 3), seconds=8)
        messages = await _messages(client, sent["id"])
        assert [m["channel"] for m in messages] == ["sms", "whatsapp", "voice"]
        assert [m["fallback"] for m in messages] == [None, "no_receipt", "no_receipt"]
        await _until(lambda: _gone(redis, sent["id"]))


@contextlib.asynccontextmanager
async def _gateways(
    make_settings: SettingsFactory, **app: Any
) -> AsyncIterator[tuple[AsyncTestClient[Any], list[Any]]]:
    """An app whose SMS route is two ``http`` gateways (``gw1`` first), each its stub."""
    with running("http") as (one, url1), running("http") as (two, url2):
        settings = make_settings(
            providers={"gw1": provider("http", url1), "gw2": provider("http", url2)},
            routes={"default": ["gw1", "gw2"]},
            apps={"default": app},
        )
        async with AsyncTestClient(create_app(settings)) as client:
            yield client, [one, two]


def _signed(report: Any) -> dict[str, Any]:
    body = json.dumps(report).encode()
    header = signature_header(GATEWAY_SECRET, int(time.time()), body)
    return {"content": body, "headers": {"Content-Type": "application/json",
                                         "Otpgate-Signature": header}}  # fmt: skip


async def test_resend_on_no_receipt_goes_to_the_next_sms_provider(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    async with _gateways(make_settings, resend_on_no_receipt=0.5) as (client, (one, two)):
        sent = await _send(client)
        assert (len(one.received), len(two.received)) == (1, 0)
        await _until(lambda: _count(client, sent["id"], 2))
        first, second = await _messages(client, sent["id"])
        assert (first["provider"], second["provider"]) == ("gw1", "gw2"), second
        assert (second["channel"], second["fallback"]) == ("sms", "no_receipt")
        assert (len(one.received), len(two.received)) == (1, 1)
        await _until(lambda: _gone(redis, sent["id"]))


async def test_a_delivered_report_ends_the_plan(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    async with _gateways(make_settings, resend_on_no_receipt=2) as (client, (_, two)):
        path = client.app.state.services.deliveries.callback_path("gw1")
        sent = await _send(client)
        pmid = sent["message"]["provider_message_id"]
        reply = await client.post(path, **_signed({"id": pmid, "status": "delivered"}))
        assert reply.status_code == 204
        await _until(lambda: _gone(redis, sent["id"]))
        assert len(await _messages(client, sent["id"])) == 1
        assert len(two.received) == 0


@pytest.mark.topologies
async def test_an_undelivered_report_sends_the_step_before_the_wait(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    plan = [{"channel": "sms", "wait": 60}, {"channel": "sms"}]
    async with _gateways(make_settings, fallback=plan) as (client, _):
        path = client.app.state.services.deliveries.callback_path("gw1")
        sent = await _send(client)
        pmid = sent["message"]["provider_message_id"]
        report = {"id": pmid, "status": "undelivered", "error_code": "E_ABSENT"}
        assert (await client.post(path, **_signed(report))).status_code == 204
        await _until(lambda: _count(client, sent["id"], 2), seconds=3)
        second = (await _messages(client, sent["id"]))[1]
        assert (second["provider"], second["fallback"]) == ("gw2", "undelivered")


@pytest.mark.topologies
async def test_two_instances_send_each_step_once(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    settings = make_settings(apps={"default": {"fallback": SMS_THEN_VOICE}})
    numbers = [f"+861380013{n:04d}" for n in range(8)]
    async with (
        AsyncTestClient(create_app(settings)) as one,
        AsyncTestClient(create_app(settings)) as two,
    ):
        sent = [await _send(one if n % 2 else two, to) for n, to in enumerate(numbers)]
        for verification in sent:
            await _until(lambda v=verification: _count(one, v["id"], 2))
        await asyncio.sleep(0.8)  # a second step would have come by now
        for verification, to in zip(sent, numbers, strict=True):
            assert [m["channel"] for m in await _messages(one, verification["id"])] == [
                "sms", "voice",
            ]  # fmt: skip
            assert [m["channel"] for m in await _outbox(one, to)] == ["voice", "sms"]


@pytest.mark.topologies
async def test_a_claim_is_one_instance_s_until_its_lease_ends(redis: Redis) -> None:
    scripts = Scripts(redis)
    store = FallbackStore(scripts)
    past = int(time.time() * 1000) - 1000
    batch = scripts.batch()
    for n in range(20):
        batch.command("ZADD", Keys.FALLBACK_DUE, past, f"ver_claim{n}")
    await batch.run()
    claims = await asyncio.gather(*(store.claim(50, 400) for _ in range(4)))
    taken = [vid for _, ids in claims for vid in ids if vid.startswith("ver_claim")]
    assert sorted(taken) == sorted(f"ver_claim{n}" for n in range(20))  # each once
    assert [vid for vid in (await store.claim(50, 400))[1] if vid.startswith("ver_claim")] == []
    await asyncio.sleep(0.5)  # the claimer died: the lease ran out
    _, again = await store.claim(50, 400)
    assert len([vid for vid in again if vid.startswith("ver_claim")]) == 20
    await redis.delete(Keys.FALLBACK_DUE)


@pytest.mark.topologies
async def test_the_same_step_sent_twice_goes_once(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    """Two instances with the same claimed step (one whose lease ran out while it still
    worked): the send script's step check lets one through."""
    settings = make_settings(apps={"default": {"fallback": SMS_THEN_VOICE}})
    async with AsyncTestClient(create_app(settings)) as client:
        sent = await _send(client)
    keys = Keys(settings.secret_pepper)
    store = VerificationStore(Scripts(redis), keys)
    number = keys.number(TO)
    subject, lookup = keys.subject("default", number), keys.lookup("default", number, "login")
    record = NewRecord("default", "login", "+86138****8000", "CN", "voice", "en", lookup)

    async def step(n: int) -> Any:
        batch = store.batch()
        index = store.queue_send(
            batch, subject, record, expected=sent["id"], verification_id=sent["id"],
            code_hash=f"hash{n}", params="1,8,1", message_id=f"msg_step{n}",
            policy=settings.policy_for("default"), retention_ms=60_000, throttle=None,
            channel="voice", step=1,
        )  # fmt: skip
        return store.read_send((await batch.run())[index], None)

    outcomes = await asyncio.gather(*(step(n) for n in range(4)))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict"] * 3 + ["Sent"]
    fields = await redis.hgetall(Keys.verification(sent["id"]))
    assert fields["N"] == "2" and "c1" in fields and "c2" in fields  # the first code kept


@pytest.mark.parametrize(
    ("app", "says"),
    [
        ({"fallback": [{"channel": "sms", "wait": 5}]}, "two steps"),
        ({"fallback": [{"channel": "sms"}, {"channel": "voice"}]}, "fallback[0] needs `wait`"),
        ({"fallback": SMS_THEN_VOICE, "resend_on_no_receipt": 5}, "not both"),
        ({"fallback": [{"channel": "email", "wait": 5}, {"channel": "sms"}]}, "channel"),
        ({"resend_on_no_receipt": 0}, "resend_on_no_receipt"),
    ],
)
def test_a_wrong_plan_is_refused_at_start(app: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings({}, overrides={"env": "test", "apps": {"default": app}})


async def test_each_step_is_an_event_for_the_app(make_client: Any, redis: Redis) -> None:
    app = {
        "fallback": SMS_THEN_VOICE, "events_url": "http://127.0.0.1:9/events",
        "events_secret": "not-a-real-secret-but-as-long-as-one", "events_allow_private": True,
    }  # fmt: skip
    async with make_client(apps={"default": app}) as client:
        sent = await _send(client)
        await _until(lambda: _count(client, sent["id"], 2))
        second = (await _messages(client, sent["id"]))[1]
        events = [json.loads(fields["event"]) for _, fields in await redis.xrange(Keys.EVENTS)]
        events += [json.loads(member) for member in await redis.zrange(Keys.EVENTS_RETRY, 0, -1)]
        (step,) = [e for e in events if e["type"] == "message.fallback"]
        assert step["data"] == {
            "verification_id": sent["id"], "message_id": second["id"], "step": 1,
            "reason": "no_receipt", "channel": "voice", "provider": "outbox", "status": "sent",
        }  # fmt: skip


async def test_a_plan_that_cannot_be_opened_ends_and_the_others_go_on(
    make_client: Any, redis: Redis
) -> None:
    async with make_client(apps={"default": {"fallback": SMS_THEN_VOICE}}) as client:
        broken, fine = await _send(client), await _send(client, "+8613800138001")
        await redis.hset(Keys.fallback(broken["id"]), "t", "c29tZXRoaW5nIGVsc2U")
        await _until(lambda: _count(client, fine["id"], 2))
        await _until(lambda: _gone(redis, broken["id"]))
        assert len(await _messages(client, broken["id"])) == 1


def test_a_plan_step_on_a_channel_without_a_route_is_refused_in_prod() -> None:
    prod = {
        "env": "prod", "pepper": "p" * 32, "routes": {"default": ["gw"]},
        "providers": {"gw": provider("http", "https://gateway.example")},
    }  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape("voice has no route here")):
        load_settings({}, overrides={**prod, "apps": {"default": {"fallback": SMS_THEN_VOICE}}})
    sms_only = {"default": {"resend_on_no_receipt": 30}}
    assert load_settings({}, overrides={**prod, "apps": sms_only}).policy_for("default").fallback
