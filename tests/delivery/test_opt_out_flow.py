"""Opt-out end to end, over real HTTP on loopback: a send works, the person texts STOP
to the provider, which calls the app's inbound URL as it does (signed where it signs),
the next send answers ``403 number_opted_out`` and nothing reaches the outbox; START
undoes it, other words change nothing, admins list and clear opt-outs of their own app."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from redis.asyncio import Redis

from app.providers.twilio import twilio_signature
from app.providers.vonage import signature as vonage_signature
from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory, redis_snapshot
from tests.delivery.test_events import Receiver, app_settings
from tests.providers import test_twilio, test_vonage
from tests.providers.test_routing import provider
from tests.stubs.loopback import closed_port_url, serve

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
OTHER = "+8613912345678"
KINDS = ("aliyun", "tencent", "twilio", "vonage")


def accounts() -> dict[str, Any]:
    """The four vendors' accounts (never called: sends go to the outbox); Vonage's signs."""
    url = closed_port_url()
    vonage = {"signature_secret": test_vonage.SIGNATURE_SECRET, "signature_method": "sha256"}
    return {
        "providers": {kind: provider(kind, url, **(vonage if kind == "vonage" else {}))
                      for kind in KINDS},
        "routes": {"default": ["outbox"]},
    }  # fmt: skip


def _aliyun(url: str, text: str, number: str, secret: str | None) -> dict[str, Any]:
    body = [{"phone_number": number.removeprefix("+86"), "send_time": "2026-11-25 21:12:29",
             "content": text, "sign_name": "otpgate", "dest_code": "1234",
             "sequence_id": 1234567890}]  # fmt: skip
    return {"method": "POST", "url": url, "json": body}


def _tencent(url: str, text: str, number: str, secret: str | None) -> dict[str, Any]:
    body = {"extend": "", "mobile": number.removeprefix("+86"), "nationcode": "86",
            "sign": "otpgate", "text": text, "time": int(time.time())}  # fmt: skip
    return {"method": "POST", "url": url, "json": body}


def _twilio(url: str, text: str, number: str, secret: str | None) -> dict[str, Any]:
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": test_twilio.ACCOUNT_SID,
            "From": number, "To": "+15005550006", "Body": text, "NumMedia": "0",
            "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}  # fmt: skip
    signed = twilio_signature(secret or test_twilio.AUTH_TOKEN, url, form)
    return {"method": "POST", "url": url, "data": form, "headers": {"X-Twilio-Signature": signed}}


def _vonage(url: str, text: str, number: str, secret: str | None) -> dict[str, Any]:
    fields = {"msisdn": number.lstrip("+"), "to": "447700900000", "messageId": uuid.uuid4().hex,
              "text": text, "type": "unicode", "keyword": text.split(" ")[0].upper(),
              "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
              "timestamp": str(int(time.time())), "nonce": str(uuid.uuid4())}  # fmt: skip
    fields["sig"] = vonage_signature(fields, secret or test_vonage.SIGNATURE_SECRET, "sha256")
    return {"method": "GET", "url": f"{url}?{urlencode(fields)}"}


BUILDERS = {"aliyun": _aliyun, "tencent": _tencent, "twilio": _twilio, "vonage": _vonage}


def inbound_request(
    kind: str, url: str, text: str, number: str = TO, *, secret: str | None = None
) -> dict[str, Any]:
    """What ``kind`` sends to ``url`` when ``number`` texts ``text``, signed as it signs
    (with ``secret`` in place of the account's, to forge it): a POST of JSON (Alibaba,
    Tencent), of a form (Twilio), a GET query (Vonage)."""
    return BUILDERS[kind](url, text, number, secret)


REPLIES = {
    "aliyun": (200, {"code": 0, "msg": "接收成功"}),
    "tencent": (200, {"result": 0, "errmsg": "OK"}),
    "twilio": (200, None),
    "vonage": (204, None),
}


async def state(redis: Redis) -> dict[str, Any]:
    """Every key but the API keys' last use, which the admin reads record off the path."""
    snapshot = await redis_snapshot(redis)
    snapshot.pop(Keys.API_KEY_LAST_USED, None)
    return snapshot


