"""Template review against the providers' stubs: submitted to Alibaba and Tencent, their
reviewers' answers followed by refresh and by the background poll, refusals and failures
reported and nothing changed; Huawei's on the admin's word; free text on the submit."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from redis.asyncio import Redis

from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory, redis_snapshot
from tests.templates.conftest import CN, Stubs, key_of, put, reviewed

pytestmark = pytest.mark.topologies

ONE = "/v1/apps/shop/templates/login/zh-CN"


async def submit(client: Any) -> Any:
    return await client.post(f"{ONE}/submit", headers=AUTH)


class Poll:
    """A round of an app's background review poll, run on the app's own event loop (the
    test client runs the app on a loop of its own, in another thread)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def poll(self) -> int:
        desk = self._client.app.state.services.templates.reviews
        changed: int = await asyncio.to_thread(self._client.blocking_portal.call, desk.poll)
        return changed


def reviews(client: Any) -> Poll:
    return Poll(client)


async def test_a_submit_registers_the_template_at_each_provider_that_reviews(
    shop: Any, stubs: Stubs
) -> None:
    await put(shop, "login/zh-CN")
    submitted = await submit(shop)
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert (body["state"], body["requested"], body["app_name"]) == ("submitted", True, "小店")
    ids = {name: p["template_id"] for name, p in body["providers"].items()}
    assert ids == {"aliyun": "SMS_152550005", "tencent": "1110"}
    assert {p["state"] for p in body["providers"].values()} == {"submitted"}
    aliyun = stubs.aliyun.templates["SMS_152550005"]
    assert (aliyun["TemplateType"], aliyun["TemplateContent"]) == (
        "0",
        "小店：您的验证码为${code}，请勿泄露。",
    )
    assert stubs.tencent.templates[1110]["TemplateContent"] == "小店：您的验证码为{1}，请勿泄露。"
    again = await submit(shop)
    assert (again.status_code, again.json()["code"]) == (409, "template_already_submitted")


async def test_the_poll_follows_the_reviewers_until_every_provider_approved(
    shop: Any, stubs: Stubs, redis: Redis
) -> None:
    await put(shop, "login/zh-CN")
    await submit(shop)
    stubs.aliyun.review("SMS_152550005", 1)
    assert await reviews(shop).poll() == 1
    half = (await shop.get(ONE, headers=AUTH)).json()
    assert half["state"] == "submitted"
    assert half["providers"]["aliyun"]["state"] == "approved"
    assert half["providers"]["aliyun"]["reviewed_at"] is not None
    stubs.tencent.review(1110, 0)
    await redis.delete(Keys.TEMPLATES_POLL)  # the next round, as if the interval was over
    assert await reviews(shop).poll() == 1
    assert (await shop.get(ONE, headers=AUTH)).json()["state"] == "approved"
    entries = (await shop.get("/v1/apps/shop/templates/audit", headers=AUTH)).json()["entries"]
    assert [(e["action"], e["by"], e["detail"]) for e in entries[:2]] == [
        ("review", "poll", "tencent: approved"),
        ("review", "poll", "aliyun: approved"),
    ]
    approved = await submit(shop)
    assert (approved.status_code, approved.json()["code"]) == (409, "template_already_submitted")
    unchanged = await put(shop, "login/zh-CN")  # saved as it is: still approved
    assert (unchanged.json()["state"], unchanged.json()["revision"]) == ("approved", 4)


