"""Twilio status callbacks: form fields to delivery reports, and X-Twilio-Signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from app.providers.reports import CallbackError, CallbackRequest, DeliveryReport
from app.providers.twilio import TwilioConfig
from app.providers.twilio.reports import REPLY, parse, verify

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
CALLBACK_URL = "https://otp.example.com/callbacks/twilio/status"
FORM = {"content-type": "application/x-www-form-urlencoded"}

# twilio.com/docs/messaging/guides/track-outbound-message-status: "a status callback
# request sent when the Message resource for an outbound SMS changes status to sent, may
# contain the following content".
DOC_SENT = {
    "AccountSid": "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "From": "+15017250604",
    "MessageSid": "SM1342fe1b2c904d1ab04f0fc7a58abca9",
    "MessageStatus": "sent",
    "SmsSid": "SM1342fe1b2c904d1ab04f0fc7a58abca9",
    "SmsStatus": "sent",
}
SID = DOC_SENT["MessageSid"]

# Twilio's documented signature example (twilio.com/docs/usage/security) and its SDK's
# unit tests (twilio-python tests/unit/test_request_validator.py): token 12345.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
SDK_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
SDK_JSON_BODY = b'{"property": "value", "boolean": true}'
SDK_JSON_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def callback(fields: dict[str, str], url: str = CALLBACK_URL, **headers: str) -> CallbackRequest:
    return CallbackRequest("POST", url, FORM | headers, urlencode(fields).encode())


def config(auth_token: str | None = "12345", **overrides: object) -> TwilioConfig:
    fields: dict[str, object] = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": auth_token,
        "from_": "+15005550006",
    }
    return TwilioConfig(**(fields | overrides))  # type: ignore[arg-type]


def signed(fields: dict[str, str], url: str, signature: str) -> CallbackRequest:
    return callback(fields, url, **{"x-twilio-signature": signature})


def stdlib_signature(token: str, url: str, fields: dict[str, str]) -> str:
    payload = url + "".join(name + fields[name] for name in sorted(fields))
    mac = hmac.new(token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


# --- reply -----------------------------------------------------------------------------


def test_reply_is_an_empty_200() -> None:
    # "should have an HTTP status code of 200 (OK). No response content is required."
    assert (REPLY.status_code, REPLY.media_type, REPLY.body) == (200, "text/plain", b"")


# --- parse -----------------------------------------------------------------------------


def test_documented_sent_callback_is_a_sent_report() -> None:
    assert parse(callback(DOC_SENT)) == [
        DeliveryReport(provider_message_id=SID, status="sent", provider_status="sent")
    ]


@pytest.mark.parametrize(
    ("message_status", "status"),
    [
        ("queued", "queued"),
        ("accepted", "queued"),
        ("scheduled", "queued"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("partially_delivered", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_message_status_maps_to_ours_and_is_kept(message_status: str, status: str) -> None:
    fields = DOC_SENT | {"MessageStatus": message_status, "SmsStatus": message_status}
    [report] = parse(callback(fields))
    assert (report.status, report.provider_status) == (status, message_status)


def test_undelivered_keeps_the_error_code() -> None:
    fields = DOC_SENT | {
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "ErrorCode": "30003",
        "RawDlrDoneDate": "2302141530",
    }
    assert parse(callback(fields)) == [
        DeliveryReport(SID, "undelivered", "undelivered", error_code="30003")
    ]


def test_failed_keeps_the_error_code() -> None:
    fields = DOC_SENT | {"MessageStatus": "failed", "SmsStatus": "failed", "ErrorCode": "30008"}
    [report] = parse(callback(fields))
    assert (report.status, report.error_code) == ("failed", "30008")


def test_raw_dlr_done_date_has_no_time_zone_so_gives_no_time() -> None:
    # Changelog 2023-02-14: YYMMDDhhmm, "does not provide timezone information … the
    # timezone offset varies between carrier partners and even within the same carrier".
    fields = DOC_SENT | {
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "RawDlrDoneDate": "2302141530",
    }
    [report] = parse(callback(fields))
    assert report.status == "delivered"
    assert report.occurred_at is None


def test_empty_error_code_is_none() -> None:
    fields = DOC_SENT | {"MessageStatus": "delivered", "ErrorCode": ""}
    [report] = parse(callback(fields))
    assert report.error_code is None


def test_unknown_new_fields_are_tolerated() -> None:
    fields = DOC_SENT | {"ApiVersion": "2010-04-01", "To": "+15558675310", "NewField": "x"}
    assert parse(callback(fields)) == [DeliveryReport(SID, "sent", "sent")]


def test_legacy_sms_fields_alone_are_read() -> None:
    fields = {"SmsSid": SID, "SmsStatus": "delivered", "AccountSid": DOC_SENT["AccountSid"]}
    assert parse(callback(fields)) == [DeliveryReport(SID, "delivered", "delivered")]


def test_our_own_query_parameters_do_not_disturb_the_form() -> None:
    request = callback(DOC_SENT, CALLBACK_URL + "?attempt=2")
    assert parse(request) == [DeliveryReport(SID, "sent", "sent")]


def test_inbound_message_webhook_is_not_a_delivery_report() -> None:
    # An incoming SMS to our number (docs/messaging/guides/webhook-request).
    inbound = {
        "MessageSid": "SM" + "b" * 32,
        "SmsSid": "SM" + "b" * 32,
        "SmsMessageSid": "SM" + "b" * 32,
        "AccountSid": DOC_SENT["AccountSid"],
        "From": "+15558675310",
        "To": "+15017250604",
        "Body": "STOP",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    assert parse(callback(inbound)) == []


def test_empty_body_is_malformed() -> None:
    with pytest.raises(CallbackError):
        parse(CallbackRequest("POST", CALLBACK_URL, FORM, b""))


def test_callback_without_message_sid_is_malformed() -> None:
    fields = {k: v for k, v in DOC_SENT.items() if k not in ("MessageSid", "SmsSid")}
    with pytest.raises(CallbackError, match="MessageSid"):
        parse(callback(fields))


def test_callback_without_status_is_malformed() -> None:
    fields = {k: v for k, v in DOC_SENT.items() if k not in ("MessageStatus", "SmsStatus")}
    with pytest.raises(CallbackError):
        parse(callback(fields))


def test_unknown_status_is_malformed() -> None:
    with pytest.raises(CallbackError, match="delivery_unknown"):
        parse(callback(DOC_SENT | {"MessageStatus": "delivery_unknown"}))


# --- verify ----------------------------------------------------------------------------


def test_documented_signature_verifies() -> None:
    request = signed(DOC_PARAMS, DOC_URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert verify(request, config(), NOW)


def test_sdk_signature_verifies() -> None:
    assert verify(signed(SDK_PARAMS, DOC_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), config(), NOW)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # signed without the port that the request arrived with
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        # signed with :443 although the request came without it
        (DOC_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        # signed with the port it came with
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        # signed with :80 although the request came without it
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_signature_counts_the_url_with_and_without_its_port(url: str, signature: str) -> None:
    assert verify(signed(SDK_PARAMS, url, signature), config(), NOW)


def test_repeated_params_are_signed_sorted_and_deduplicated() -> None:
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"
    headers = FORM | {"x-twilio-signature": "IK+Dwps556ElfBT0I3Rgjkr1wJU="}
    assert verify(CallbackRequest("POST", DOC_URL, headers, body), config(), NOW)


def test_json_webhook_verifies_its_url_and_body_hash() -> None:
    url = f"{DOC_URL}&bodySHA256={SDK_JSON_BODY_HASH}"
    headers = {
        "content-type": "application/json",
        "x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4=",
    }
    assert verify(CallbackRequest("POST", url, headers, SDK_JSON_BODY), config(), NOW)


def test_json_webhook_with_a_changed_body_fails() -> None:
    url = f"{DOC_URL}&bodySHA256={SDK_JSON_BODY_HASH}"
    headers = {
        "content-type": "application/json",
        "x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4=",
    }
    body = SDK_JSON_BODY.replace(b"true", b"false")
    assert not verify(CallbackRequest("POST", url, headers, body), config(), NOW)


def test_status_callback_signed_by_twilio_verifies_and_parses() -> None:
    signature = stdlib_signature("12345", CALLBACK_URL, DOC_SENT)
    request = signed(DOC_SENT, CALLBACK_URL, signature)
    assert verify(request, config(), NOW)
    assert parse(request) == [DeliveryReport(SID, "sent", "sent")]


def test_tampered_param_fails() -> None:
    request = signed(DOC_PARAMS | {"Digits": "1235"}, DOC_URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify(request, config(), NOW)


def test_tampered_status_fails() -> None:
    signature = stdlib_signature("12345", CALLBACK_URL, DOC_SENT)
    forged = DOC_SENT | {"MessageStatus": "delivered"}
    assert not verify(signed(forged, CALLBACK_URL, signature), config(), NOW)


def test_other_url_fails() -> None:
    request = signed(DOC_PARAMS, DOC_URL.replace("foo=1", "foo=2"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify(request, config(), NOW)


def test_wrong_auth_token_fails() -> None:
    request = signed(DOC_PARAMS, DOC_URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify(request, config("54321"), NOW)


def test_missing_signature_fails() -> None:
    assert not verify(callback(DOC_PARAMS, DOC_URL), config(), NOW)


def test_non_ascii_signature_fails_without_raising() -> None:
    assert not verify(signed(DOC_PARAMS, DOC_URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=é"), config(), NOW)


def test_account_without_auth_token_cannot_verify() -> None:
    api_key_only = config(None, api_key_sid="SK" + "1" * 32, api_key_secret="secret")
    request = signed(DOC_PARAMS, DOC_URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify(request, api_key_only, NOW)