async def inbound_paths(client: httpx.AsyncClient, app: str = "default") -> dict[str, str]:
    listed = await client.get(f"/v1/apps/{app}/opt-outs", headers=AUTH)
    assert listed.status_code == 200, listed.text
    paths: dict[str, str] = listed.json()["inbound_paths"]
    return paths


async def text_in(
    client: httpx.AsyncClient, kind: str, text: str, number: str = TO, app: str = "default"
) -> httpx.Response:
    """``number`` texts ``text`` to ``kind``'s number, which calls ``app``'s inbound URL."""
    path = (await inbound_paths(client, app))[kind]
    request = inbound_request(kind, str(client.base_url).rstrip("/") + path, text, number)
    reply = await client.request(**request)
    status, body = REPLIES[kind]
    assert reply.status_code == status, reply.text
    if body is not None:
        assert reply.json() == body
    if kind == "twilio":
        assert reply.text.endswith("<Response></Response>")
    return reply


async def send(client: httpx.AsyncClient, to: str = TO, **headers: str) -> httpx.Response:
    return await client.post("/v1/verifications", json={"to": to}, headers=headers or AUTH)


async def outbox(client: httpx.AsyncClient, to: str = TO) -> int:
    messages = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    return len(messages.json())


@pytest.mark.parametrize("kind", KINDS)
async def test_stop_refuses_the_next_send_and_start_restores_it(
    make_live_client: ClientFactory, kind: str
) -> None:
    async with make_live_client(**accounts()) as client:
        assert (await send(client)).status_code == 201
        await text_in(client, kind, "STOP" if kind not in {"aliyun", "tencent"} else "退订")
        refused = await send(client)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "number_opted_out"
        assert await outbox(client) == 1  # nothing went out
        assert (await send(client, OTHER)).status_code == 201  # other numbers still get codes
        await text_in(client, kind, "start")
        assert (await send(client)).status_code == 201
        assert await outbox(client) == 2


@pytest.mark.parametrize("text", ["stop texting me", "hello", "STOPP", "12345", "", "HELP"])
async def test_other_words_change_nothing(
    make_live_client: ClientFactory, redis: Redis, text: str
) -> None:
    async with make_live_client(**accounts()) as client:
        await send(client)
        before = await state(redis)
        await text_in(client, "twilio", text)
        assert await state(redis) == before
        assert (await send(client)).status_code == 201


async def test_words_are_the_app_s_own(make_live_client: ClientFactory) -> None:
    settings = accounts() | {"abuse": {"stop_words": ["ARRET"], "start_words": ["REPRENDRE"]}}
    async with make_live_client(**settings) as client:
        await text_in(client, "vonage", "STOP")
        assert (await send(client)).status_code == 201
        await text_in(client, "vonage", " Arret! ")
        assert (await send(client)).json()["code"] == "number_opted_out"
        await text_in(client, "vonage", "reprendre")
        assert (await send(client)).status_code == 201


async def test_the_last_word_of_a_batch_counts(make_live_client: ClientFactory) -> None:
    async with make_live_client(**accounts()) as client:
        path = (await inbound_paths(client))["aliyun"]
        pushed = [
            {"phone_number": "13800138000", "content": "TD", "sequence_id": 1},
            {"phone_number": "13912345678", "content": "TD", "sequence_id": 2},
            {"phone_number": "13800138000", "content": "START", "sequence_id": 3},
        ]
        assert (await client.post(path, json=pushed)).status_code == 200
        assert (await send(client)).status_code == 201
        assert (await send(client, OTHER)).json()["code"] == "number_opted_out"


