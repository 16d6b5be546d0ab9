"""The dashboard's sessions over HTTP: the cookie's flags, CSRF on every change, and a
session that ends with its key."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.store.keys import Keys
from tests.conftest import API_KEY, AUTH
from tests.dashboard.signing import create_key, csrf_of, sessions_in, sign_in


def _set_cookie(response: Any, name: str) -> str:
    (header,) = [v for v in response.headers.get_list("set-cookie") if v.startswith(name + "=")]
    return header


async def test_signing_in_sets_an_http_only_same_site_strict_cookie_of_a_random_id(
    client: Any, redis: Any
) -> None:
    answer = await sign_in(client, API_KEY)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/overview"
    header = _set_cookie(answer, "otpgate_session")
    flags = {flag.strip().lower() for flag in header.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= flags
    assert "secure" not in flags  # test mode: plain http on loopback
    session_id = header.split(";")[0].split("=", 1)[1]
    assert len(session_id) >= 43 and API_KEY not in header
    (stored,) = await sessions_in(redis)
    assert stored == Keys.dashboard_session(session_id)  # a digest of the id, not the id
    assert session_id not in stored
    record = await redis.get(stored)
    assert API_KEY not in record and '"key_id":"bootstrap"' in record
    assert 0 < await redis.ttl(stored) <= 3600
    page = await client.get("/dashboard/overview")
    assert page.status_code == 200 and "Overview" in page.text


async def test_the_cookie_is_secure_in_prod(make_settings: Any, redis: Any) -> None:
    from litestar.testing import AsyncTestClient

    from app.asgi import create_app

    settings = make_settings(
        env="prod", pepper="p" * 40,
        providers={"gateway": {"type": "http", "url": "https://sms.example.com/send",
                               "secret": "s" * 32}},
        routes={"default": ["gateway"]},
    )  # fmt: skip
    app = create_app(settings)
    async with AsyncTestClient(app, base_url="https://testserver.local") as c:
        c.follow_redirects = False
        form = await c.get("/dashboard/sign-in")
        assert "secure" in _set_cookie(form, "otpgate_sign_in").lower()
        answer = await c.post(
            "/dashboard/sign-in", data={"key": API_KEY, "csrf": csrf_of(form.text)}
        )
        assert answer.status_code == 303, answer.text
        flags = {f.strip().lower() for f in _set_cookie(answer, "otpgate_session").split(";")}
        assert {"secure", "httponly", "samesite=strict"} <= flags


async def test_a_wrong_key_gets_the_form_again_with_why(client: Any, redis: Any) -> None:
    answer = await sign_in(client, "otpg_not_a_key")
    assert answer.status_code == 401
    assert "unknown, revoked or expired API key" in answer.text
    assert 'name="key"' in answer.text
    assert await sessions_in(redis) == []


async def test_a_key_without_admin_or_operator_gets_a_clear_page(client: Any, redis: Any) -> None:
    created = await create_key(client, ["verify", "read"])
    answer = await sign_in(client, created["key"])
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "needs an API key with scope &#39;admin&#39;" in answer.text
    assert "this key has read, verify" in answer.text
    assert await sessions_in(redis) == []


async def test_signing_in_without_the_form_s_token_is_refused(client: Any, redis: Any) -> None:
    await client.get("/dashboard/sign-in")
    answer = await client.post("/dashboard/sign-in", data={"key": API_KEY, "csrf": "forged"})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert await sessions_in(redis) == []


@pytest.mark.parametrize("token", [None, "", "wrong"])
async def test_a_change_without_the_session_s_csrf_token_is_a_403_page(
    client: Any, redis: Any, token: str | None
) -> None:
    await sign_in(client, API_KEY)
    form = {"app": "default", "to": "+8613800138000"}
    if token is not None:
        form["csrf"] = token
    answer = await client.post("/dashboard/throttles/unlock", data=form)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "CSRF token is missing or wrong" in answer.text
    page = await client.get("/dashboard/throttles")
    good = await client.post(
        "/dashboard/throttles/unlock", data={**form, "csrf": csrf_of(page.text)}
    )
    assert good.status_code == 200 and "Unlocked" in good.text


async def test_revoking_the_key_ends_its_session_at_the_next_request(
    client: Any, redis: Any
) -> None:
    created = await create_key(client, ["admin"], name="support desk")
    assert (await sign_in(client, created["key"])).status_code == 303
    assert (await client.get("/dashboard/blocks")).status_code == 200
    key_id = created["api_key"]["id"]
    revoked = await client.delete(f"/v1/apps/default/keys/{key_id}", headers=AUTH)
    assert revoked.status_code == 200
    answer = await client.get("/dashboard/blocks")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"
    assert await sessions_in(redis) == []


async def test_signing_out_deletes_the_session(client: Any, redis: Any) -> None:
    await sign_in(client, API_KEY)
    page = await client.get("/dashboard/overview")
    assert len(await sessions_in(redis)) == 1
    answer = await client.post("/dashboard/sign-out", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"
    assert await sessions_in(redis) == []
    assert (await client.get("/dashboard/overview")).status_code == 303


async def test_an_admin_sees_only_its_own_app(client: Any, redis: Any) -> None:
    created = await client.post("/v1/apps", json={"name": "shop"}, headers=AUTH)
    assert created.status_code == 201
    admin = await create_key(client, ["admin"], app="shop")
    await sign_in(client, admin["key"])
    own = await client.get("/dashboard/overview")
    assert own.status_code == 200 and '<strong id="app-select">shop</strong>' in own.text
    other = await client.get("/dashboard/overview", params={"app": "default"})
    assert other.status_code == 403
    assert "only an operator key may act on another app" in other.text


async def test_the_pages_need_a_session(client: Any, redis: Any) -> None:
    for path in ("/dashboard/overview", "/dashboard/keys", "/dashboard/events"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"


async def test_a_rotated_key_s_session_ends_with_its_grace_period(client: Any, redis: Any) -> None:
    created = await create_key(client, ["admin"])
    await sign_in(client, created["key"])
    assert (await client.get("/dashboard/keys")).status_code == 200
    key_id = created["api_key"]["id"]
    rotated = await client.post(
        f"/v1/apps/default/keys/{key_id}/rotate", json={"grace_seconds": 0}, headers=AUTH
    )
    assert rotated.status_code == 201
    answer = await client.get("/dashboard/keys")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"
    assert await sessions_in(redis) == []


async def test_disabling_the_app_ends_its_admins_sessions(client: Any, redis: Any) -> None:
    assert (await client.post("/v1/apps", json={"name": "shop"}, headers=AUTH)).status_code == 201
    admin = await create_key(client, ["admin"], app="shop")
    await sign_in(client, admin["key"])
    assert (await client.get("/dashboard/overview")).status_code == 200
    assert (await client.delete("/v1/apps/shop", headers=AUTH)).status_code == 200
    assert (await client.get("/dashboard/overview")).status_code == 303
    assert await sessions_in(redis) == []
    again = await sign_in(client, admin["key"])
    assert again.status_code == 403 and "app &#39;shop&#39; is disabled" in again.text


async def test_signing_in_again_replaces_the_browser_s_session(client: Any, redis: Any) -> None:
    await sign_in(client, API_KEY)
    first = await sessions_in(redis)
    await sign_in(client, API_KEY)
    second = await sessions_in(redis)
    assert len(first) == len(second) == 1 and first != second


async def test_pages_load_only_otpgate_s_own_assets_under_a_strict_policy(
    client: Any, redis: Any
) -> None:
    await sign_in(client, API_KEY)
    page = await client.get("/dashboard/overview")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page.headers["cache-control"]
    assert "<script>" not in page.text and " style=" not in page.text
    urls = re.findall(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", page.text)
    assert set(urls) == {
        "/dashboard/static/icon.svg", "/dashboard/static/otpgate.css",
        "/dashboard/static/dashboard.js",
    }  # fmt: skip
    kinds = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for url in set(urls):
        asset = await client.get(url)
        assert (
            asset.status_code == 200
            and kinds[url[url.rindex(".") :]] in asset.headers["content-type"]
        ), url
    assert "cdn" not in page.text.lower()
