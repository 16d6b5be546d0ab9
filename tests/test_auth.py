"""API keys: bearer auth, scopes, revocation."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore, key_digest
from tests.conftest import AUTH

pytestmark = pytest.mark.topologies

BODY = {"to": "+8613800138000"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Basic {AUTH['Authorization'].split()[1]}"},
    ],
)
async def test_missing_or_unknown_key_is_401(
    client: AsyncTestClient[Any], redis: Redis, headers: dict[str, str]
) -> None:
    response = await client.post("/v1/verifications", json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await redis.dbsize() == 0


async def test_every_v1_route_needs_a_key(client: AsyncTestClient[Any]) -> None:
    for method, path in [
        ("GET", "/v1/verifications/ver_00000000000000000000000000"),
        ("POST", "/v1/verifications/check"),
        ("POST", "/v1/verifications/ver_00000000000000000000000000/cancel"),
    ]:
        assert (await client.request(method, path, json={})).status_code == 401


async def test_every_registered_v1_route_refuses_a_request_without_a_key(
    client: AsyncTestClient[Any],
) -> None:
    """Each controller's guard authenticates: a route added without one is caught here."""
    app = client.app
    seen = 0
    for route in app.routes:
        if not route.path.startswith("/v1/") or route.path.startswith(
            ("/v1/callbacks/", "/v1/inbound/")
        ):
            continue  # providers' callbacks carry a path token and a signature, not a key
        path = route.path.replace("{verification_id:str}", "ver_" + "0" * 26)
        path = path.replace("{", "").replace(":str}", "").replace("}", "")
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, route.path, response.text)
            seen += 1
    assert seen >= 10


async def test_health_needs_no_key(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_created_key_works_and_is_stored_only_as_sha256(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    key, _ = await ApiKeyStore(redis).create("default", ["verify"], name="login-backend")
    assert key.startswith("otpg_") and len(key) > 40
    response = await client.post(
        "/v1/verifications", json=BODY, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201
    dump = repr([(k, await redis.dump(k)) async for k in redis.scan_iter()])
    assert key not in dump
    assert key_digest(key) in dump


async def test_revoked_key_is_refused(client: AsyncTestClient[Any], redis: Redis) -> None:
    store = ApiKeyStore(redis)
    key, record = await store.create("default", ["verify"])
    assert [k.id for k in await store.list()] == [record.id]
    assert await store.revoke(record.id)
    assert not await store.revoke(record.id)
    assert await store.list() == []
    response = await client.post(
        "/v1/verifications", json=BODY, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 401


async def test_key_without_verify_scope_is_403(client: AsyncTestClient[Any], redis: Redis) -> None:
    key, _ = await ApiKeyStore(redis).create("default", ["admin"])
    response = await client.post(
        "/v1/verifications", json=BODY, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_unknown_scope_is_refused(redis: Redis) -> None:
    with pytest.raises(ValueError, match="unknown scopes"):
        await ApiKeyStore(redis).create("default", ["superuser"])
