"""The ``http`` gateway's status reports: contract, batches, signature, reply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.providers.gateway import HttpGatewayConfig, signature_header
from app.providers.gateway.reports import REPLY, parse, verify
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

CALLBACK_URL = "https://otp.example.com/callbacks/http/tok_c0de"

# Computed apart from this code, with
# `printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_test_vector`.
VECTOR_SECRET = "whsec_test_vector"
VECTOR_T = 1700000000
VECTOR_NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
VECTOR_BODY = b'{"id":"gw-7781","status":"delivered","error_code":null,"at":"2023-11-14T22:13:17Z"}'
VECTOR_SIGNATURE = "4ca6f11f68dc3bb0ab99dc939d761dc7b3f9515c34ec3366f53b9bb6f26f4897"
VECTOR_HEADER = f"t={VECTOR_T},v1={VECTOR_SIGNATURE}"

CONFIG = HttpGatewayConfig(url="https://sms-gateway.internal/v1/messages", secret=VECTOR_SECRET)


def post(body: bytes, signature: str | None = None) -> CallbackRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["otpgate-signature"] = signature
    return CallbackRequest(method="POST", url=CALLBACK_URL, headers=headers, body=body)


def one(**fields: object) -> DeliveryReport:
    (only,) = parse(post(json.dumps({"id": "gw-1", "status": "sent", **fields}).encode()))
    return only


def test_single_report_is_read() -> None:
    assert parse(post(VECTOR_BODY)) == [
        DeliveryReport(
            provider_message_id="gw-7781",
            status="delivered",
            provider_status="delivered",
            error_code=None,
            occurred_at=datetime(2023, 11, 14, 22, 13, 17, tzinfo=UTC),
        )
    ]


def test_array_carries_several_reports_in_order() -> None:
    body = (
        b'[{"id":"gw-1","status":"sent","error_code":null,"at":"2024-05-01T20:00:01+08:00"},'
        b'{"id":"gw-2","status":"undelivered","error_code":"30005","at":"2024-05-01T12:00:09Z"},'
        b'{"id":"gw-3","status":"queued","error_code":null,"at":null}]'
    )
    assert parse(post(body)) == [
        DeliveryReport("gw-1", "sent", "sent", None, datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)),
        DeliveryReport(
            "gw-2",
            "undelivered",
            "undelivered",
            "30005",
            datetime(2024, 5, 1, 12, 0, 9, tzinfo=UTC),
        ),
        DeliveryReport("gw-3", "queued", "queued", None, None),
    ]


def test_empty_array_is_no_report() -> None:
    assert parse(post(b"[]")) == []


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "undelivered", "failed"])
def test_contract_statuses_map_to_themselves(status: str) -> None:
    report = one(status=status)
    assert (report.status, report.provider_status) == (status, status)


def test_error_code_is_kept() -> None:
    assert one(status="failed", error_code="E_BLOCKED").error_code == "E_BLOCKED"


def test_offset_time_is_converted_to_utc() -> None:
    at = one(at="2024-05-01T08:00:00-04:00").occurred_at
    assert at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert at is not None and at.utcoffset() == timedelta(0)


def test_absent_fields_are_null() -> None:
    report = one()
    assert (report.error_code, report.occurred_at) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"status":"sent"}',
        b'{"id":"","status":"sent"}',
        b'{"id":"gw-1"}',
        b'{"id":"gw-1","status":"read"}',
        b'{"id":"gw-1","status":"SENT"}',
        b'{"id":"gw-1","status":"sent","error_code":30005}',
        b'{"id":"gw-1","status":"sent","at":"2024-05-01T12:00:00"}',
        b'{"id":"gw-1","status":"sent","at":"yesterday"}',
        b'[{"id":"gw-1","status":"sent"},{"id":"gw-2"}]',
        b'"gw-1 delivered"',
    ],
)
def test_body_outside_the_contract_is_malformed(body: bytes) -> None:
    with pytest.raises(CallbackError):
        parse(post(body))


def test_signature_vector_verifies() -> None:
    assert verify(post(VECTOR_BODY, VECTOR_HEADER), CONFIG, VECTOR_NOW)


def test_signature_made_by_the_send_adapter_helper_verifies() -> None:
    header = signature_header(VECTOR_SECRET, VECTOR_T, VECTOR_BODY)
    assert header == VECTOR_HEADER
    assert verify(post(VECTOR_BODY, header), CONFIG, VECTOR_NOW)


def test_tampered_body_fails() -> None:
    tampered = VECTOR_BODY.replace(b"delivered", b"failed")
    assert not verify(post(tampered, VECTOR_HEADER), CONFIG, VECTOR_NOW)


def test_wrong_secret_fails() -> None:
    other = HttpGatewayConfig(url=CONFIG.url, secret="whsec_other")
    assert not verify(post(VECTOR_BODY, VECTOR_HEADER), other, VECTOR_NOW)


def test_stale_signature_fails() -> None:
    later = VECTOR_NOW + timedelta(minutes=5, seconds=1)
    assert not verify(post(VECTOR_BODY, VECTOR_HEADER), CONFIG, later)


def test_missing_signature_fails() -> None:
    assert not verify(post(VECTOR_BODY), CONFIG, VECTOR_NOW)


def test_one_valid_signature_among_rotated_ones_verifies() -> None:
    header = f"t={VECTOR_T},v1={'0' * 64},v1={VECTOR_SIGNATURE}"
    assert verify(post(VECTOR_BODY, header), CONFIG, VECTOR_NOW)


def test_reply_is_204_without_body() -> None:
    assert CallbackReply(status_code=204, media_type="text/plain", body=b"") == REPLY
