"""Vonage delivery receipts: GET, form and JSON webhooks to reports, and signed ``sig``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from app.providers.reports import CallbackError, CallbackRequest, DeliveryReport
from app.providers.vonage import SignatureMethod, VonageConfig
from app.providers.vonage.reports import MAX_CLOCK_SKEW, REPLY, parse, verify

CALLBACK_URL = "https://otp.example.com/callbacks/vonage/dlr"

# developer.vonage.com/en/messaging/sms/guides/delivery-receipts, "This is a typical DLR".
DOC_DLR = {
    "err-code": "0",
    "message-timestamp": "2018-10-25 12:10:29",
    "messageId": "0B00000127FDBC63",
    "msisdn": "447547232824",
    "network-code": "23410",
    "price": "0.03330000",
    "scts": "1810251310",
    "status": "delivered",
    "to": "Nexmo CLI",
}
# `scts` is documented as UTC ("The Coordinated Universal Time (UTC) when the DLR was
# received from the carrier"); the guide's example has it an hour after
# `message-timestamp`, which we take as a made-up example and follow the field's definition.
DOC_DLR_REPORT = DeliveryReport(
    provider_message_id="0B00000127FDBC63",
    status="delivered",
    provider_status="delivered",
    error_code=None,
    occurred_at=datetime(2018, 10, 25, 13, 10, tzinfo=UTC),
)
# The SMS API spec's `DeliveryReceipt` schema examples, signed-webhook fields included.
SPEC_DLR = {
    "msisdn": "447700900000",
    "to": "AcmeInc",
    "network-code": "12345",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2001011400",
    "err-code": "0",
    "api-key": "abcd1234",
    "client-ref": "my-personal-reference",
    "message-timestamp": "2020-01-01 12:00:00",
    "timestamp": "1582650446",
    "nonce": "ec11dd3e-1e7f-4db5-9467-82b02cd223b9",
}
# The spec's `InboundMessage` examples: an SMS sent to our number.
SPEC_INBOUND = {
    "api-key": "abcd1234",
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Hello world",
    "type": "text",
    "keyword": "HELLO",
    "message-timestamp": "2020-01-01 12:00:00",
    "timestamp": "1578787200",
    "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
}

# Vonage's SDK unit tests (vonage-python-sdk http_client/tests/test_auth.py).
SDK_SECRET = "signature_secret"
SDK_PARAMS = {"param1": "value1", "param2": "value2", "timestamp": "1234567890"}
SDK_NOW = datetime.fromtimestamp(1234567890, UTC)


def get(fields: dict[str, str]) -> CallbackRequest:
    return CallbackRequest("GET", f"{CALLBACK_URL}?{urlencode(fields)}", {})


def post_form(fields: dict[str, str]) -> CallbackRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return CallbackRequest("POST", CALLBACK_URL, headers, urlencode(fields).encode())


def post_json(fields: dict[str, str]) -> CallbackRequest:
    headers = {"content-type": "application/json"}
    return CallbackRequest("POST", CALLBACK_URL, headers, json.dumps(fields).encode())


Transport = Callable[[dict[str, str]], CallbackRequest]
TRANSPORTS = pytest.mark.parametrize("transport", [get, post_form, post_json])


def config(method: SignatureMethod = "md5", secret: str | None = SDK_SECRET) -> VonageConfig:
    return VonageConfig(
        api_key="abcd1234",
        from_="AcmeInc",
        api_secret="api-secret",
        signature_secret=secret,
        signature_method=method,
    )


def stdlib_hmac_sha256(fields: dict[str, str], secret: str) -> str:
    """The signing-messages guide, step by step, without the adapter's code."""
    payload = "".join(
        "&" + key + "=" + fields[key].replace("&", "_").replace("=", "_") for key in sorted(fields)
    )
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


# --- reply -----------------------------------------------------------------------------


def test_reply_is_204_no_content() -> None:
    assert (REPLY.status_code, REPLY.media_type, REPLY.body) == (204, "text/plain", b"")


# --- parse -----------------------------------------------------------------------------


@TRANSPORTS
def test_documented_dlr_reads_the_same_in_every_format(transport: Transport) -> None:
    assert parse(transport(DOC_DLR)) == [DOC_DLR_REPORT]


