"""What a send uses of an app's templates: an approved one's text, its registered template
ids and sign names, and nothing of a draft, a submitted or a rejected one; within a second
on every instance, with no Redis round trip more, and nothing sensitive in Redis."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from redis.asyncio import Redis

from app.store.keys import Keys
from bench.round_trips import RoundTrips
from tests.conftest import AUTH, ClientFactory, latest_code, redis_snapshot
from tests.providers.test_huawei import APP_SECRET
from tests.stubs.aliyun import ACCESS_KEY_SECRET
from tests.stubs.tencent import SECRET_KEY
from tests.templates.conftest import CN, ZH, Stubs, key_of, put, reviewed
from tests.test_footprint import SEND_TRIPS

pytestmark = pytest.mark.topologies

ONE = "/v1/apps/shop/templates/login/zh-CN"


async def send(client: Any, key: dict[str, str], to: str = CN, **body: Any) -> Any:
    sent = await client.post("/v1/verifications", json={"to": to, **body}, headers=key)
    assert sent.status_code == 201, sent.text
    return sent.json()


async def outbox_text(client: Any, to: str) -> str:
    outbox = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    text: str = outbox.json()[0]["text"]
    return text


def last_alibaba_send(stubs: Stubs) -> dict[str, str]:
    sends = [r.params for r in stubs.aliyun.requests if "PhoneNumbers" in r.params]
    return sends[-1]


async def test_only_an_approved_template_is_what_alibaba_is_asked_to_send(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    async with make_client(**reviewed(stubs, ["aliyun"])) as client:
        key = await key_of(client, "shop", "verify")
        await put(client, "login/zh-CN", providers={"aliyun": {"sign_name": "小店"}})
        await send(client, key)  # a draft: the file's template
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_71390007"
        await client.post(f"{ONE}/submit", headers=AUTH)
        await send(client, key)  # in review: still the file's
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_71390007"
        stubs.aliyun.review("SMS_152550005", 2, "变量属性不符合规范")
        await client.post(f"{ONE}/refresh", headers=AUTH)
        await send(client, key)  # rejected: still the file's
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_71390007"
        await client.post(f"{ONE}/submit", headers=AUTH)
        stubs.aliyun.review("SMS_152550006", 1)
        approved = await client.post(f"{ONE}/refresh", headers=AUTH)
        assert approved.json()["state"] == "approved"
        sent = await send(client, key)
        params = last_alibaba_send(stubs)
        assert (params["TemplateCode"], params["SignName"]) == ("SMS_152550006", "小店")
        code = json.loads(params["TemplateParam"])
        assert list(code) == ["code"] and re.fullmatch(r"\d{6}", code["code"])
        check = {"id": sent["id"], "code": code["code"]}
        checked = await client.post("/v1/verifications/check", json=check, headers=key)
        assert checked.json()["status"] == "approved"
        assert (await client.delete(ONE, headers=AUTH)).status_code == 200
        await send(client, key)  # deleted: the file's template again
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_71390007"


async def test_an_approved_template_is_what_tencent_is_asked_to_send(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    async with make_client(**reviewed(stubs, ["tencent"])) as client:
        key = await key_of(client, "shop", "verify")
        await put(client, "login/zh-CN", text="{app_name}验证码{code}，{minutes}分钟内有效")
        await client.post(f"{ONE}/submit", headers=AUTH)
        stubs.tencent.review(1110, 0)
        await client.post(f"{ONE}/refresh", headers=AUTH)
        await send(client, key)
    body = stubs.tencent.requests[-1].body
    assert body["TemplateId"] == "1110"
    assert body["SignName"] == "腾讯云"  # the account's, none given with the template
    assert [len(value) for value in body["TemplateParamSet"]] == [6, 1]  # code, minutes


async def test_a_registered_mainland_template_is_not_sent_to_other_numbers(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    settings = reviewed(stubs, ["aliyun"])
    settings["routes"]["+852"] = ["aliyun"]
    async with make_client(**settings) as client:
        key = await key_of(client, "shop", "verify")
        await put(client, "login/zh-CN")
        await client.post(f"{ONE}/submit", headers=AUTH)
        stubs.aliyun.review("SMS_152550005", 1)
        await client.post(f"{ONE}/refresh", headers=AUTH)
        await send(client, key, to="+85251234567", locale="zh-CN")
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_71390007"
        await send(client, key, locale="zh-CN")
        assert last_alibaba_send(stubs)["TemplateCode"] == "SMS_152550005"


async def test_free_text_providers_send_the_approved_text_with_the_locale_fallback(
    client: Any,
) -> None:
    await client.post("/v1/apps", json={"name": "shop", "settings": {"display_name": "Shop"}},
                      headers=AUTH)  # fmt: skip
    key = await key_of(client, "shop", "verify")
    await put(client, "login/fr", text="{app_name} : votre code est {code}")
    await send(client, key, to="+14155552671", locale="fr-CA")
    draft = await outbox_text(client, "+14155552671")
    assert draft.startswith("Your verification code is")  # a draft: the settings' en
    await client.post("/v1/apps/shop/templates/login/fr/submit", headers=AUTH)
    await send(client, key, to="+14155552672", locale="fr-CA")
    code = await latest_code(client, "+14155552672")
    assert await outbox_text(client, "+14155552672") == f"Shop : votre code est {code}"
    await send(client, key, to="+14155552673", locale="de")  # no de, no fr: en
    assert (await outbox_text(client, "+14155552673")).startswith("Your verification code is")


async def test_an_approval_on_one_instance_is_sent_by_another_within_a_second(
    make_live_client: ClientFactory, stubs: Stubs
) -> None:
    # a new number per try: the prefix guard would hold a dozen under one prefix
    settings = reviewed(stubs, ["aliyun"], abuse={"safe_prefixes": ["+86"]})
    async with make_live_client(**settings) as a, make_live_client(**settings) as b:
        key = await key_of(a, "shop", "verify")
        await put(a, "login/zh-CN")
        await a.post(f"{ONE}/submit", headers=AUTH)
        stubs.aliyun.review("SMS_152550005", 1)
        assert (await a.post(f"{ONE}/refresh", headers=AUTH)).json()["state"] == "approved"
        loop = asyncio.get_running_loop()
        started, n = loop.time(), 0
        while True:
            n += 1
            await send(b, key, to=f"+86138001381{n:02d}")
            if last_alibaba_send(stubs)["TemplateCode"] == "SMS_152550005":
                break
            assert loop.time() - started < 1.5, "instance b never sent the approved template"
            await asyncio.sleep(0.05)


async def trips_of_sends(client: Any, numbers: list[str]) -> int:
    """The fewest round trips one of these sends took (a background read may add one)."""
    counts = []
    for to in numbers:
        trips, sent = await RoundTrips.of(
            client.post("/v1/verifications", json={"to": to}, headers=AUTH)
        )
        assert sent.status_code == 201, sent.text
        counts.append(trips)
    return min(counts)


async def test_a_send_with_an_approved_template_makes_no_round_trip_more(
    client: Any, topology: str
) -> None:
    if topology != "single":
        pytest.skip("round trips are counted on one server (on Cluster: one per node)")
    one = "/v1/apps/default/templates/login/en"
    with RoundTrips.counting():
        await client.get("/readyz")
        without = await trips_of_sends(client, ["+14155550101", "+14155550102", "+14155550103"])
        await client.put(one, json={"text": "Your code: {code}"}, headers=AUTH)
        assert (await client.post(f"{one}/submit", headers=AUTH)).json()["state"] == "approved"
        with_template = await trips_of_sends(
            client, ["+14155550104", "+14155550105", "+14155550106"]
        )
    code = await latest_code(client, "+14155550106")
    assert await outbox_text(client, "+14155550106") == f"Your code: {code}"
    assert with_template == without <= SEND_TRIPS


async def test_redis_holds_no_number_code_or_credential_after_a_review_and_a_send(
    shop: Any, stubs: Stubs, redis: Redis
) -> None:
    key = await key_of(shop, "shop", "verify")
    await put(shop, "login/zh-CN", text=ZH, providers={"aliyun": {"sign_name": "小店"}})
    await shop.post(f"{ONE}/submit", headers=AUTH)
    stubs.aliyun.review("SMS_152550005", 1)
    stubs.tencent.review(1110, 0)
    await shop.post(f"{ONE}/refresh", headers=AUTH)
    sent = await send(shop, key)
    code = json.loads(last_alibaba_send(stubs)["TemplateParam"])["code"]
    await shop.post("/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=key)
    snapshot = await redis_snapshot(redis)
    dump = repr({k: v for k, v in snapshot.items() if not k.startswith(Keys.DEV_PREFIX)})
    assert "SMS_152550005" in dump and "小店" in dump  # it did look at the templates
    for secret in (CN.lstrip("+"), CN[-8:], ACCESS_KEY_SECRET, SECRET_KEY, APP_SECRET):
        assert secret not in dump
    assert not re.search(rf"(?<![0-9A-Za-z+/]){code}(?![0-9A-Za-z+/])", dump)
