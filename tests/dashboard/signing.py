"""Signing in to the dashboard over HTTP, as a browser's form would."""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.store.keys import Keys


def csrf_of(page: str) -> str:
    """The CSRF token of the first form of ``page``."""
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """GET the form, POST the key with its token; the answer (303 when it worked)."""
    form = await client.get("/dashboard/sign-in")
    assert form.status_code == 200, form.text
    return await client.post("/dashboard/sign-in", data={"key": key, "csrf": csrf_of(form.text)})


async def sessions_in(redis: Any) -> list[str]:
    """The dashboard sessions Redis holds."""
    return [key async for key in redis.scan_iter(match=Keys.dashboard_session("x")[:-32] + "*")]


async def create_key(
    client: httpx.AsyncClient, scopes: list[str], app: str = "default", **fields: Any
) -> dict[str, Any]:
    from tests.conftest import AUTH

    answer = await client.post(
        f"/v1/apps/{app}/keys", json={"scopes": scopes, **fields}, headers=AUTH
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())
