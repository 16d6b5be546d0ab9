"""API keys at run time: scopes, one app never seeing another's, creation within one's own
scopes, revocation, rotation with a grace period, expiry, source networks, last use."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_key(client: Any, app: str, *scopes: str, **options: Any) -> tuple[str, str]:
    """A key of ``app`` made through the API by the bootstrap (operator) key: (key, id)."""
    body = {"scopes": list(scopes), **options}
    created = await client.post(f"/v1/apps/{app}/keys", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    return created.json()["key"], created.json()["api_key"]["id"]


async def test_each_scope_opens_its_routes_only(client: AsyncTestClient[Any]) -> None:
    sent = (await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)).json()
    reader, _ = await new_key(client, "default", "read")
    admin, _ = await new_key(client, "default", "admin")
    verifier, _ = await new_key(client, "default", "verify")
    shown = f"/v1/verifications/{sent['id']}"
    for key, allowed in [
        (reader, {shown, "/v1/stats"}),
        (admin, {shown, "/v1/stats", "/v1/blocks", "/v1/apps/default/keys"}),
        (verifier, {shown}),
    ]:
        for path in (shown, "/v1/stats", "/v1/blocks", "/v1/apps/default/keys"):
            status = (await client.get(path, headers=bearer(key))).status_code
            assert status == (200 if path in allowed else 403), (path, status)
    refused = await client.post("/v1/verifications", json={"to": TO}, headers=bearer(reader))
    assert refused.json()["code"] == "forbidden"


async def test_an_app_never_sees_another_app_without_the_operator_scope(
    client: AsyncTestClient[Any],
) -> None:
    theirs = (await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)).json()
    shop, _ = await new_key(client, "shop", "verify", "admin")
    operator, _ = await new_key(client, "shop", "operator")
    _, default_key_id = await new_key(client, "default", "verify")

    assert (await client.get(f"/v1/verifications/{theirs['id']}", headers=bearer(shop))).json()[
        "code"
    ] == "verification_not_found"
    for path in ("/v1/stats?app=default", "/v1/apps/default/keys"):
        refused = await client.get(path, headers=bearer(shop))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    revoked = await client.delete(f"/v1/apps/shop/keys/{default_key_id}", headers=bearer(shop))
    assert (revoked.status_code, revoked.json()["code"]) == (404, "key_not_found")

    stats = (await client.get("/v1/stats?app=default", headers=bearer(operator))).json()
    assert (stats["app"], stats["total"]["sends"]) == ("default", 1)
    listed = await client.get("/v1/apps/default/keys", headers=bearer(operator))
    assert default_key_id in {key["id"] for key in listed.json()["keys"]}


async def test_a_key_grants_no_scope_it_lacks(client: AsyncTestClient[Any]) -> None:
    admin, _ = await new_key(client, "shop", "admin")
    made = await client.post(
        "/v1/apps/shop/keys", json={"scopes": ["read"], "name": "dash"}, headers=bearer(admin)
    )
    assert made.status_code == 201
    assert made.json()["api_key"] == {
        **made.json()["api_key"],
        "app": "shop", "scopes": ["read"], "name": "dash", "expires_at": None, "networks": [],
        "last_used_at": None,
    }  # fmt: skip
    for scopes in (["verify"], ["operator"]):
        refused = await client.post(
            "/v1/apps/shop/keys", json={"scopes": scopes}, headers=bearer(admin)
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


async def test_a_revoked_key_stops_and_only_its_digest_was_stored(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    key, key_id = await new_key(client, "shop", "verify")
    stored = await redis.hget(Keys.API_KEY_INDEX, key_id)
    assert stored is not None and key not in str(await redis.get(Keys.api_key(stored)))
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 404
    assert (await client.delete(f"/v1/apps/shop/keys/{key_id}", headers=AUTH)).json() == {
        "id": key_id,
        "revoked": True,
    }
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 401
    again = await client.delete(f"/v1/apps/shop/keys/{key_id}", headers=AUTH)
    assert again.json()["code"] == "key_not_found"


async def test_a_rotated_key_works_for_its_grace_period_then_stops(
    client: AsyncTestClient[Any],
) -> None:
    old, old_id = await new_key(client, "shop", "verify", name="backend")
    rotated = await client.post(
        f"/v1/apps/shop/keys/{old_id}/rotate", json={"grace_seconds": 3600}, headers=AUTH
    )
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["api_key"]["scopes"] == ["verify"] and new["api_key"]["name"] == "backend"
    assert abs(new["replaced"]["expires_at"] - (time.time() + 3600)) < 60
    for key in (old, new["key"]):  # both work during the grace period
        assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 404

    at_once = await client.post(
        f"/v1/apps/shop/keys/{new['api_key']['id']}/rotate",
        json={"grace_seconds": 0},
        headers=AUTH,
    )
    assert (
        await client.get("/v1/verifications/ver_x", headers=bearer(new["key"]))
    ).status_code == 401
    newest = at_once.json()["key"]
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(newest))).status_code == 404


async def test_an_expired_key_is_refused(client: AsyncTestClient[Any], redis: Redis) -> None:
    key, key_id = await new_key(client, "shop", "verify", expires_in=60)
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 404
    digest = await redis.hget(Keys.API_KEY_INDEX, key_id)
    raw = await redis.get(Keys.api_key(digest))
    await redis.set(Keys.api_key(digest), raw.replace('"expires_at":', '"expires_at":1,"_":'))
    refused = await client.get("/v1/verifications/ver_x", headers=bearer(key))
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("networks", "status"), [(["127.0.0.0/8"], 201), (["10.0.0.0/8", "2001:db8::/32"], 403)]
)
async def test_a_key_held_to_networks_is_refused_elsewhere(
    make_live_client: ClientFactory, networks: list[str], status: int
) -> None:
    async with make_live_client() as client:
        key, _ = await new_key(client, "default", "verify", networks=networks)
        sent = await client.post("/v1/verifications", json={"to": TO}, headers=bearer(key))
        assert sent.status_code == status
        if status == 403:
            assert sent.json()["code"] == "ip_not_allowed"
        else:
            assert await latest_code(client, TO)


async def test_bad_key_requests_are_400(client: AsyncTestClient[Any]) -> None:
    for body in (
        {"scopes": ["verify"], "networks": ["10.0.0.300/8"]},
        {"scopes": ["root"]},
        {"scopes": []},
        {"scopes": ["verify"], "expires_in": 1},
        {"scopes": ["verify"], "extra": 1},
    ):
        refused = await client.post("/v1/apps/shop/keys", json=body, headers=AUTH)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request"), body


async def test_last_use_is_written_at_most_once_a_minute(
    client: AsyncTestClient[Any], redis: Redis
) -> None:
    key, key_id = await new_key(client, "shop", "verify")
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 404
    for _ in range(50):  # written in the background
        if await redis.hget(Keys.API_KEY_LAST_USED, key_id):
            break
        await asyncio.sleep(0.02)
    listed = (await client.get("/v1/apps/shop/keys", headers=AUTH)).json()["keys"]
    assert abs(listed[0]["last_used_at"] - time.time()) < 60
    await redis.hdel(Keys.API_KEY_LAST_USED, key_id)
    assert (await client.get("/v1/verifications/ver_x", headers=bearer(key))).status_code == 404
    await asyncio.sleep(0.2)
    assert await redis.hget(Keys.API_KEY_LAST_USED, key_id) is None  # not again this minute
