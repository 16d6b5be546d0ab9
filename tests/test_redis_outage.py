"""Redis goes away and comes back: 503 store_unavailable, then recovery by itself."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.store.embedded import EmbeddedRedis
from tests.conftest import AUTH, SettingsFactory, latest_code

TO = "+8613800138000"


async def test_redis_down_answers_503_and_recovers(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path, persistent=True).start()
    try:
        settings = make_settings(redis_url=server.url, redis_timeout=0.5)
        async with AsyncTestClient(create_app(settings)) as client:
            sent = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
            assert sent.status_code == 201
            code = await latest_code(client, TO)

            server.stop()
            for request in (
                client.post("/v1/verifications", json={"to": "+14155552671"}, headers=AUTH),
                client.post("/v1/verifications/check", json={"to": TO, "code": code}, headers=AUTH),
                client.get(f"/v1/verifications/{sent.json()['id']}", headers=AUTH),
                client.get("/readyz"),
            ):
                response = await request
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["code"] == "store_unavailable"
                assert response.headers["retry-after"] == "1"
            assert (await client.get("/healthz")).status_code == 200

            server.start()  # same port, same AOF: the pending verification survived
            assert (await client.get("/readyz")).status_code == 200
            checked = await client.post(
                "/v1/verifications/check", json={"to": TO, "code": code}, headers=AUTH
            )
            assert checked.status_code == 200
            assert checked.json()["status"] == "approved"
            again = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
            assert again.status_code == 201
    finally:
        server.stop()


async def test_scripts_are_reloaded_after_script_flush(
    client: AsyncTestClient[object], redis: Redis
) -> None:
    await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
    await redis.script_flush()
    code = await latest_code(client, TO)
    checked = await client.post(
        "/v1/verifications/check", json={"to": TO, "code": code}, headers=AUTH
    )
    assert checked.json()["status"] == "approved"


async def test_inbound_messages_and_opt_outs_answer_503_while_redis_is_down(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    from tests.delivery.test_opt_out_flow import accounts, inbound_request

    server = EmbeddedRedis(tmp_path, persistent=True).start()
    try:
        settings = make_settings(redis_url=server.url, redis_timeout=0.5, **accounts())
        async with AsyncTestClient(create_app(settings)) as client:
            path = client.app.state.services.inbound.path("tencent", "default")
            server.stop()
            for request in (
                client.request(**inbound_request("tencent", path, "TD")),
                client.get("/v1/apps/default/opt-outs", headers=AUTH),
                client.post("/v1/apps/default/opt-outs/remove", json={"number": TO}, headers=AUTH),
            ):
                response = await request
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "store_unavailable"
            server.start()
            assert (await client.request(**inbound_request("tencent", path, "TD"))).is_success
            refused = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
            assert refused.json()["code"] == "number_opted_out"
    finally:
        server.stop()