@pytest.mark.parametrize("kind", ["twilio", "vonage"])
async def test_a_forged_signature_is_401_and_opts_nobody_out(
    make_live_client: ClientFactory, redis: Redis, kind: str
) -> None:
    async with make_live_client(**accounts()) as client:
        path = (await inbound_paths(client))[kind]
        before = await state(redis)
        url = str(client.base_url).rstrip("/") + path
        forged = await client.request(**inbound_request(kind, url, "STOP", secret="forged"))
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_signature"
        assert await state(redis) == before
        assert (await send(client)).status_code == 201


@pytest.mark.parametrize("kind", KINDS)
async def test_a_wrong_token_is_403_and_opts_nobody_out(
    make_live_client: ClientFactory, redis: Redis, kind: str
) -> None:
    async with make_live_client(**accounts(), apps={"shop": {}}) as client:
        paths = await inbound_paths(client)
        shop = (await inbound_paths(client, "shop"))[kind]
        base = str(client.base_url).rstrip("/")
        before = await state(redis)
        for path in (
            paths[kind][:-4] + "0000",  # a wrong token
            shop.replace("/shop/", "/default/"),  # another app's token
            paths[kind].replace(f"/{kind}/", "/twilio/" if kind != "twilio" else "/vonage/"),
        ):
            wrong = await client.request(**inbound_request(kind, base + path, "STOP"))
            assert wrong.status_code == 403, (path, wrong.text)
            assert wrong.json()["code"] == "callback_forbidden"
        assert await state(redis) == before
        unknown = await client.post(paths[kind].replace(f"/{kind}/", "/nowhere/"), json=[])
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'[{"content": "TD"}]', b'{"phone_number": "1"}', b"[" * 5000],
)
async def test_an_unreadable_inbound_push_is_400_and_changes_nothing(
    make_live_client: ClientFactory, redis: Redis, body: bytes
) -> None:
    async with make_live_client(**accounts()) as client:
        path = (await inbound_paths(client))["aliyun"]
        before = await state(redis)
        answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_request"
        assert await state(redis) == before


async def test_a_stop_from_no_valid_number_is_acknowledged_and_ignored(
    make_live_client: ClientFactory, redis: Redis
) -> None:
    async with make_live_client(**accounts()) as client:
        before = await state(redis)
        await text_in(client, "tencent", "TD", number="+86123")
        assert await state(redis) == before


