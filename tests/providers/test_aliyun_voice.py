"""Alibaba Cloud voice: ``SingleCallByTts`` built from the documented parameters, signed
with ACS3 (the stub verifies the signature with its own code), and its answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.providers.aliyun_voice import AliyunVoiceConfig, build_request, call_params, create
from app.providers.aliyun_voice import parse_response as parse
from app.providers.base import OutgoingMessage, SendResult
from app.providers.config import Template
from tests.stubs.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunStub
from tests.stubs.loopback import serve

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01", to="+8613900001234", region="CN", locale="zh-CN",
    text="您的验证码是1, 2, 3, 4, 5, 6。", code="123456", minutes=5, channel="voice",
)  # fmt: skip
# The documented example: TtsCode TTS_10001 with TtsParam {"AckNum":"123456"}.
TEMPLATES = {"zh-CN": Template(id="TTS_10001", params=["code"], names=["AckNum"])}


def config(**overrides: Any) -> AliyunVoiceConfig:
    fields: dict[str, Any] = {
        "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET,
        "templates": TEMPLATES, "called_show_number": "4001112222",
    }  # fmt: skip
    return AliyunVoiceConfig(**(fields | overrides))


def test_the_call_carries_the_documented_parameters() -> None:
    assert call_params(MESSAGE, config(play_times=3)) == {
        "CalledNumber": "13900001234",  # mainland: 11 digits
        "CalledShowNumber": "4001112222",
        "TtsCode": "TTS_10001",
        "TtsParam": '{"AckNum":"123456"}',
        "PlayTimes": "3",
        "OutId": "msg_01",
    }


def test_the_public_mode_names_no_caller() -> None:
    assert "CalledShowNumber" not in call_params(MESSAGE, config(called_show_number=None))


def test_the_request_is_signed_with_acs3_for_single_call_by_tts() -> None:
    request = build_request(MESSAGE, config(), NOW, "nonce-1")
    assert request.method == "POST"
    assert str(request.url).startswith("https://dyvmsapi.aliyuncs.com/?")
    assert dict(parse_qsl(urlsplit(str(request.url)).query))["TtsCode"] == "TTS_10001"
    assert request.headers["x-acs-action"] == "SingleCallByTts"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert request.headers["x-acs-date"] == "2024-05-06T07:08:09Z"
    authorization = request.headers["authorization"]
    assert authorization.startswith(f"ACS3-HMAC-SHA256 Credential={ACCESS_KEY_ID},")
    assert "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;" in authorization


def test_the_documented_answer_is_accepted_with_its_call_id() -> None:
    body = {"RequestId": "8906582E-6722", "Code": "OK", "Message": "OK",
            "CallId": "116012854210^102814****"}  # fmt: skip
    assert parse(httpx.Response(200, json=body)) == SendResult.ok("116012854210^102814****")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("isv.MOBILE_NUMBER_ILLEGAL", "permanent"), ("isv.TTS_TEMPLATE_ILLEGAL", "permanent"),
     ("isv.CALLEE_NUMBER_BLACK", "permanent"), ("isv.DISPLAY_NUMBER_ILLEGAL", "account"),
     ("isv.OUT_OF_SERVICE", "account"), ("isv.BUSINESS_LIMIT_CONTROL", "retryable"),
     ("SignatureDoesNotMatch", "account"), ("Throttling.User", "retryable"),
     ("isv.SOMETHING_NEW", "retryable")],
)  # fmt: skip
def test_errors_are_classified_by_code(code: str, kind: str) -> None:
    result = parse(httpx.Response(200, json={"Code": code, "Message": "no", "RequestId": "r"}))
    assert (result.error_kind, result.error_code) == (kind, code)


def test_a_server_error_or_nonsense_is_retryable() -> None:
    assert parse(httpx.Response(503, json={"Code": "ServiceUnavailable"})).error_kind == "retryable"
    assert parse(httpx.Response(200, text="<html>")).error_code == "http_200"


async def test_the_stub_verifies_the_signature_and_places_the_call() -> None:
    stub = AliyunStub()
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            placed = await create(config(base_url=url), client).send(MESSAGE)
            forged = config(base_url=url, access_key_secret="not-the-secret")
            refused = await create(forged, client).send(MESSAGE)
    assert placed.accepted and placed.provider_message_id.startswith("116012854210^")  # type: ignore[union-attr]
    assert (refused.error_kind, refused.error_code) == ("account", "SignatureDoesNotMatch")
    assert json.loads(stub.requests[0].params["TtsParam"]) == {"AckNum": "123456"}