async def test_one_instance_polls_a_round_and_the_others_skip_it(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    settings = reviewed(stubs, ["aliyun"])
    async with make_client(**settings) as a, make_client(**settings) as b:
        await put(a, "login/zh-CN")
        await submit(a)
        stubs.aliyun.review("SMS_152550005", 1)
        queries = len(stubs.aliyun.requests)
        assert await reviews(a).poll() == 1
        assert await reviews(b).poll() == 0  # a holds this round
        assert await reviews(a).poll() == 0  # and holds it until the interval is over
        assert len(stubs.aliyun.requests) == queries + 1


async def test_a_rejection_names_the_provider_and_its_reason_and_a_new_submit_fixes_it(
    shop: Any, stubs: Stubs
) -> None:
    await put(shop, "login/zh-CN")
    await submit(shop)
    stubs.aliyun.review("SMS_152550005", 1)
    stubs.tencent.review(1110, -1, "签名与模板内容不符")
    refreshed = await shop.post(f"{ONE}/refresh", headers=AUTH)
    body = refreshed.json()
    assert (body["state"], body["reason"]) == ("rejected", "tencent: 签名与模板内容不符")
    assert body["providers"]["tencent"]["reason"] == "签名与模板内容不符"
    again = (await submit(shop)).json()  # Tencent alone is sent it again; Alibaba keeps its own
    assert again["state"] == "submitted"
    assert again["providers"]["tencent"]["template_id"] == "1111"
    assert again["providers"]["aliyun"] == body["providers"]["aliyun"]
    assert (len(stubs.aliyun.templates), len(stubs.tencent.templates)) == (1, 2)


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
async def test_a_provider_refusing_a_submit_is_502_and_nothing_changes(
    shop: Any, stubs: Stubs, redis: Redis, provider: str
) -> None:
    getattr(stubs, provider).template_error = ("isv.SMS_TEMPLATE_ILLEGAL", "模板内容不合规")
    await put(shop, "login/zh-CN")
    before = await redis_snapshot(redis, last_use=False)
    refused = await submit(shop)
    problem = refused.json()
    assert refused.status_code == 502
    assert problem["code"] == "provider_review_failed"
    if provider == "aliyun":
        assert (problem["provider"], problem["provider_error"]) == (
            "aliyun",
            "isv.SMS_TEMPLATE_ILLEGAL",
        )
        assert await redis_snapshot(redis, last_use=False) == before
    else:  # Alibaba took it: it keeps it, the template stays a draft
        template = (await shop.get(ONE, headers=AUTH)).json()
        assert template["state"] == "draft"
        assert template["providers"]["aliyun"]["state"] == "submitted"
        assert template["providers"]["tencent"]["state"] == "draft"
        stubs.tencent.template_error = None
        finished = (await submit(shop)).json()
        assert finished["state"] == "submitted"
        assert (len(stubs.aliyun.templates), len(stubs.tencent.templates)) == (1, 1)


async def test_a_provider_that_cannot_say_is_502_on_refresh_and_the_poll_keeps_the_state(
    shop: Any, stubs: Stubs, redis: Redis
) -> None:
    await put(shop, "login/zh-CN")
    await submit(shop)
    stubs.aliyun.server_error = 503
    before = await redis_snapshot(redis, last_use=False)
    refused = await shop.post(f"{ONE}/refresh", headers=AUTH)
    assert (refused.status_code, refused.json()["code"]) == (502, "provider_review_failed")
    assert refused.json()["provider"] == "aliyun"
    assert await reviews(shop).poll() == 0
    after = await redis_snapshot(redis, last_use=False)
    assert after.pop(Keys.TEMPLATES_POLL)[0] == "string"  # the round it took, and nothing else
    assert after == before


async def test_an_edit_during_review_is_a_draft_and_the_old_answer_is_dropped(
    shop: Any, stubs: Stubs
) -> None:
    await put(shop, "login/zh-CN")
    await submit(shop)
    edited = await put(shop, "login/zh-CN", text="{app_name}的验证码为{code}。")
    assert edited.json()["state"] == "draft"
    assert edited.json()["providers"]["aliyun"]["template_id"] is None
    stubs.aliyun.review("SMS_152550005", 1)
    stubs.tencent.review(1110, 0)
    assert await reviews(shop).poll() == 0  # nothing of it is in review any more
    assert (await shop.get(ONE, headers=AUTH)).json()["state"] == "draft"


async def test_a_template_registered_by_the_admin_is_approved_on_their_word(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    async with make_client(**reviewed(stubs, ["huawei"])) as client:
        huawei = {"template_id": "tpl-8ff5", "sign_name": "小店"}
        saved = await put(
            client, "login/zh-CN", text="验证码{code}，{minutes}分钟", providers={"huawei": huawei}
        )
        assert saved.json()["providers"]["huawei"]["params"] == ["code", "minutes"]
        approved = (await submit(client)).json()
        assert approved["state"] == "approved"
        assert approved["providers"]["huawei"]["reviewed_by"] == "admin"
        assert stubs.huawei.requests == []  # nobody was asked
        key = await key_of(client, "shop", "verify")
        sent = await client.post("/v1/verifications", json={"to": CN}, headers=key)
        assert sent.status_code == 201, sent.text
    form = stubs.huawei.requests[-1].form
    assert (form["templateId"], form["signature"]) == ("tpl-8ff5", "小店")
    code, minutes = json.loads(form["templateParas"])
    assert re.fullmatch(r"\d{6}", code) and minutes == "5"


async def test_a_free_text_template_is_approved_by_the_admin_s_submit(
    client: Any,
) -> None:
    await client.post("/v1/apps", json={"name": "shop"}, headers=AUTH)
    await put(client, "login/en", text="Your code is {code}")
    approved = await client.post("/v1/apps/shop/templates/login/en/submit", headers=AUTH)
    assert (approved.json()["state"], approved.json()["providers"]) == ("approved", {})


async def test_the_background_poll_runs_every_template_poll_interval(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    async with make_client(**reviewed(stubs, ["aliyun"], template_poll_interval=0.2)) as client:
        await put(client, "login/zh-CN")
        await submit(client)
        stubs.aliyun.review("SMS_152550005", 1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while (await client.get(ONE, headers=AUTH)).json()["state"] != "approved":
            assert loop.time() < deadline, "the poll never followed Alibaba's answer"
            await asyncio.sleep(0.05)


async def test_an_edit_while_a_submit_waits_for_the_provider_wins_with_409_for_the_submit(
    make_live_client: ClientFactory, stubs: Stubs
) -> None:
    async with make_live_client(**reviewed(stubs, ["aliyun"])) as client:
        await put(client, "login/zh-CN")
        stubs.aliyun.delay = 0.5
        submitting = asyncio.create_task(client.post(f"{ONE}/submit", headers=AUTH))
        deadline = asyncio.get_running_loop().time() + 5
        while not stubs.aliyun.requests:  # until the submit is at Alibaba
            assert asyncio.get_running_loop().time() < deadline, "the submit never came"
            await asyncio.sleep(0.01)
        edited = await put(client, "login/zh-CN", text="{app_name}的验证码为{code}。")
        refused = await submitting
        assert (refused.status_code, refused.json()["code"]) == (409, "template_changed")
        template = (await client.get(ONE, headers=AUTH)).json()
    assert template == edited.json()
    assert template["state"] == "draft"


async def test_a_deleted_template_stays_registered_at_the_provider(shop: Any, stubs: Stubs) -> None:
    await put(shop, "login/zh-CN")
    await submit(shop)
    calls = len(stubs.aliyun.requests)
    assert (await shop.delete(ONE, headers=AUTH)).status_code == 200
    assert list(stubs.aliyun.templates) == ["SMS_152550005"]
    assert len(stubs.aliyun.requests) == calls  # nothing was asked of Alibaba


async def test_the_providers_are_those_of_the_routes_when_it_was_saved(
    shop: Any, stubs: Stubs
) -> None:
    await put(shop, "login/zh-CN")
    routes = {"settings": {"routes": {"+86": ["aliyun", "tencent", "huawei"]}}}
    assert (await shop.patch("/v1/apps/shop", json=routes, headers=AUTH)).status_code == 200
    kept = (await shop.get(ONE, headers=AUTH)).json()
    assert list(kept["providers"]) == ["aliyun", "tencent"]
    refused = await put(shop, "login/zh-CN")  # saved again: Huawei's id is now needed
    assert refused.json()["errors"][0]["key"] == "providers.huawei.template_id"
    saved = await put(shop, "login/zh-CN", providers={"huawei": {"template_id": "tpl-1"}})
    assert list(saved.json()["providers"]) == ["aliyun", "huawei", "tencent"]