def test_json_receipt_is_recognised_without_a_content_type() -> None:
    request = CallbackRequest("POST", CALLBACK_URL, {}, json.dumps(DOC_DLR).encode())
    assert parse(request) == [DOC_DLR_REPORT]


def test_spec_example_with_signature_fields_is_read() -> None:
    assert parse(post_json(SPEC_DLR | {"sig": "1A20E4E2"})) == [
        DeliveryReport(
            provider_message_id="0A0000001234567B",
            status="delivered",
            provider_status="delivered",
            occurred_at=datetime(2020, 1, 1, 14, 0, tzinfo=UTC),
        )
    ]


@pytest.mark.parametrize(
    ("vonage_status", "status"),
    [
        ("accepted", "sent"),
        ("buffered", "sent"),
        ("unknown", "sent"),
        ("delivered", "delivered"),
        ("expired", "undelivered"),
        ("rejected", "undelivered"),
        ("failed", "failed"),
    ],
)
def test_status_maps_to_ours_and_is_kept(vonage_status: str, status: str) -> None:
    [report] = parse(post_json(DOC_DLR | {"status": vonage_status}))
    assert (report.status, report.provider_status) == (status, vonage_status)


@pytest.mark.parametrize(
    ("vonage_status", "err_code"),
    [("rejected", "6"), ("expired", "2"), ("failed", "99"), ("unknown", "1")],
)
def test_err_code_is_kept(vonage_status: str, err_code: str) -> None:
    [report] = parse(get(DOC_DLR | {"status": vonage_status, "err-code": err_code}))
    assert report.error_code == err_code


def test_err_code_zero_means_no_error() -> None:
    [report] = parse(get(DOC_DLR))
    assert report.error_code is None


def test_message_timestamp_stands_in_for_a_missing_scts() -> None:
    fields = {k: v for k, v in DOC_DLR.items() if k != "scts"}
    [report] = parse(post_form(fields))
    assert report.occurred_at == datetime(2018, 10, 25, 12, 10, 29, tzinfo=UTC)


def test_receipt_without_times_has_no_time() -> None:
    fields = {k: v for k, v in DOC_DLR.items() if k not in ("scts", "message-timestamp")}
    [report] = parse(get(fields))
    assert report.occurred_at is None


def test_each_part_of_a_long_message_is_its_own_receipt() -> None:
    parts = [DOC_DLR | {"messageId": f"0B00000127FDBC6{n}", "client-ref": "msg_01"} for n in (3, 4)]
    ids = [parse(post_json(part))[0].provider_message_id for part in parts]
    assert ids == ["0B00000127FDBC63", "0B00000127FDBC64"]


@TRANSPORTS
def test_inbound_sms_is_not_a_delivery_report(transport: Transport) -> None:
    assert parse(transport(SPEC_INBOUND)) == []


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'[{"messageId": "0B00000127FDBC63", "status": "delivered"}]', b'{"a": {}}'],
)
def test_unreadable_json_is_malformed(body: bytes) -> None:
    request = CallbackRequest("POST", CALLBACK_URL, {"content-type": "application/json"}, body)
    with pytest.raises(CallbackError):
        parse(request)


def test_empty_get_is_malformed() -> None:
    with pytest.raises(CallbackError):
        parse(CallbackRequest("GET", CALLBACK_URL, {}))


def test_receipt_without_message_id_is_malformed() -> None:
    with pytest.raises(CallbackError, match="messageId"):
        parse(get({k: v for k, v in DOC_DLR.items() if k != "messageId"}))


def test_unknown_status_is_malformed() -> None:
    with pytest.raises(CallbackError, match="undeliverable"):
        parse(get(DOC_DLR | {"status": "undeliverable"}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("scts", "18102513"),
        ("scts", "181025131"),
        ("scts", "1813251310"),
        ("message-timestamp", "2018-10-25"),
    ],
)
def test_unreadable_time_is_malformed(name: str, value: str) -> None:
    fields = DOC_DLR | {name: value}
    if name == "message-timestamp":
        del fields["scts"]
    with pytest.raises(CallbackError, match=name):
        parse(get(fields))


