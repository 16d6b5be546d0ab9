"""Idempotency-Key on POST /v1/verifications."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


async def _outbox_count(client: Any) -> int:
    return len((await client.get("/dev/outbox", params={"to": TO, "format": "json"})).json())


async def test_same_key_and_body_returns_the_first_response_and_sends_nothing(
    client: AsyncTestClient[Any],
) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    first = await client.post("/v1/verifications", json={"to": TO}, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # same body, written differently (spacing, field order) is still the same body
    again = await client.post(
        "/v1/verifications",
        content=b'{ "purpose":"login",  "to":"+8613800138000" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await _outbox_count(client) == 1


async def test_same_key_with_another_body_is_422(client: AsyncTestClient[Any]) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    await client.post("/v1/verifications", json={"to": TO}, headers=headers)
    other = await client.post(
        "/v1/verifications", json={"to": TO, "purpose": "signup"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert await _outbox_count(client) == 1


async def test_a_failed_request_does_not_burn_its_key(make_client: ClientFactory) -> None:
    async with make_client(resend_cooldown=60) as client:
        await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
        headers = {**AUTH, "Idempotency-Key": "retry-me"}
        refused = await client.post("/v1/verifications", json={"to": TO}, headers=headers)
        assert refused.status_code == 429
        again = await client.post("/v1/verifications", json={"to": TO}, headers=headers)
        assert again.status_code == 429  # judged afresh, not replayed
        assert again.json()["code"] == "resend_cooldown"


async def test_keys_are_per_app(client: AsyncTestClient[Any], redis: Redis) -> None:
    from app.apps.keys import ApiKeyStore

    other_key, _ = await ApiKeyStore(redis).create("other", ["verify"])
    headers = {"Idempotency-Key": "shared-name"}
    mine = await client.post("/v1/verifications", json={"to": TO}, headers={**AUTH, **headers})
    theirs = await client.post(
        "/v1/verifications",
        json={"to": TO},
        headers={"Authorization": f"Bearer {other_key}", **headers},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


async def test_replay_expires_with_the_key_ttl(make_client: ClientFactory, redis: Redis) -> None:
    async with make_client(idempotency_ttl=0.2) as client:
        headers = {**AUTH, "Idempotency-Key": "short"}
        first = (await client.post("/v1/verifications", json={"to": TO}, headers=headers)).json()
        assert await redis.exists(Keys.idempotency("default", "short"))
        await asyncio.sleep(0.3)
        assert not await redis.exists(Keys.idempotency("default", "short"))
        again = await client.post("/v1/verifications", json={"to": TO}, headers=headers)
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["sends"] == first["sends"] + 1  # a real resend this time


async def test_concurrent_requests_with_one_key_send_once(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as client:
        headers = {**AUTH, "Idempotency-Key": "double-click"}
        results = await asyncio.gather(
            *(client.post("/v1/verifications", json={"to": TO}, headers=headers) for _ in range(8))
        )
        codes = [r.status_code for r in results]
        assert codes.count(201) >= 1
        assert set(codes) <= {201, 409}
        conflicts = [r.json()["code"] for r in results if r.status_code == 409]
        assert set(conflicts) <= {"idempotency_key_in_progress"}
        assert len({r.json()["id"] for r in results if r.status_code == 201}) == 1
        assert await _outbox_count(client) == 1
