"""The generic ``http`` gateway provider: signature, request, contract, loopback round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.providers.base import OutgoingMessage
from app.providers.gateway import (
    HttpGatewayConfig,
    build_request,
    create,
    parse_response,
    sign,
    signature_header,
    verify_signature,
)
from tests.stubs.http_gateway import PATH, SECRET, HttpGatewayStub
from tests.stubs.loopback import closed_port_url, serve

# Expected values computed apart from this code, with
# `printf '%s' '<t>.<body>' | openssl dgst -sha256 -hmac whsec_test_vector`.
VECTOR_SECRET = "whsec_test_vector"
VECTOR_T = 1700000000
VECTOR_NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
VECTOR_BODY = b'{"id":"msg_01","to":"+8613800000000"}'
VECTOR_SIGNATURE = "123a8c079063c876fc844e889cdeda2f74a0ff84670d0c7de7eeaad585c3c08c"
SEND_BODY = (
    '{"id":"msg_01","to":"+8613800000000","text":"您的验证码是123456",'
    '"locale":"zh-CN","region":"CN"}'
).encode()
SEND_SIGNATURE = "0fe52c56414496a49a27dda00812cbf1200dbc26186a440efa8730e0ab081612"


def message(to: str = "+8613800000000") -> OutgoingMessage:
    return OutgoingMessage(
        message_id="msg_01",
        to=to,
        region="CN",
        locale="zh-CN",
        text="您的验证码是123456",
        code="123456",
        minutes=5,
    )


def config(**overrides: Any) -> HttpGatewayConfig:
    values: dict[str, Any] = {"url": "https://sms.internal/v1/messages", "secret": VECTOR_SECRET}
    return HttpGatewayConfig(**(values | overrides))


# --- sign and verify ---------------------------------------------------------------------


def test_sign_matches_an_independently_computed_hmac() -> None:
    assert sign(VECTOR_SECRET, VECTOR_T, VECTOR_BODY) == VECTOR_SIGNATURE


def test_sign_covers_an_empty_body() -> None:
    expected = "5d214ab8aae77534faddd1185d69bf8cc2e74a38a53fcac06058e79a7ebed96f"

    assert sign(VECTOR_SECRET, VECTOR_T, b"") == expected


def test_sign_covers_the_utf8_bytes_of_the_body() -> None:
    expected = "8b0302a8d8010e23a4ac29a385789f1037be6cc0b433b95e5e886d9a0df800db"

    assert sign(VECTOR_SECRET, VECTOR_T, '{"text":"验证码"}'.encode()) == expected


def test_signature_header_carries_time_and_v1() -> None:
    header = signature_header(VECTOR_SECRET, VECTOR_T, VECTOR_BODY)

    assert header == f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"


def test_fresh_signature_verifies() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW)


def test_signature_within_tolerance_verifies() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW + timedelta(seconds=300))
    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW - timedelta(seconds=300))


def test_stale_signature_is_refused() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

    assert not verify_signature(
        VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW + timedelta(seconds=301)
    )


def test_signature_from_the_future_is_refused() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

    assert not verify_signature(
        VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW - timedelta(seconds=301)
    )


def test_tolerance_can_be_narrowed() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"
    later = VECTOR_NOW + timedelta(seconds=31)

    assert not verify_signature(VECTOR_SECRET, header, VECTOR_BODY, later, tolerance=30)


def test_tampered_body_is_refused() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"
    tampered = VECTOR_BODY.replace(b"+86138", b"+86139")

    assert not verify_signature(VECTOR_SECRET, header, tampered, VECTOR_NOW)


def test_other_secret_is_refused() -> None:
    header = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

    assert not verify_signature("whsec_other", header, VECTOR_BODY, VECTOR_NOW)


def test_changed_timestamp_is_refused() -> None:
    header = f"t={VECTOR_T + 1},v1={VECTOR_SIGNATURE}"

    assert not verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW)


def test_any_of_several_v1_signatures_verifies_for_secret_rotation() -> None:
    header = f"t={VECTOR_T},v1={'0' * 64},v1={VECTOR_SIGNATURE}"

    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW)


def test_spaces_after_commas_are_tolerated() -> None:
    header = f"t={VECTOR_T}, v1={VECTOR_SIGNATURE}"

    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"v1={VECTOR_SIGNATURE}",
        f"t={VECTOR_T}",
        f"t=abc,v1={VECTOR_SIGNATURE}",
        f"t=-{VECTOR_T},v1={VECTOR_SIGNATURE}",
        f"t={VECTOR_T},t={VECTOR_T},v1={VECTOR_SIGNATURE}",
        f"t={VECTOR_T},v0={VECTOR_SIGNATURE}",
        f"t={VECTOR_T},v1={VECTOR_SIGNATURE.upper()}",
        f"t={VECTOR_T},v1=é{VECTOR_SIGNATURE}",
        f"t=²,v1={VECTOR_SIGNATURE}",
    ],
)
def test_malformed_signature_headers_are_refused(header: str) -> None:
    assert not verify_signature(VECTOR_SECRET, header, VECTOR_BODY, VECTOR_NOW)


# --- the send request --------------------------------------------------------------------


def test_request_posts_the_rendered_text_as_json() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert request.method == "POST"
    assert str(request.url) == "https://sms.internal/v1/messages"
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == SEND_BODY


def test_request_never_sends_the_code_on_its_own() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert "code" not in json.loads(request.content)


def test_request_is_signed_at_now() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert request.headers["Otpgate-Signature"] == f"t={VECTOR_T},v1={SEND_SIGNATURE}"


def test_request_carries_the_message_id_as_idempotency_key() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert request.headers["Idempotency-Key"] == "msg_01"


def test_static_headers_are_added_but_cannot_replace_the_signature() -> None:
    static = {"X-Tenant": "otpgate", "otpgate-signature": "forged", "IDEMPOTENCY-KEY": "x"}
    request = build_request(message(), config(headers=static), VECTOR_NOW, "unused")

    assert request.headers["X-Tenant"] == "otpgate"
    assert request.headers.get_list("Otpgate-Signature") == [f"t={VECTOR_T},v1={SEND_SIGNATURE}"]
    assert request.headers.get_list("Idempotency-Key") == ["msg_01"]


# --- the response contract ---------------------------------------------------------------


def refusal(status: int, code: str, kind: str | None = None) -> httpx.Response:
    error = {"code": code, "message": "why"} | ({"kind": kind} if kind else {})
    return httpx.Response(status, json={"error": error})


def test_2xx_with_an_id_is_accepted() -> None:
    result = parse_response(httpx.Response(202, json={"id": "gw_42"}))

    assert result.accepted
    assert result.provider_message_id == "gw_42"


def test_2xx_without_an_id_is_retryable() -> None:
    result = parse_response(httpx.Response(200, json={"ok": True}))

    assert (result.error_kind, result.error_code) == ("retryable", "unparseable")


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (refusal(422, "invalid_number", "permanent"), "permanent", "invalid_number"),
        (refusal(402, "no_credit", "account"), "account", "no_credit"),
        (refusal(400, "bad_request"), "permanent", "bad_request"),
        (refusal(400, "odd", "bogus"), "permanent", "odd"),
        (refusal(401, "bad_signature"), "account", "bad_signature"),
        (refusal(403, "forbidden"), "account", "forbidden"),
        (refusal(429, "throttled", "permanent"), "retryable", "throttled"),
        (refusal(408, "slow"), "retryable", "slow"),
        (refusal(503, "unavailable", "account"), "retryable", "unavailable"),
        (httpx.Response(500, text="<html>oops</html>"), "retryable", "http_500"),
        (httpx.Response(404, text="<html>not found</html>"), "retryable", "http_404"),
        (httpx.Response(401, text="Unauthorized"), "account", "http_401"),
        (httpx.Response(302, headers={"Location": "/login"}), "retryable", "http_302"),
    ],
)
def test_errors_are_classified_by_the_contract(
    response: httpx.Response, kind: str, code: str
) -> None:
    result = parse_response(response)

    assert not result.accepted
    assert (result.error_kind, result.error_code) == (kind, code)


def test_error_message_is_kept() -> None:
    result = parse_response(refusal(422, "invalid_number", "permanent"))

    assert result.error_message == "why"


# --- round trips against the loopback gateway --------------------------------------------


@pytest.fixture
def stub() -> HttpGatewayStub:
    return HttpGatewayStub()


@pytest.fixture
def stub_url(stub: HttpGatewayStub) -> Iterator[str]:
    with serve(stub.app) as url:
        yield url + PATH


def stub_config(url: str, secret: str = SECRET) -> HttpGatewayConfig:
    return HttpGatewayConfig(url=url, secret=secret, headers={"X-Tenant": "otpgate"})


async def test_gateway_accepts_a_signed_send(stub: HttpGatewayStub, stub_url: str) -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert result.accepted
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("gw_")
    [received] = stub.received
    assert received.body == {
        "id": "msg_01",
        "to": "+8613800000000",
        "text": "您的验证码是123456",
        "locale": "zh-CN",
        "region": "CN",
    }
    assert received.headers["x-tenant"] == "otpgate"


async def test_what_was_sent_verifies_with_verify_signature(
    stub: HttpGatewayStub, stub_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        await create(stub_config(stub_url), client).send(message())

    [received] = stub.received
    header = received.headers["otpgate-signature"]
    assert verify_signature(SECRET, header, received.raw, datetime.now(UTC))


async def test_resending_the_same_message_gets_the_same_gateway_id(stub_url: str) -> None:
    async with httpx.AsyncClient() as client:
        provider = create(stub_config(stub_url), client)
        first = await provider.send(message())
        second = await provider.send(message())

    assert first.provider_message_id == second.provider_message_id


async def test_wrong_secret_is_refused_as_account(stub_url: str) -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url, secret="whsec_wrong"), client).send(message())

    assert (result.error_kind, result.error_code) == ("account", "bad_signature")


async def test_gateway_out_of_credit_is_account(stub: HttpGatewayStub, stub_url: str) -> None:
    stub.out_of_credit = True
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("account", "no_credit")


async def test_invalid_number_is_permanent(stub: HttpGatewayStub, stub_url: str) -> None:
    stub.invalid_numbers.add("+8613800000000")
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("permanent", "invalid_number")


async def test_gateway_server_error_is_retryable(stub: HttpGatewayStub, stub_url: str) -> None:
    stub.fail_with_status = 503
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "unavailable")


async def test_slow_gateway_is_a_retryable_timeout(stub: HttpGatewayStub, stub_url: str) -> None:
    stub.delay = 0.5
    async with httpx.AsyncClient(timeout=0.2) as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_closed_port_is_retryable_unreachable() -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(closed_port_url()), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")
