"""Apps at run time: created and changed through the API, validated as the TOML file is,
in force on every instance within a second, audited, disabled without losing anything."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def key_of(client: Any, app: str, *scopes: str) -> str:
    created = await client.post(f"/v1/apps/{app}/keys", json={"scopes": scopes}, headers=AUTH)
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


async def create(client: Any, name: str, **settings: Any) -> Any:
    return await client.post("/v1/apps", json={"name": name, "settings": settings}, headers=AUTH)


async def test_an_app_created_at_run_time_sends_with_its_own_settings(
    client: AsyncTestClient[Any],
) -> None:
    made = await create(client, "shop", code_length=8, max_attempts=2)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "name": "shop",
        "settings": {"code_length": 8, "max_attempts": 2},
        "overrides": {"code_length": 8, "max_attempts": 2},
        "in_file": False,
        "disabled": False,
    }
    shop = await key_of(client, "shop", "verify")
    sent = await client.post("/v1/verifications", json={"to": TO}, headers=bearer(shop))
    assert sent.status_code == 201 and sent.json()["attempts_remaining"] == 2
    assert len(await latest_code(client, TO)) == 8
    default = await client.post("/v1/verifications", json={"to": "+8613912345678"}, headers=AUTH)
    assert default.json()["attempts_remaining"] == 5  # other apps keep theirs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code_length": 3}, "code_length"),
        ({"bogus": 1}, "bogus"),
        ({"routes": {"+86": ["nowhere"]}}, "nowhere"),
        ({"limits": {"send_per_number": ["often"]}}, "often"),
        ({"events_url": "http://127.0.0.1:9/e"}, "events_secret"),
        ({"events_url": "http://127.0.0.1:9/e", "events_secret": "s" * 32}, "TOML file"),
        ({"abuse": {"safe_numbers": ["+8613800138000"]}}, "TOML file"),  # no number in Redis
        ({"abuse": {"test_numbers": []}}, "TOML file"),
    ],
)
async def test_a_setting_the_file_would_refuse_is_400_and_nothing_is_stored(
    client: AsyncTestClient[Any], overrides: dict[str, Any], message: str
) -> None:
    refused = await create(client, "shop", **overrides)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request")
    assert message in refused.json()["detail"]
    assert (await client.get("/v1/apps/shop", headers=AUTH)).json()["code"] == "app_not_found"
    assert (await client.get("/v1/apps/shop/audit", headers=AUTH)).json() == {"entries": []}


async def test_an_app_admin_changes_its_own_app_only_and_every_change_is_audited(
    client: AsyncTestClient[Any],
) -> None:
    assert (await create(client, "shop")).status_code == 201
    assert (await create(client, "shop")).json()["code"] == "app_exists"
    admin = await key_of(client, "shop", "admin")
    changed = await client.patch(
        "/v1/apps/shop", json={"settings": {"code_ttl": 120}}, headers=bearer(admin)
    )
    assert changed.json()["settings"] == {"code_ttl": 120.0}
    for method, path, body in [
        ("PATCH", "/v1/apps/default", {"settings": {"code_ttl": 60}}),
        ("PATCH", "/v1/apps/shop", {"disabled": True}),
        ("GET", "/v1/apps", None),
        ("GET", "/v1/apps/default", None),
        ("DELETE", "/v1/apps/shop", None),
    ]:
        refused = await client.request(method, path, json=body, headers=bearer(admin))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    reset = await client.patch(
        "/v1/apps/shop", json={"settings": {"code_ttl": None}}, headers=bearer(admin)
    )
    assert reset.json()["settings"] == {}
    entries = (await client.get("/v1/apps/shop/audit", headers=bearer(admin))).json()["entries"]
    assert [(e["action"], e["fields"]) for e in entries] == [
        ("update", ["code_ttl"]),
        ("update", ["code_ttl"]),
        ("create", []),
    ]
    assert entries[0]["by"] == entries[1]["by"] != entries[2]["by"] == "bootstrap"
    listed = (await client.get("/v1/apps", headers=AUTH)).json()["apps"]
    assert [app["name"] for app in listed] == ["default", "shop"]


async def test_a_disabled_app_keeps_everything_and_its_keys_get_403(
    client: AsyncTestClient[Any],
) -> None:
    assert (await create(client, "shop")).status_code == 201
    shop = await key_of(client, "shop", "verify")
    sent = (await client.post("/v1/verifications", json={"to": TO}, headers=bearer(shop))).json()
    assert (await client.delete("/v1/apps/shop", headers=AUTH)).json()["disabled"] is True
    for method, path in [("POST", "/v1/verifications"), ("GET", f"/v1/verifications/{sent['id']}")]:
        refused = await client.request(method, path, json={"to": TO}, headers=bearer(shop))
        assert (refused.status_code, refused.json()["code"]) == (403, "app_disabled")
    for method, body in (("DELETE", None), ("PATCH", {"disabled": True})):  # no lock-out
        refused = await client.request(method, "/v1/apps/default", json=body, headers=AUTH)
        assert refused.status_code == 403 and "own app" in refused.json()["detail"]
    enabled = await client.patch("/v1/apps/shop", json={"disabled": False}, headers=AUTH)
    assert enabled.json()["disabled"] is False
    shown = await client.get(f"/v1/verifications/{sent['id']}", headers=bearer(shop))
    assert shown.json()["status"] == "pending"


async def test_a_change_on_one_instance_is_in_force_on_another_within_a_second(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as a, make_live_client() as b:
        assert (await create(a, "shop", code_length=8)).status_code == 201
        shop = await key_of(a, "shop", "verify")
        loop = asyncio.get_running_loop()
        started = loop.time()
        while (await b.get("/v1/apps/shop", headers=AUTH)).status_code != 200:
            assert loop.time() - started < 1.5, "instance b never saw the new app"
            await asyncio.sleep(0.05)
        sent = await b.post("/v1/verifications", json={"to": TO}, headers=bearer(shop))
        assert sent.status_code == 201
        assert re.fullmatch(r"\d{8}", await latest_code(b, TO))


async def test_texts_name_the_app_by_its_display_name(make_client: ClientFactory) -> None:
    texts = {"en": "{app_name}: your code is {code}"}
    async with make_client(messages=texts) as client:
        assert (await create(client, "shop", display_name="Shop & Co")).status_code == 201
        shop = await key_of(client, "shop", "verify")
        to = "+14155550123"
        await client.post(
            "/v1/verifications", json={"to": to, "locale": "en-AU"}, headers=bearer(shop)
        )
        await client.post("/v1/verifications", json={"to": TO, "locale": "en"}, headers=AUTH)
        shop_text = (await client.get("/dev/outbox", params={"to": to, "format": "json"})).json()
        default_text = (await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json()
        assert shop_text[0]["text"].startswith("Shop & Co: your code is ")
        assert default_text[0]["text"].startswith("default: your code is ")


async def test_the_watch_reads_new_apps_and_leaves_out_a_record_it_cannot_read(
    redis: Any, settings: Any
) -> None:
    from app.apps.registry import AppRecord, AppRegistry
    from app.store.keys import Keys

    registry = AppRegistry(redis, settings)
    seen: list[Any] = []
    registry.listeners.append(seen.append)
    watching = asyncio.create_task(registry.watch(0.02))
    try:
        await redis.hset(Keys.APPS, "broken", "{not json")
        await redis.hset(Keys.APPS, "shop", '{"overrides": {"code_length": 8}}')
        await redis.incr(Keys.APPS_VERSION)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert registry.records == {"shop": AppRecord({"code_length": 8})}
        assert seen[-1].policy_for("shop").code_length == 8
        await redis.hset(Keys.APPS, "shop", '{"overrides": {"code_length": 3}}')  # invalid
        await redis.incr(Keys.APPS_VERSION)
        await asyncio.sleep(0.2)
        assert not watching.done()  # still watching
        assert registry.settings.policy_for("shop").code_length == 6  # the invalid one left out
    finally:
        watching.cancel()