async def test_admins_list_opt_outs_masked_and_clearing_one_restores_sends(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(**accounts()) as client:
        await text_in(client, "tencent", "TD")
        await text_in(client, "twilio", "STOP", number=OTHER)
        await text_in(client, "twilio", "STOP", number=OTHER)  # again: one entry, the first
        listed = (await client.get("/v1/apps/default/opt-outs", headers=AUTH)).json()
        assert listed["next_cursor"] is None
        entries = {entry["number"]: entry for entry in listed["opt_outs"]}
        assert set(entries) == {"+86138****8000", "+86139****5678"}
        first = entries["+86138****8000"]
        assert (first["provider"], first["keyword"], first["country"]) == ("tencent", "td", "CN")
        assert first["id"].startswith("opt_") and time.time() - first["opted_out_at"] < 60
        assert "13800138000" not in json.dumps(listed)
        cleared = await client.delete(f"/v1/apps/default/opt-outs/{first['id']}", headers=AUTH)
        assert cleared.status_code == 200 and cleared.json() == first
        assert (await send(client)).status_code == 201
        again = await client.delete(f"/v1/apps/default/opt-outs/{first['id']}", headers=AUTH)
        assert again.status_code == 404 and again.json()["code"] == "opt_out_not_found"
        by_number = await client.post(
            "/v1/apps/default/opt-outs/remove", json={"number": OTHER}, headers=AUTH
        )
        assert by_number.status_code == 200 and by_number.json()["number"] == "+86139****5678"
        assert (await send(client, OTHER)).status_code == 201
        gone = await client.post(
            "/v1/apps/default/opt-outs/remove", json={"number": OTHER}, headers=AUTH
        )
        assert gone.status_code == 404
        listed = (await client.get("/v1/apps/default/opt-outs", headers=AUTH)).json()
        assert listed["opt_outs"] == []


async def test_the_list_pages_with_a_cursor(make_live_client: ClientFactory) -> None:
    async with make_live_client(**accounts()) as client:
        path = (await inbound_paths(client))["aliyun"]
        pushed = [{"phone_number": f"1380013{n:04d}", "content": "TD"} for n in range(300)]
        assert (await client.post(path, json=pushed)).status_code == 200
        seen: list[str] = []
        cursor: str | None = "0"
        while cursor is not None:
            page = await client.get(
                "/v1/apps/default/opt-outs", params={"cursor": cursor, "limit": 50}, headers=AUTH
            )
            assert page.status_code == 200, page.text
            seen += [entry["id"] for entry in page.json()["opt_outs"]]
            cursor = page.json()["next_cursor"]
        assert len(set(seen)) == 300  # HSCAN may repeat an entry, never miss one
        for bad in ({"cursor": "-1"}, {"cursor": "x"}, {"limit": 0}, {"limit": 1001}):
            refused = await client.get("/v1/apps/default/opt-outs", params=bad, headers=AUTH)
            assert refused.status_code == 400, bad


async def test_an_app_s_opt_outs_are_its_own(make_live_client: ClientFactory) -> None:
    async with make_live_client(**accounts(), apps={"shop": {}}) as client:
        made = await client.post(
            "/v1/apps/shop/keys", json={"scopes": ["verify", "admin"]}, headers=AUTH
        )
        shop = {"Authorization": f"Bearer {made.json()['key']}"}
        await text_in(client, "twilio", "STOP", app="shop")
        assert (await send(client, **shop)).json()["code"] == "number_opted_out"
        assert (await send(client)).status_code == 201  # the default app still sends
        own = (await client.get("/v1/apps/shop/opt-outs", headers=shop)).json()["opt_outs"]
        assert [entry["number"] for entry in own] == ["+86138****8000"]
        assert (await client.get("/v1/apps/default/opt-outs", headers=AUTH)).json()[
            "opt_outs"
        ] == []
        other = await client.get("/v1/apps/default/opt-outs", headers=shop)
        assert other.status_code == 403
        stolen = await client.delete(f"/v1/apps/default/opt-outs/{own[0]['id']}", headers=AUTH)
        assert stolen.status_code == 404  # an operator, but the id is shop's, not default's
        by_operator = await client.delete(f"/v1/apps/shop/opt-outs/{own[0]['id']}", headers=AUTH)
        assert by_operator.status_code == 200
        assert (await send(client, **shop)).status_code == 201
        unknown = await client.get("/v1/apps/nowhere/opt-outs", headers=AUTH)
        assert unknown.status_code == 404 and unknown.json()["code"] == "app_not_found"


async def test_a_verify_key_may_not_see_opt_outs(make_live_client: ClientFactory) -> None:
    async with make_live_client(**accounts()) as client:
        made = await client.post("/v1/apps/default/keys", json={"scopes": ["verify", "read"]},
                                 headers=AUTH)  # fmt: skip
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        assert (await client.get("/v1/apps/default/opt-outs", headers=key)).status_code == 403
        removed = await client.post(
            "/v1/apps/default/opt-outs/remove", json={"number": TO}, headers=key
        )
        assert removed.status_code == 403


async def test_a_safe_number_is_opted_out_and_a_test_number_still_gets_its_code(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client(**accounts()) as client:
        for kind, body in (("safe", {"number": TO}), ("test", {"number": OTHER, "code": "246810"})):
            added = await client.post(f"/v1/apps/default/{kind}-numbers", json=body, headers=AUTH)
            assert added.status_code == 201, added.text
        await text_in(client, "twilio", "STOP", number=TO)
        await text_in(client, "twilio", "STOP", number=OTHER)
        assert (await send(client)).json()["code"] == "number_opted_out"  # the person asked
        tested = await send(client, OTHER)  # no SMS goes to a test number anyway
        assert tested.status_code == 201 and tested.json()["message"]["provider"] == "test_number"


async def test_a_refused_send_takes_nothing_of_the_number_s_throttle(
    make_live_client: ClientFactory,
) -> None:
    limits = {"send_per_number": ["3/hour"], "send_per_ip": ["3/hour"]}
    async with make_live_client(**accounts(), limits=limits) as client:
        await text_in(client, "aliyun", "退订")
        for _ in range(5):
            refused = await client.post(
                "/v1/verifications", json={"to": TO, "client_ip": "203.0.113.7"}, headers=AUTH
            )
            assert refused.json()["code"] == "number_opted_out"
        shown = await client.get(
            "/v1/limits", params={"to": TO, "client_ip": "203.0.113.7"}, headers=AUTH
        )
        assert {rule["rule"]: rule["remaining"] for rule in shown.json()["rules"]} == {
            "send_per_number": 3, "send_per_ip": 3, "wrong_checks_per_number": 20,
            "checks_per_ip": 100,
        }  # fmt: skip


async def test_stats_count_opt_outs_and_opt_ins(make_live_client: ClientFactory) -> None:
    async with make_live_client(**accounts()) as client:
        await text_in(client, "twilio", "STOP")
        await text_in(client, "twilio", "STOP")  # already out: counted once
        await text_in(client, "twilio", "START")
        await text_in(client, "vonage", "STOP", number=OTHER)
        await client.post("/v1/apps/default/opt-outs/remove", json={"number": OTHER}, headers=AUTH)
        stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
        assert (stats["total"]["opted_out"], stats["total"]["opted_in"]) == (2, 2)
        assert stats["by_provider"]["twilio"]["opted_out"] == 1
        assert stats["by_provider"]["twilio"]["opted_in"] == 1
        assert stats["by_country"]["CN"]["opted_out"] == 2


async def test_the_mark_lives_in_the_number_s_slot(
    make_live_client: ClientFactory, redis: Redis
) -> None:
    async with make_live_client(**accounts()) as client:
        sent = await send(client)
        await text_in(client, "twilio", "STOP")
        subject = Keys.subject_of(sent.json()["id"])
        mark = Keys.opt_out(subject)
        assert await redis.exists(mark) and await redis.ttl(mark) == -1  # until undone
        index = Keys.index(subject, "x")
        assert mark.split("}")[0] == index.split("}")[0]  # one hash tag: one script reads both


async def test_the_app_hears_of_each_opt_out_and_opt_in(make_live_client: ClientFactory) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        async with make_live_client(**accounts(), **app_settings(url)) as client:
            await text_in(client, "tencent", "退订")
            await receiver.wait_for(1)
            await client.post("/v1/apps/default/opt-outs/remove", json={"number": TO},
                              headers=AUTH)  # fmt: skip
            await receiver.wait_for(2)
    events = [json.loads(body) for _, body in receiver.received]
    assert [event["type"] for event in events] == ["number.opted_out", "number.opted_in"]
    out, back = (event["data"] for event in events)
    assert out == {"opt_out_id": out["opt_out_id"], "number": "+86138****8000",
                   "country": "CN", "provider": "tencent", "keyword": "退订"}  # fmt: skip
    assert back == out | {"keyword": None, "by": "bootstrap"}
    assert "13800138000" not in json.dumps(events)


async def test_clearing_by_number_removes_a_mark_the_list_lost(
    make_live_client: ClientFactory, redis: Redis
) -> None:
    # What a STOP and a START of one number at the same instant could leave on Cluster:
    # the mark (in the number's slot) without its entry in the app's list.
    async with make_live_client(**accounts()) as client:
        await text_in(client, "twilio", "STOP")
        await redis.delete(Keys.opt_outs("default"))
        assert (await send(client)).json()["code"] == "number_opted_out"
        cleared = await client.post(
            "/v1/apps/default/opt-outs/remove", json={"number": TO}, headers=AUTH
        )
        assert cleared.status_code == 200 and cleared.json()["number"] == "+86138****8000"
        assert (await send(client)).status_code == 201
