"""The template routes: save, read, list, delete, preview, audit; bad input refused with
a clear problem and nothing changed; scopes; one app never reaching another's."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory, redis_snapshot
from tests.templates.conftest import ZH, Stubs, key_of, put, reviewed

pytestmark = pytest.mark.topologies

ONE = "/v1/apps/shop/templates/login/zh-CN"


async def test_a_saved_template_is_a_draft_named_after_its_providers(shop: Any) -> None:
    saved = await put(shop, "login/zh_cn")  # the locale is kept in BCP 47 case
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["locale"], body["state"], body["revision"]) == ("zh-CN", "draft", 1)
    nothing_yet = dict.fromkeys(
        ("template_id", "sign_name", "reason", "submitted_at", "reviewed_at")
    )
    assert body["providers"] == {
        "aliyun": {"type": "aliyun", "reviewed_by": "provider", "state": "draft",
                   "params": ["code"], "names": ["code"], **nothing_yet},
        "tencent": {"type": "tencent", "reviewed_by": "provider", "state": "draft",
                    "params": ["code"], "names": None, **nothing_yet},
    }  # fmt: skip
    assert (await shop.get(ONE, headers=AUTH)).json() == body
    listed = (await shop.get("/v1/apps/shop/templates", headers=AUTH)).json()
    assert listed == {"templates": [body]}


async def test_saving_the_same_template_changes_nothing_and_an_edit_is_a_new_revision(
    shop: Any, redis: Redis
) -> None:
    await put(shop, "login/zh-CN")
    before = await redis_snapshot(redis, last_use=False)
    again = await put(shop, "login/zh-CN")
    assert again.json()["revision"] == 1
    assert await redis_snapshot(redis, last_use=False) == before
    edited = await put(shop, "login/zh-CN", text="{app_name}的验证码为{code}。")
    assert (edited.json()["revision"], edited.json()["state"]) == (2, "draft")
    signed = await put(shop, "login/zh-CN", text="{app_name}的验证码为{code}。",
                       providers={"aliyun": {"sign_name": "小店"}})  # fmt: skip
    assert signed.json()["providers"]["aliyun"]["sign_name"] == "小店"
    assert signed.json()["revision"] == 3


async def test_a_template_is_deleted_and_every_change_is_audited_by_key(shop: Any) -> None:
    admin = await key_of(shop, "shop", "admin")
    await shop.put(ONE, json={"text": ZH}, headers=admin)
    deleted = await shop.delete(ONE, headers=admin)
    assert (deleted.status_code, deleted.json()["text"]) == (200, ZH)
    gone = await shop.get(ONE, headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "template_not_found")
    entries = (await shop.get("/v1/apps/shop/templates/audit", headers=admin)).json()["entries"]
    assert [(e["action"], e["state"], e["purpose"], e["locale"]) for e in entries] == [
        ("delete", None, "login", "zh-CN"),
        ("save", "draft", "login", "zh-CN"),
    ]
    assert entries[0]["by"] == entries[1]["by"] != "bootstrap"


async def test_a_preview_renders_a_sample_code_and_counts_the_message(shop: Any) -> None:
    await put(shop, "login/zh-CN")
    preview = (await shop.post(f"{ONE}/preview", headers=AUTH)).json()
    assert preview == {
        "text": "小店：您的验证码为123456，请勿泄露。",
        "code": "123456",
        "characters": 21,
        "encoding": "UCS-2",
        "segments": 1,
        "contents": {
            "aliyun": "小店：您的验证码为${code}，请勿泄露。",
            "tencent": "小店：您的验证码为{1}，请勿泄露。",
        },
    }


async def test_a_preview_of_an_english_text_is_gsm_7(make_client: ClientFactory) -> None:
    async with make_client(apps={"shop": {"code_length": 8}}) as client:
        text = "Your {app_name} code is {code}; it expires in {minutes} minutes."
        await put(client, "login/en", text=text)
        preview = await client.post("/v1/apps/shop/templates/login/en/preview", headers=AUTH)
    assert preview.json() == {
        "text": "Your shop code is 12345678; it expires in 5 minutes.",
        "code": "12345678",
        "characters": 52,
        "encoding": "GSM-7",
        "segments": 1,
        "contents": {},
    }


BAD_SAVES = [
    ("login/zh-CN", {"text": ""}, 400, "invalid_request"),
    ("login/zh-CN", {}, 400, "invalid_request"),
    ("login/zh-CN", {"text": ZH, "colour": "red"}, 400, "invalid_request"),
    ("login/zh-CN", {"text": "x" * 1001}, 400, "invalid_request"),
    ("login/zh-CN", {"text": ZH, "providers": {"aliyun": {"sign_name": ""}}}, 400,
     "invalid_request"),
    ("log in/zh-CN", {"text": ZH}, 400, "invalid_request"),
    ("login/z", {"text": ZH}, 400, "invalid_request"),
    ("login/zh-CN", {"text": "验证码"}, 422, "invalid_template"),
    ("login/zh-CN", {"text": "验证码{code}，{name}"}, 422, "invalid_template"),
    ("login/zh-CN", {"text": "验证码{code"}, 422, "invalid_template"),
    ("login/zh-CN", {"text": "Your code is {code}"}, 422, "invalid_template"),  # 验证码 missing
    ("login/zh-CN", {"text": ZH, "providers": {"huawei": {"template_id": "x"}}}, 422,
     "invalid_template"),  # not in the routes
    ("login/zh-CN", {"text": ZH, "providers": {"tencent": {"template_id": "1110"}}}, 422,
     "invalid_template"),  # Tencent registers its own
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "code"), BAD_SAVES)
async def test_a_bad_save_is_a_clear_problem_and_changes_nothing(
    shop: Any, redis: Redis, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    await put(shop, "login/zh-CN", text="{app_name}验证码{code}")
    before = await redis_snapshot(redis, last_use=False)
    refused = await shop.put(f"/v1/apps/shop/templates/{path}", json=body, headers=AUTH)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await redis_snapshot(redis, last_use=False) == before


async def test_invalid_template_names_every_rule_it_breaks(
    make_client: ClientFactory, stubs: Stubs
) -> None:
    settings = reviewed(stubs, ["aliyun", "tencent"], apps={"shop": {"code_length": 8}})
    async with make_client(**settings) as client:
        refused = await put(client, "login/zh-CN", text="验证码{code}，{minutes}分钟内有效")
    problem = refused.json()
    assert [(e["key"], e["message"].split(":")[0]) for e in problem["errors"]] == [
        ("text", "aliyun (aliyun)"),  # one variable only
        ("text", "aliyun (aliyun)"),  # 4-6 characters
        ("text", "tencent (tencent)"),  # at most 6 digits
    ]
    assert all(e["source"] == "body" for e in problem["errors"])


async def test_unknown_apps_and_templates_are_404(shop: Any) -> None:
    for method, path in [
        ("GET", "/v1/apps/nowhere/templates"),
        ("GET", "/v1/apps/nowhere/templates/login/en"),
        ("PUT", "/v1/apps/nowhere/templates/login/en"),
        ("GET", "/v1/apps/nowhere/templates/audit"),
    ]:
        refused = await shop.request(method, path, json={"text": "{code}"}, headers=AUTH)
        assert (refused.status_code, refused.json()["code"]) == (404, "app_not_found"), path
    for method, suffix in [("GET", ""), ("DELETE", ""), ("POST", "/submit"),
                           ("POST", "/refresh"), ("POST", "/preview")]:  # fmt: skip
        refused = await shop.request(method, ONE + suffix, headers=AUTH)
        assert (refused.status_code, refused.json()["code"]) == (404, "template_not_found")


ROUTES = [
    ("GET", "/v1/apps/{app}/templates", "read"),
    ("GET", "/v1/apps/{app}/templates/login/zh-CN", "read"),
    ("POST", "/v1/apps/{app}/templates/login/zh-CN/preview", "read"),
    ("PUT", "/v1/apps/{app}/templates/login/zh-CN", "admin"),
    ("POST", "/v1/apps/{app}/templates/login/zh-CN/refresh", "admin"),
    ("GET", "/v1/apps/{app}/templates/audit", "admin"),
    ("POST", "/v1/apps/{app}/templates/login/zh-CN/submit", "admin"),
    ("DELETE", "/v1/apps/{app}/templates/login/zh-CN", "admin"),
]


async def test_read_keys_read_admin_keys_change_and_verify_keys_do_neither(shop: Any) -> None:
    await put(shop, "login/zh-CN")
    keys = {scope: await key_of(shop, "shop", scope) for scope in ("verify", "read", "admin")}
    for method, path, needs in ROUTES:
        url = path.format(app="shop")
        for scope, key in keys.items():
            answer = await shop.request(method, url, json={"text": ZH}, headers=key)
            allowed = scope == "admin" or scope == needs
            assert (answer.status_code < 400) == allowed, (method, url, scope, answer.text)
            if not allowed:
                assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


async def test_a_key_of_one_app_gets_403_for_every_template_of_another(
    make_client: ClientFactory, stubs: Stubs, redis: Redis
) -> None:
    settings = reviewed(stubs, ["aliyun"], apps={"shop": {}, "other": {}})
    async with make_client(**settings) as client:
        assert (await put(client, "login/zh-CN")).status_code == 200
        other = await key_of(client, "other", "admin")
        before = await redis_snapshot(redis, last_use=False)
        for method, path, _ in ROUTES:
            answer = await client.request(
                method, path.format(app="shop"), json={"text": ZH}, headers=other
            )
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), path
        assert await redis_snapshot(redis, last_use=False) == before
        own = await client.get("/v1/apps/other/templates", headers=other)
        assert own.json() == {"templates": []}  # its own app has none of shop's


async def test_an_operator_key_reaches_every_app_s_templates(client: AsyncTestClient[Any]) -> None:
    made = await client.post("/v1/apps", json={"name": "shop"}, headers=AUTH)
    assert made.status_code == 201
    saved = await put(client, "login/en", text="Your code is {code}")
    assert saved.status_code == 200 and saved.json()["app"] == "shop"


async def test_a_stored_record_otpgate_cannot_read_counts_as_none_and_a_save_replaces_it(
    shop: Any, redis: Redis
) -> None:
    await redis.hset(Keys.TEMPLATES, "shop login zh-CN", "{not json")
    assert (await shop.get("/v1/apps/shop/templates", headers=AUTH)).json() == {"templates": []}
    assert (await shop.get(ONE, headers=AUTH)).status_code == 404
    saved = await put(shop, "login/zh-CN")
    assert (saved.status_code, saved.json()["revision"]) == (200, 1)