# --- verify ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "sig"),
    [
        ("md5", "724c2bf6ca423c36e20631b11d1c5753"),  # HMAC-MD5
        ("sha256", "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"),
        ("md5hash", "d72f75ac8cda9bbce891c4fa62bee6cd"),  # legacy nexmo SDK, plain MD5
    ],
)
@TRANSPORTS
def test_sdk_vectors_verify_in_every_format(
    transport: Transport, method: SignatureMethod, sig: str
) -> None:
    assert verify(transport(SDK_PARAMS | {"sig": sig}), config(method), SDK_NOW)


def test_reserved_characters_are_signed_as_underscores() -> None:
    fields = {"param1": "value&1", "param2": "value=2", "timestamp": "1234567890"}
    request = get(fields | {"sig": "2bbf0abafb2c55e5af6231513896a2ac"})
    assert verify(request, config("md5"), SDK_NOW)


def test_sdk_check_signature_vector_verifies() -> None:
    fields = {
        "param": "value",
        "timestamp": "1234567890",
        "sig": "655a4d0b7f064dff438defc52b012cf5",
    }
    assert verify(post_form(fields), config("md5"), SDK_NOW)


def test_uppercase_hex_signature_verifies() -> None:
    request = get(SDK_PARAMS | {"sig": "724C2BF6CA423C36E20631B11D1C5753"})
    assert verify(request, config("md5"), SDK_NOW)


@TRANSPORTS
def test_signed_receipt_verifies_and_parses(transport: Transport) -> None:
    fields = SPEC_DLR | {"sig": stdlib_hmac_sha256(SPEC_DLR, "the-signature-secret")}
    request = transport(fields)
    now = datetime.fromtimestamp(int(SPEC_DLR["timestamp"]), UTC) + timedelta(seconds=3)
    assert verify(request, config("sha256", "the-signature-secret"), now)
    assert [r.provider_message_id for r in parse(request)] == ["0A0000001234567B"]


def test_tampered_param_fails() -> None:
    request = get(SDK_PARAMS | {"param2": "value3", "sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5"), SDK_NOW)


def test_tampered_status_fails() -> None:
    sig = stdlib_hmac_sha256(SPEC_DLR, "the-signature-secret")
    forged = SPEC_DLR | {"status": "failed", "sig": sig}
    now = datetime.fromtimestamp(int(SPEC_DLR["timestamp"]), UTC)
    assert not verify(post_json(forged), config("sha256", "the-signature-secret"), now)


def test_wrong_secret_fails() -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5", "another_secret"), SDK_NOW)


def test_wrong_method_fails() -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5hash"), SDK_NOW)


@pytest.mark.parametrize("offset", [MAX_CLOCK_SKEW, -MAX_CLOCK_SKEW])
def test_timestamp_five_minutes_away_still_verifies(offset: timedelta) -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert verify(request, config("md5"), SDK_NOW + offset)


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)]
)
def test_stale_or_future_timestamp_fails(offset: timedelta) -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5"), SDK_NOW + offset)


def test_missing_sig_fails() -> None:
    assert not verify(get(SDK_PARAMS), config("md5"), SDK_NOW)


def test_missing_timestamp_fails() -> None:
    # Signed without a timestamp, the receipt could be replayed for ever.
    fields = {"param1": "value1", "param2": "value2"}
    sig = hmac.new(SDK_SECRET.encode(), b"&param1=value1&param2=value2", hashlib.md5).hexdigest()
    assert not verify(get(fields | {"sig": sig}), config("md5"), SDK_NOW)


@pytest.mark.parametrize("timestamp", ["soon", "-1", "99999999999999999999", "１２３"])
def test_unreadable_timestamp_fails_without_raising(timestamp: str) -> None:
    request = get(SDK_PARAMS | {"timestamp": timestamp, "sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5"), SDK_NOW)


def test_non_ascii_sig_fails_without_raising() -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c575é"})
    assert not verify(request, config("md5"), SDK_NOW)


def test_malformed_body_fails_without_raising() -> None:
    request = CallbackRequest("POST", CALLBACK_URL, {"content-type": "application/json"}, b"{")
    assert not verify(request, config("md5"), SDK_NOW)


def test_account_without_signature_secret_cannot_verify() -> None:
    request = get(SDK_PARAMS | {"sig": "724c2bf6ca423c36e20631b11d1c5753"})
    assert not verify(request, config("md5", None), SDK_NOW)
