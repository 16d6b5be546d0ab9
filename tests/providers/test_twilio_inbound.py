"""Twilio incoming-message webhooks: form (or query) fields to inbound messages, signed
with X-Twilio-Signature as status callbacks are."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app.providers.reports import CallbackError, CallbackRequest, InboundMessage
from app.providers.twilio.inbound import REPLY, parse
from app.providers.twilio.reports import verify
from app.providers.twilio.signing import twilio_signature
from tests.providers.test_twilio_reports import DOC_PARAMS, DOC_URL, NOW, config

URL = "https://otp.example.com/v1/inbound/twilio/shop/0123456789abcdef0123456789abcdef"

# Built from the field table of twilio.com/docs/messaging/guides/webhook-request (its
# example column, the SIDs' Xs included) for a reply "STOP".
DOC_INCOMING = {
    "MessageSid": "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "SmsSid": "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "MessagingServiceSid": "MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "From": "+14017122661",
    "To": "+15558675310",
    "Body": "STOP",
    "NumMedia": "0",
    "NumSegments": "1",
    "SmsStatus": "received",
    "ApiVersion": "2010-04-01",
}


def post(fields: dict[str, str], url: str = URL, **headers: str) -> CallbackRequest:
    form = {"content-type": "application/x-www-form-urlencoded"}
    return CallbackRequest("POST", url, form | headers, urlencode(fields).encode())


def test_documented_incoming_message_is_one_inbound_message() -> None:
    assert parse(post(DOC_INCOMING)) == [
        InboundMessage(
            sender="+14017122661", text="STOP", provider_message_id=DOC_INCOMING["MessageSid"]
        )
    ]


def test_a_get_webhook_reads_the_query() -> None:
    request = CallbackRequest("GET", f"{URL}?{urlencode(DOC_INCOMING)}", {})
    [message] = parse(request)
    assert (message.sender, message.text) == ("+14017122661", "STOP")


def test_the_legacy_sms_sid_is_enough() -> None:
    fields = {k: v for k, v in DOC_INCOMING.items() if k != "MessageSid"}
    assert parse(post(fields))[0].provider_message_id == DOC_INCOMING["SmsSid"]


def test_an_empty_body_is_a_message_with_no_text() -> None:
    assert parse(post(DOC_INCOMING | {"Body": ""}))[0].text == ""


@pytest.mark.parametrize("missing", ["From", "Body"])
def test_a_webhook_without_sender_or_body_is_a_callback_error(missing: str) -> None:
    with pytest.raises(CallbackError):
        parse(post({k: v for k, v in DOC_INCOMING.items() if k != missing}))


def test_a_status_callback_is_no_incoming_message() -> None:
    with pytest.raises(CallbackError):
        parse(post({"MessageSid": "SM1", "MessageStatus": "delivered"}))


def test_the_reply_is_empty_twiml() -> None:
    # "simply send the following TwiML in your response to Twilio: <Response></Response>"
    assert (REPLY.status_code, REPLY.media_type) == (200, "text/xml")
    assert REPLY.body.endswith(b"<Response></Response>")


def test_the_signature_is_the_status_callbacks_own() -> None:
    # Twilio's documented example (twilio.com/docs/usage/security): token 12345.
    doc = post(DOC_PARAMS, DOC_URL, **{"x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="})
    assert verify(doc, config(), NOW)
    signature = twilio_signature("12345", URL, DOC_INCOMING)
    assert verify(post(DOC_INCOMING, **{"x-twilio-signature": signature}), config(), NOW)
    assert not verify(post(DOC_INCOMING | {"Body": "START"}, **{"x-twilio-signature": signature}),
                      config(), NOW)  # fmt: skip
    assert not verify(post(DOC_INCOMING, **{"x-twilio-signature": signature}), config("54321"),
                      NOW)  # fmt: skip
