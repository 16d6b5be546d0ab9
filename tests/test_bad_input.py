"""Bad input gets a clear problem+json error and changes nothing in Redis."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.conftest import AUTH, latest_code, redis_snapshot

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
JSON = {**AUTH, "Content-Type": "application/json"}

BAD_SENDS = [
    (b"{not json", 400, "invalid_request"),
    (b"[]", 400, "invalid_request"),
    (b'{"to": 8613800138000}', 400, "invalid_request"),
    (b"{}", 400, "invalid_request"),
    (b'{"to": "+8613800138000", "channel": "carrier-pigeon"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "unknown": 1}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "purpose": "has spaces"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "client_ip": "not-an-ip"}', 400, "invalid_request"),
    (b'{"to": "+86123"}', 422, "invalid_phone"),
    (b'{"to": "hello"}', 422, "invalid_phone"),
    (b'{"to": "13800138000"}', 422, "invalid_phone"),  # national digits without country
    (b'{"to": "13800138000", "country": "QQ"}', 422, "invalid_phone"),
    (b'{"to": "+999123456789"}', 422, "invalid_phone"),
    # `to` may be an email address (254 characters); a longer number is no number
    (b'{"to": "+1' + b"5" * 40 + b'"}', 422, "invalid_phone"),
    (b'{"to": "+1' + b"5" * 260 + b'"}', 400, "invalid_request"),
    (b'{"to": "jo@example.com", "channel": "email", "country": "CN\\n"}', 400, "invalid_request"),
    (b'{"to": "jo@example.com\\n", "channel": "email"}', 400, "invalid_request"),
    (b'{"to": "jo@example.com", "channel": "email "}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "channel": "email"}', 422, "invalid_email"),
    (b'{"to": "jo@example.com", "channel": "whatsapp"}', 422, "invalid_phone"),
    (b'{"to": "+8613800138000\\u0000"}', 400, "invalid_request"),
    (b'{"to": "+86138\\u000000138000"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "purpose": "login\\n"}', 400, "invalid_request"),
    (b'{"to": "13800138000", "country": "CN\\n"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "locale": "en\\t"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "client_ip": "203.0.113.7\\n"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "client_ip": "203.0.113.0/24"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000\\u0085"}', 400, "invalid_request"),
    (b'{"to": ' + b"[" * 8000 + b"]" * 8000 + b"}", 400, "invalid_request"),
    (b"[" * 8000 + b"]" * 8000, 400, "invalid_request"),
]

BAD_CHECKS = [
    (b'{"to": "+8613800138000", "code": "12a456"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "code": 123456}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "code": "123"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000"}', 400, "invalid_request"),
    (b'{"code": "123456"}', 400, "invalid_request"),
    (b'{"id": "ver_nope", "code": "123456"}', 400, "invalid_request"),
    (b'{"to": "+86123", "code": "123456"}', 422, "invalid_phone"),
    (b'{"to": "+8613800138000", "code": "123456", "purpose": ""}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "code": "123456\\n"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "code": "123456\\u0000"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000\\u0000", "code": "123456"}', 400, "invalid_request"),
    (b'{"to": "+8613800138000", "code": "123456", "purpose": "login\\n"}', 400, "invalid_request"),
    (b'{"to": "13800138000", "country": "CN\\n", "code": "123456"}', 400, "invalid_request"),
    (b'{"id": "ver_00000000000000000000000000\\n", "code": "123456"}', 400, "invalid_request"),
    (b'{"code": ' + b"[" * 8000 + b"]" * 8000 + b"}", 400, "invalid_request"),
]


@pytest.fixture
async def pending(client: AsyncTestClient[Any]) -> str:
    """A pending verification exists, so a bad check could wrongly use one of its attempts."""
    sent = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
    assert sent.status_code == 201
    return await latest_code(client, TO)


def _assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem["type"] == f"urn:otpgate:problem:{code}"


@pytest.mark.parametrize(("body", "status", "code"), BAD_SENDS)
async def test_bad_send_is_refused_and_changes_nothing(
    client: AsyncTestClient[Any], redis: Redis, pending: str, body: bytes, status: int, code: str
) -> None:
    before = await redis_snapshot(redis)
    response = await client.post("/v1/verifications", content=body, headers=JSON)
    _assert_problem(response, status, code)
    assert await redis_snapshot(redis) == before


@pytest.mark.parametrize(("body", "status", "code"), BAD_CHECKS)
async def test_bad_check_is_refused_and_uses_no_attempt(
    client: AsyncTestClient[Any], redis: Redis, pending: str, body: bytes, status: int, code: str
) -> None:
    before = await redis_snapshot(redis)
    response = await client.post("/v1/verifications/check", content=body, headers=JSON)
    _assert_problem(response, status, code)
    assert await redis_snapshot(redis) == before


async def test_validation_errors_name_the_field(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/v1/verifications", json={"to": 5}, headers=AUTH)
    assert response.json()["errors"][0]["key"] == "to"


async def test_one_megabyte_body_is_413_and_changes_nothing(
    client: AsyncTestClient[Any], redis: Redis, pending: str
) -> None:
    before = await redis_snapshot(redis)
    body = b'{"to": "' + b"1" * 1_000_000 + b'"}'
    response = await client.post("/v1/verifications", content=body, headers=JSON)
    _assert_problem(response, 413, "payload_too_large")
    assert await redis_snapshot(redis) == before


async def test_unknown_route_and_wrong_method_are_problem_json(
    client: AsyncTestClient[Any],
) -> None:
    _assert_problem(await client.get("/v1/nothing-here", headers=AUTH), 404, "not_found")
    _assert_problem(
        await client.delete("/v1/verifications/check", headers=AUTH), 405, "method_not_allowed"
    )
    _assert_problem(await client.put("/healthz"), 405, "method_not_allowed")


async def test_a_control_character_is_named_in_errors(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/v1/verifications", json={"to": TO + "\x00"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "Contains a control character", "key": "to", "source": "body"}
    ]


BAD_ADMIN_QUERIES = [
    "client_ip=garbage",
    "client_ip=1.2.3.4/8",
    "client_ip=1.2.3.4%0A",
    "to=%2B8613800138000%00",
    "to=13800138000&country=CN%0A",
]


@pytest.mark.parametrize("query", BAD_ADMIN_QUERIES)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_bad_limits_query_is_400_and_changes_nothing(
    client: AsyncTestClient[Any], redis: Redis, pending: str, method: str, query: str
) -> None:
    before = await redis_snapshot(redis)
    response = await client.request(method, f"/v1/limits?{query}", headers=AUTH)
    _assert_problem(response, 400, "invalid_request")
    assert await redis_snapshot(redis) == before


async def test_a_verification_id_with_a_trailing_newline_is_not_found(
    client: AsyncTestClient[Any],
) -> None:
    sent = (await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)).json()
    response = await client.get(f"/v1/verifications/{sent['id']}%0A", headers=AUTH)
    _assert_problem(response, 404, "verification_not_found")
