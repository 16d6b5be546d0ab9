"""Vonage's WhatsApp channel: the Messages API (v1) template request, its answers, and a
loopback run against the stub, which checks HTTP Basic auth itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.config import Template
from app.providers.vonage import VonageConfig, build_whatsapp_request, create
from app.providers.vonage import parse_whatsapp_response as parse
from tests.providers.test_twilio import basic
from tests.stubs.loopback import serve
from tests.stubs.vonage import VonageStub

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
KEY, SECRET = "abcd1234", "the-api-secret"
MESSAGE = OutgoingMessage(
    message_id="msg_01", to="+447700900000", region="GB", locale="en-GB",
    text="Your code is 123456", code="123456", minutes=5, channel="whatsapp",
)  # fmt: skip


def config(**overrides: object) -> VonageConfig:
    fields: dict[str, object] = {
        "api_key": KEY, "api_secret": SECRET, "channels": ["whatsapp"],
        "whatsapp_from": "+447700900001",
        "whatsapp_templates": {"en": Template(id="verify_code", params=["code"])},
    }  # fmt: skip
    return VonageConfig(**(fields | overrides))  # type: ignore[arg-type]


def test_the_request_is_the_documented_template_message_with_basic_auth() -> None:
    request = build_whatsapp_request(MESSAGE, config(), NOW, "n")
    assert request.method == "POST"
    assert str(request.url) == "https://api.nexmo.com/v1/messages"
    assert request.headers["Authorization"] == basic(KEY, SECRET)
    assert request.headers["Content-Type"] == "application/json"
    # the shape of Vonage's "Send a WhatsApp template" example: digits without '+'
    assert json.loads(request.content) == {
        "message_type": "template", "channel": "whatsapp",
        "to": "447700900000", "from": "447700900001",
        "template": {"name": "verify_code", "parameters": ["123456"]},
        "whatsapp": {"policy": "deterministic", "locale": "en"},
        "client_ref": "msg_01",
    }  # fmt: skip


def test_the_template_s_language_is_its_own_or_its_locale_s() -> None:
    templates = {"zh-CN": Template(id="code_zh"), "en": Template(id="c", language="en_GB")}
    body = json.loads(build_whatsapp_request(
        msgspec.structs.replace(MESSAGE, locale="zh-CN"), config(whatsapp_templates=templates),
        NOW, "n",
    ).content)  # fmt: skip
    assert body["whatsapp"]["locale"] == "zh_CN" and body["template"]["name"] == "code_zh"
    body = json.loads(build_whatsapp_request(MESSAGE, config(whatsapp_templates=templates),
                                             NOW, "n").content)  # fmt: skip
    assert body["whatsapp"]["locale"] == "en_GB"


def test_the_documented_answer_is_accepted_with_its_uuid() -> None:
    answer = httpx.Response(202, json={"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"})
    assert parse(answer) == SendResult.ok("aaaaaaaa-bbbb-cccc-dddd-0123456789ab")


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [(401, "account", "http_401"), (402, "account", "1170"), (422, "permanent", "1020"),
     (429, "retryable", "1000"), (500, "retryable", "http_500")],
)  # fmt: skip
def test_a_problem_is_classified_by_its_status_and_keeps_its_number(
    status: int, kind: str, code: str
) -> None:
    problem = {
        "title": "Refused",
        "detail": "because",
        "type": f"https://developer.vonage.com/api-errors/messages-olympus#{code}",
    }
    if code.startswith("http_"):
        problem["type"] = "https://developer.vonage.com/api-errors#unauthorized"
    result = parse(httpx.Response(status, json=problem))
    assert result == SendResult.failed(kind, code, "because")  # type: ignore[arg-type]


def test_an_unreadable_success_is_retryable() -> None:
    assert parse(httpx.Response(202, text="ok")).error_code == "unparseable"


def test_config_needs_a_secret_a_sender_and_templates_for_whatsapp() -> None:
    with pytest.raises(ValueError, match="api_secret"):
        config(api_secret=None, signature_secret="s")
    with pytest.raises(ValueError, match="sender"):
        config(whatsapp_from=None)
    with pytest.raises(ValueError, match="whatsapp_templates"):
        config(whatsapp_templates={})
    with pytest.raises(ValueError, match="from"):
        config(channels=["sms", "whatsapp"])  # SMS needs `from`


async def test_the_stub_accepts_the_template_and_refuses_a_wrong_secret() -> None:
    stub = VonageStub(KEY, SECRET)
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            sent = await create(config(messages_base_url=url), client).send(MESSAGE)
            wrong = config(messages_base_url=url, api_secret="wrong")
            refused = await create(wrong, client).send(MESSAGE)
    assert sent.accepted and sent.provider_message_id
    assert (refused.error_kind, refused.error_code) == ("account", "http_401")
    assert stub.messages[0]["template"] == {"name": "verify_code", "parameters": ["123456"]}
