"""Twilio's other channels: calls that read the code (Calls API, TwiML ``<Say>``) and
WhatsApp templates (Messages API with ``ContentSid``), built purely, then against the
loopback stub, which checks Basic auth and the TwiML itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.config import Template
from app.providers.twilio import (
    TwilioConfig,
    build_call_request,
    build_whatsapp_request,
    create,
    parse_response,
    say_language,
    twiml,
)
from tests.providers.test_twilio import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.stubs.loopback import serve
from tests.stubs.twilio import TwilioStub, said

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
CONTENT_SID = "HXb5b62575e6e4ff6129ad7c8efe1f983e"  # the Content API docs' example sid
CALL = OutgoingMessage(
    message_id="msg_01", to="+15558675310", region="US", locale="en",
    text="Your verification code is 1, 2, 3, 4, 5, 6.", code="123456", minutes=5,
    channel="voice",
)  # fmt: skip
WHATSAPP = msgspec.structs.replace(CALL, channel="whatsapp", text="Your code is 123456")


def config(**overrides: object) -> TwilioConfig:
    fields: dict[str, object] = {
        "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_": "+15005550006",
        "channels": ["sms", "voice", "whatsapp"],
        "whatsapp_templates": {"en": Template(id=CONTENT_SID, params=["code", "minutes"])},
    }  # fmt: skip
    return TwilioConfig(**(fields | overrides))  # type: ignore[arg-type]


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


# --- calls ---------------------------------------------------------------------------


def test_twiml_says_the_text_as_often_as_asked_with_a_pause_between() -> None:
    assert twiml("Code 1, 2.", "en-US", 2) == (
        '<Response><Say language="en-US">Code 1, 2.</Say><Pause length="1"/>'
        '<Say language="en-US">Code 1, 2.</Say></Response>'
    )
    assert twiml("a", "en-GB", 1, "Polly.Amy") == (
        '<Response><Say language="en-GB" voice="Polly.Amy">a</Say></Response>'
    )


def test_twiml_escapes_what_it_says() -> None:
    assert "<b>" not in twiml('<b>"&', "en-US", 1)
    assert said(twiml('<b>"&', "en-US", 1)) == ['<b>"&']


@pytest.mark.parametrize(
    ("locale", "languages", "expected"),
    [("en", {}, "en-US"), ("zh-CN", {}, "zh-CN"), ("en-GB", {}, "en-GB"), ("fr", {}, "fr-FR"),
     ("xx", {}, "en-US"), ("zh-CN", {"zh-CN": "cmn-CN"}, "cmn-CN")],
)  # fmt: skip
def test_the_call_s_language_follows_the_locale(
    locale: str, languages: dict[str, str], expected: str
) -> None:
    assert say_language(locale, config(voice_languages=languages)) == expected


def test_a_call_request_posts_to_calls_json_with_the_twiml() -> None:
    request = build_call_request(CALL, config(voice_repeat=3), NOW, "n")
    assert request.method == "POST"
    assert str(request.url) == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    )
    assert request.headers["Authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)
    form = form_of(request)
    assert (form["To"], form["From"]) == ("+15558675310", "+15005550006")
    assert said(form["Twiml"]) == [CALL.text] * 3


def test_a_call_comes_from_voice_from_when_it_is_set() -> None:
    assert (
        form_of(build_call_request(CALL, config(voice_from="+15005550009"), NOW, "n"))["From"]
        == "+15005550009"
    )


def test_the_call_resource_is_accepted_with_its_sid() -> None:
    # the Call resource of Twilio's "Create a Call" example (abridged)
    body = {"sid": "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued",
            "to": "+14155551212", "from": "+15017122661", "direction": "outbound-api"}  # fmt: skip
    assert parse_response(httpx.Response(201, json=body)) == SendResult.ok(body["sid"])


@pytest.mark.parametrize(
    ("code", "kind"),
    [(21217, "permanent"), (13224, "permanent"), (21216, "permanent"), (21210, "account"),
     (21215, "account"), (63016, "permanent"), (63003, "permanent"), (63007, "account"),
     (63018, "retryable")],
)  # fmt: skip
def test_call_and_whatsapp_errors_are_classified_by_their_code(code: int, kind: str) -> None:
    result = parse_response(httpx.Response(400, json={"code": code, "message": "no"}))
    assert (result.error_kind, result.error_code) == (kind, str(code))


def test_config_needs_a_caller_for_calls_and_templates_for_whatsapp() -> None:
    service = "MG" + "2" * 32
    with pytest.raises(ValueError, match="voice_from"):
        config(from_=None, messaging_service_sid=service, channels=["voice"])
    config(from_=None, messaging_service_sid=service, channels=["voice"], voice_from="+1500")
    with pytest.raises(ValueError, match="whatsapp_templates"):
        config(whatsapp_templates={})
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"account_sid": "AC1", "auth_token": "t", "from": "+1",
                         "channels": ["email"]}, TwilioConfig)  # fmt: skip


# --- WhatsApp ------------------------------------------------------------------------


def test_a_whatsapp_request_names_the_template_and_its_variables() -> None:
    callback = "https://otp.example.com/v1/callbacks/twilio/t"
    request = build_whatsapp_request(
        WHATSAPP, config(whatsapp_from="+14155238886", status_callback_url=callback), NOW, "n"
    )
    assert str(request.url).endswith(f"/Accounts/{ACCOUNT_SID}/Messages.json")
    form = form_of(request)
    assert form == {
        "To": "whatsapp:+15558675310", "From": "whatsapp:+14155238886",
        "ContentSid": CONTENT_SID, "ContentVariables": '{"1":"123456","2":"5"}',
        "StatusCallback": callback,
    }  # fmt: skip


def test_whatsapp_goes_through_the_messaging_service_without_a_sender() -> None:
    service = "MG" + "2" * 32
    cfg = config(from_=None, messaging_service_sid=service, channels=["whatsapp"])
    form = form_of(build_whatsapp_request(WHATSAPP, cfg, NOW, "n"))
    assert form["MessagingServiceSid"] == service and "From" not in form


def test_whatsapp_falls_back_to_the_english_template() -> None:
    chinese = msgspec.structs.replace(WHATSAPP, locale="zh-CN")
    assert form_of(build_whatsapp_request(chinese, config(), NOW, "n"))["ContentSid"] == CONTENT_SID


# --- against the loopback stub -------------------------------------------------------


async def test_the_stub_takes_a_call_and_a_whatsapp_template() -> None:
    stub = TwilioStub(ACCOUNT_SID, AUTH_TOKEN)
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            provider = create(config(base_url=url), client)
            called = await provider.send(CALL)
            messaged = await provider.send(WHATSAPP)
            refused = await create(config(base_url=url, auth_token="wrong"), client).send(CALL)
    assert called.accepted and called.provider_message_id.startswith("CA")  # type: ignore[union-attr]
    assert messaged.accepted and messaged.provider_message_id.startswith("SM")  # type: ignore[union-attr]
    assert (refused.error_kind, refused.error_code) == ("account", "20003")
    call, message, _ = stub.requests
    assert said(call.form["Twiml"]) == [CALL.text, CALL.text]
    assert json.loads(message.form["ContentVariables"]) == {"1": "123456", "2": "5"}
