"""Tencent Cloud voice: VMS ``SendTtsVoice`` from the documented example, signed with TC3
for service ``vms`` (the stub verifies it with its own code), and its answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.config import Template
from app.providers.tencent_voice import (
    TencentVoiceConfig,
    build_request,
    create,
    parse_response,
    spoken_digits,
)
from tests.stubs.loopback import serve
from tests.stubs.tencent import SECRET_ID, SECRET_KEY, TencentStub

APP_ID = "1400006666"
NOW = datetime.fromtimestamp(1551113065, UTC)
MESSAGE = OutgoingMessage(
    message_id="sc-t", to="+8613788888888", region="CN", locale="zh-CN",
    text="您的验证码是7, 6, 5, 2。", code="7652", minutes=5, channel="voice",
)  # fmt: skip


def config(**overrides: Any) -> TencentVoiceConfig:
    fields: dict[str, Any] = {
        "secret_id": SECRET_ID, "secret_key": SECRET_KEY, "voice_sdk_app_id": APP_ID,
        "templates": {"zh-CN": Template(id="4356", params=["code"])},
    }  # fmt: skip
    return TencentVoiceConfig(**(fields | overrides))


def test_digits_are_read_one_by_one() -> None:
    assert spoken_digits("7652") == "7,6,5,2"


def test_the_body_is_the_documented_example_with_the_code_spelled() -> None:
    request = build_request(MESSAGE, config(), NOW, "unused")
    # the doc's example: TemplateId 4356, PlayTimes 2, CalledNumber +8613788888888,
    # SessionContext sc-t, VoiceSdkAppid 1400006666; "7652" goes as "7,6,5,2"
    assert json.loads(request.content) == {
        "TemplateId": "4356", "TemplateParamSet": ["7,6,5,2"], "CalledNumber": "+8613788888888",
        "VoiceSdkAppid": "1400006666", "PlayTimes": 2, "SessionContext": "sc-t",
    }  # fmt: skip


def test_the_request_is_signed_with_tc3_for_vms() -> None:
    request = build_request(MESSAGE, config(), NOW, "unused")
    assert str(request.url) == "https://vms.tencentcloudapi.com/"
    assert request.headers["x-tc-action"] == "SendTtsVoice"
    assert request.headers["x-tc-version"] == "2020-09-02"
    assert request.headers["x-tc-timestamp"] == "1551113065"
    assert request.headers["authorization"].startswith(
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2019-02-25/vms/tc3_request, "
        "SignedHeaders=content-type;host, Signature="
    )


def test_the_documented_answer_is_accepted_with_its_call_id() -> None:
    body = {"Response": {"SendStatus": {"CallId": "12582bce-4f0e-4b39-b6bf-6c6d5ec0a08b",
                                        "SessionContext": "sc-t"}, "RequestId": "r"}}  # fmt: skip
    result = parse_response(httpx.Response(200, json=body))
    assert result == SendResult.ok("12582bce-4f0e-4b39-b6bf-6c6d5ec0a08b")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("AuthFailure.SignatureFailure", "account"), ("UnauthorizedOperation.NotAllowed", "account"),
     ("FailedOperation.TemplateIncorrectOrUnapproved", "permanent"),
     ("InvalidParameterValue.IncorrectPhoneNumber", "permanent"),
     ("LimitExceeded.DeliveryFrequencyLimit", "retryable"), ("InternalError", "retryable")],
)  # fmt: skip
def test_errors_are_classified_as_tencent_s_other_apis(code: str, kind: str) -> None:
    body = {"Response": {"Error": {"Code": code, "Message": "no"}, "RequestId": "r"}}
    result = parse_response(httpx.Response(200, json=body))
    assert (result.error_kind, result.error_code) == (kind, code)


def test_an_answer_without_a_call_id_is_retryable() -> None:
    assert parse_response(httpx.Response(200, json={"Response": {}})).error_kind == "retryable"
    assert parse_response(httpx.Response(502, text="bad gateway")).error_code == "http_502"


async def test_the_stub_verifies_the_signature_and_places_the_call() -> None:
    stub = TencentStub(sms_sdk_app_id=APP_ID, service="vms")
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            placed = await create(config(base_url=url), client).send(MESSAGE)
            forged = await create(config(base_url=url, secret_key="wrong"), client).send(MESSAGE)
    assert placed.accepted and placed.provider_message_id
    assert (forged.error_kind, forged.error_code) == ("account", "AuthFailure.SignatureFailure")
    assert stub.requests[0].body["TemplateParamSet"] == ["7,6,5,2"]
