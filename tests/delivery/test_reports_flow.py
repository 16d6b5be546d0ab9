"""Delivery reports end to end: a code sent through a provider's stub, the provider's
documented report for it posted to the callback URL, the timeline, stats and events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.providers.twilio import twilio_signature
from app.signatures import signature_header
from tests.conftest import AUTH, SettingsFactory
from tests.providers import (
    test_aliyun_reports,
    test_chuanglan_reports,
    test_cloopen_reports,
    test_huawei_reports,
    test_tencent_reports,
    test_twilio,
    test_twilio_reports,
    test_vonage_reports,
)
from tests.providers.test_routing import provider, running
from tests.stubs.http_gateway import SECRET as GATEWAY_SECRET

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
BASE = "http://testserver.local"

# provider type -> (method, content type, build(payload for this provider message id))
Payload = tuple[str, str, Callable[[str], bytes]]


def _json(doc: str | bytes, set_id: Callable[[Any, str], None]) -> Callable[[str], bytes]:
    def build(pmid: str) -> bytes:
        data = json.loads(doc)
        set_id(data, pmid)
        return json.dumps(data, ensure_ascii=False).encode()

    return build


def _query(doc: str | dict[str, str], field: str) -> Callable[[str], bytes]:
    def build(pmid: str) -> bytes:
        pairs = parse_qsl(doc) if isinstance(doc, str) else list(doc.items())
        return urlencode([(k, pmid if k == field else v) for k, v in pairs]).encode()

    return build


def _set_each(field: str) -> Callable[[Any, str], None]:
    def set_id(entries: Any, pmid: str) -> None:
        for entry in entries:
            entry[field] = pmid

    return set_id


def _set_cloopen(data: Any, pmid: str) -> None:
    data["Request"]["content"] = pmid


FORM = "application/x-www-form-urlencoded"
DOC_PAYLOADS: dict[str, Payload] = {
    "twilio": ("POST", FORM, _query({**test_twilio_reports.DOC_SENT, "MessageStatus": "delivered",
                                     "SmsStatus": "delivered"}, "MessageSid")),
    "vonage": ("GET", "", _query(test_vonage_reports.DOC_DLR, "messageId")),
    "aliyun": ("POST", "application/json",
               _json(test_aliyun_reports.DOC_REPORT, _set_each("biz_id"))),
    "tencent": ("POST", "application/json",
                _json(test_tencent_reports.DOC_CALLBACK, _set_each("sid"))),
    "huawei": ("POST", FORM, _query(test_huawei_reports.DOC_SUCCESS_BODY, "smsMsgId")),
    "chuanglan": ("GET", "", _query(test_chuanglan_reports.DOC_QUERY, "msgid")),
    "cloopen": ("POST", "application/json", _json(test_cloopen_reports.DOC_JSON, _set_cloopen)),
}  # fmt: skip


async def _send(client: AsyncTestClient[Any]) -> dict[str, Any]:
    sent = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


async def _callback(
    client: AsyncTestClient[Any], kind: str, path: str, pmid: str, **headers: str
) -> Any:
    method, content_type, build = DOC_PAYLOADS[kind]
    payload = build(pmid)
    if method == "GET":
        return await client.get(f"{path}?{payload.decode()}", headers=headers)
    if kind == "twilio":  # signed over the URL and the sorted form fields
        params = dict(parse_qsl(payload.decode()))
        headers["X-Twilio-Signature"] = twilio_signature(
            test_twilio.AUTH_TOKEN, BASE + path, params
        )
    return await client.post(
        path, content=payload, headers={"Content-Type": content_type, **headers}
    )


def _settings(kind: str, url: str) -> dict[str, Any]:
    overrides = {"signature_secret": None} if kind == "vonage" else {}
    return {"providers": {kind: provider(kind, url, **overrides)}, "routes": {"default": [kind]}}


@pytest.mark.parametrize("kind", sorted(DOC_PAYLOADS))
async def test_documented_report_marks_the_message_delivered(
    make_settings: SettingsFactory, redis: Redis, kind: str
) -> None:
    from app.providers.registry import ADAPTERS

    with running(kind) as (_, url):
        async with AsyncTestClient(create_app(make_settings(**_settings(kind, url)))) as client:
            sent = await _send(client)
            pmid = sent["message"]["provider_message_id"]
            path = client.app.state.services.deliveries.callback_path(kind)
            reply = await _callback(client, kind, path, pmid)
            expected = ADAPTERS[kind].reports.reply  # type: ignore[union-attr]
            assert reply.status_code == expected.status_code, reply.text
            assert reply.content == expected.body
            shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
            message = shown["messages"][0]
            assert message["status"] == "delivered"
            assert [e["status"] for e in message["timeline"]] == ["delivered"]
            # the same report again changes nothing
            await _callback(client, kind, path, pmid)
            again = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
            assert again["messages"][0]["timeline"] == message["timeline"]
            stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
            assert stats["total"]["sends"] == 1 and stats["total"]["delivered"] == 1
            assert stats["by_provider"][kind]["delivery_rate"] == 1.0


@pytest.fixture
async def gateway(make_settings: SettingsFactory, redis: Redis) -> Any:
    with running("http") as (_stub, url):
        settings = make_settings(**_settings("http", url), delivery_report_timeout=3600)
        async with AsyncTestClient(create_app(settings)) as client:
            yield client, client.app.state.services.deliveries.callback_path("http")


def _signed(report: Any, secret: str = GATEWAY_SECRET) -> dict[str, Any]:
    import time

    body = json.dumps(report).encode()
    header = signature_header(secret, int(time.time()), body)
    return {"content": body, "headers": {"Content-Type": "application/json",
                                         "Otpgate-Signature": header}}  # fmt: skip


async def test_out_of_order_reports_never_move_a_message_back(gateway: Any) -> None:
    client, path = gateway
    sent = await _send(client)
    pmid = sent["message"]["provider_message_id"]
    for status in ("delivered", "sent", "queued"):
        reply = await client.post(path, **_signed({"id": pmid, "status": status}))
        assert reply.status_code == 204
    message = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()[
        "messages"
    ][0]
    assert message["status"] == "delivered"
    assert [e["status"] for e in message["timeline"]] == ["delivered", "sent", "queued"]


async def test_failed_report_keeps_the_error_code_and_counts_the_reason(gateway: Any) -> None:
    client, path = gateway
    sent = await _send(client)
    pmid = sent["message"]["provider_message_id"]
    report = {"id": pmid, "status": "undelivered", "error_code": "MK:0005"}
    assert (await client.post(path, **_signed(report))).status_code == 204
    message = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()[
        "messages"
    ][0]
    assert (message["status"], message["error_code"]) == ("undelivered", "MK:0005")
    stats = (await client.get("/v1/stats", params={"window": "24h"}, headers=AUTH)).json()
    assert stats["total"]["undelivered"] == 1
    assert stats["failures_by_reason"] == {"MK:0005": 1}


async def test_unknown_message_id_is_acknowledged_and_counted(gateway: Any) -> None:
    client, path = gateway
    reply = await client.post(path, **_signed({"id": "never-sent", "status": "delivered"}))
    assert reply.status_code == 204
    stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
    assert stats["unmatched_reports"] == 1


async def test_bad_token_or_signature_is_refused_and_records_nothing(
    gateway: Any, redis: Redis
) -> None:
    client, path = gateway
    sent = await _send(client)
    pmid = sent["message"]["provider_message_id"]
    before = await redis.hgetall(f"otp:{{v:{sent['id'][4:9]}}}:ver:{sent['id']}")
    wrong_token = path.rsplit("/", 1)[0] + "/" + "0" * 32
    refused = await client.post(wrong_token, **_signed({"id": pmid, "status": "delivered"}))
    assert (refused.status_code, refused.json()["code"]) == (403, "callback_forbidden")
    forged = await client.post(path, **_signed({"id": pmid, "status": "delivered"}, "wrong"))
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_signature")
    unknown = await client.post("/v1/callbacks/nobody/" + "0" * 32, content=b"{}")
    assert unknown.status_code == 404
    after = await redis.hgetall(f"otp:{{v:{sent['id'][4:9]}}}:ver:{sent['id']}")
    assert after == before


async def test_twilio_report_with_a_bad_signature_is_401(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with running("twilio") as (_, url):
        async with AsyncTestClient(create_app(make_settings(**_settings("twilio", url)))) as client:
            sent = await _send(client)
            path = client.app.state.services.deliveries.callback_path("twilio")
            _, content_type, build = DOC_PAYLOADS["twilio"]
            body = build(sent["message"]["provider_message_id"])
            reply = await client.post(
                path, content=body,
                headers={"Content-Type": content_type, "X-Twilio-Signature": "AAAA"},
            )  # fmt: skip
            assert reply.status_code == 401


async def test_callbacks_from_outside_the_allowed_networks_are_refused(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with running("http") as (_, url):
        settings = make_settings(**_settings("http", url), callback_ips={"http": ["10.0.0.0/8"]})
        async with AsyncTestClient(create_app(settings)) as client:
            path = client.app.state.services.deliveries.callback_path("http")
            refused = await client.post(path, **_signed({"id": "x", "status": "sent"}))
            assert refused.status_code == 403


async def test_no_final_report_in_time_reads_unknown(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with running("http") as (_, url):
        settings = make_settings(**_settings("http", url), delivery_report_timeout=0.001)
        async with AsyncTestClient(create_app(settings)) as client:
            sent = await _send(client)
            shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
            assert shown["messages"][0]["status"] == "unknown"


async def test_a_large_batch_of_reports_is_taken_whole(gateway: Any) -> None:
    client, path = gateway
    sent = await _send(client)
    pmid = sent["message"]["provider_message_id"]
    batch = [{"id": f"unknown-{n:04d}", "status": "delivered"} for n in range(600)]
    batch.append({"id": pmid, "status": "delivered"})
    request = _signed(batch)
    assert len(request["content"]) > 16384  # over the API's own body limit
    assert (await client.post(path, **request)).status_code == 204
    shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
    assert shown["messages"][0]["status"] == "delivered"
    stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
    assert stats["unmatched_reports"] == 600


@pytest.mark.parametrize("kind", sorted(DOC_PAYLOADS))
@pytest.mark.parametrize("content_type", ["application/json", FORM])
async def test_a_deeply_nested_callback_body_is_refused_and_records_nothing(
    make_settings: SettingsFactory, redis: Redis, kind: str, content_type: str
) -> None:
    from tests.conftest import redis_snapshot

    with running(kind) as (_, url):
        async with AsyncTestClient(create_app(make_settings(**_settings(kind, url)))) as client:
            path = client.app.state.services.deliveries.callback_path(kind)
            before = await redis_snapshot(redis)
            body = b"[" * 50_000 + b"]" * 50_000  # 100 kB: far under the callback limit
            reply = await client.post(path, content=body, headers={"Content-Type": content_type})
            assert reply.status_code < 500, reply.text
            if reply.status_code >= 400:
                assert reply.headers["content-type"].startswith("application/problem+json")
            # (a form body of brackets is one empty field: Huawei's parser acknowledges it)
            assert await redis_snapshot(redis) == before
