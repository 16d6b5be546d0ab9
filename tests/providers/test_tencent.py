"""Tencent Cloud SMS adapter: TC3 signing pinned to Tencent's documented example, the
exact request, the error classification, and end to end against a verifying stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from app.providers.base import OutgoingMessage
from app.providers.config import Template
from app.providers.tencent import (
    TencentConfig,
    build_request,
    create,
    parse_response,
    tc3_authorization,
    tc3_canonical_request,
    tc3_credential_scope,
    tc3_signature,
    tc3_signing_key,
    tc3_string_to_sign,
)
from tests.stubs.loopback import closed_port_url, serve
from tests.stubs.tencent import SECRET_ID, SECRET_KEY, SMS_SDK_APP_ID, TencentStub

NOW = datetime(2024, 5, 1, 8, 30, 0, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01HX7Q2Z",
    to="+8613800138000",
    region="CN",
    locale="zh-CN",
    text="您的验证码是123456，5分钟内有效。",
    code="123456",
    minutes=5,
)
TEMPLATES = {
    "zh": Template(id="1110", params=["code", "minutes"]),
    "en": Template(id="2220"),
}


def make_config(**overrides: Any) -> TencentConfig:
    values: dict[str, Any] = {
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sms_sdk_app_id": SMS_SDK_APP_ID,
        "sign_name": "腾讯云",
        "templates": TEMPLATES,
    }
    return TencentConfig(**{**values, **overrides})


def reply(status: int, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content)


# --- TC3-HMAC-SHA256: the documented CVM example ------------------------------------

CVM_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
CVM_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
CVM_TIMESTAMP = 1551113065
CVM_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "host": "cvm.tencentcloudapi.com",
}
CVM_BODY = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
CVM_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_canonical_request_of_the_doc_example() -> None:
    assert tc3_canonical_request(CVM_HEADERS, CVM_BODY) == (
        "POST\n/\n\n"
        "content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )


def test_string_to_sign_of_the_doc_example() -> None:
    canonical = tc3_canonical_request(CVM_HEADERS, CVM_BODY)
    assert tc3_string_to_sign(CVM_TIMESTAMP, "cvm", canonical) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )


def test_signature_reproduces_the_doc_example() -> None:
    string_to_sign = tc3_string_to_sign(
        CVM_TIMESTAMP, "cvm", tc3_canonical_request(CVM_HEADERS, CVM_BODY)
    )
    assert tc3_signature(CVM_SECRET_KEY, CVM_TIMESTAMP, "cvm", string_to_sign) == CVM_SIGNATURE


def test_authorization_header_of_the_doc_example() -> None:
    authorization = tc3_authorization(
        CVM_SECRET_ID, CVM_SECRET_KEY, CVM_TIMESTAMP, "cvm", CVM_HEADERS, CVM_BODY
    )
    assert authorization == (
        "TC3-HMAC-SHA256 "
        "Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={CVM_SIGNATURE}"
    )


def test_signing_key_is_derived_date_then_service_then_terminator() -> None:
    base = tc3_signing_key(CVM_SECRET_KEY, "2019-02-25", "cvm")
    assert len(base) == 32
    assert tc3_signing_key(CVM_SECRET_KEY, "2019-02-26", "cvm") != base
    assert tc3_signing_key(CVM_SECRET_KEY, "2019-02-25", "sms") != base
    assert tc3_signing_key("other" + CVM_SECRET_KEY, "2019-02-25", "cvm") != base


def test_credential_scope_uses_the_utc_date() -> None:
    # 23:30 UTC is already the next day in Beijing; the scope keeps the UTC date.
    late = int(datetime(2024, 5, 1, 23, 30, tzinfo=UTC).timestamp())
    assert tc3_credential_scope(late, "sms") == "2024-05-01/sms/tc3_request"


def test_canonical_headers_are_lowercased_trimmed_and_sorted() -> None:
    canonical = tc3_canonical_request(
        {"Host": " sms.tencentcloudapi.com ", "Content-Type": "a/b"}, b""
    )
    assert canonical.split("\n")[3:7] == [
        "content-type:a/b",
        "host:sms.tencentcloudapi.com",
        "",
        "content-type;host",
    ]


# --- build_request ------------------------------------------------------------------


def test_request_is_a_signed_json_post() -> None:
    beijing = timezone(timedelta(hours=8))
    request = build_request(MESSAGE, make_config(), NOW.astimezone(beijing), "unused")

    assert request.method == "POST"
    assert str(request.url) == "https://sms.tencentcloudapi.com/"
    timestamp = int(NOW.timestamp())
    assert {name: request.headers[name] for name in request.headers if name != "authorization"} == {
        "host": "sms.tencentcloudapi.com",
        "content-type": "application/json; charset=utf-8",
        "x-tc-action": "SendSms",
        "x-tc-version": "2021-01-11",
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": "ap-guangzhou",
        "content-length": str(len(request.content)),
    }
    assert json.loads(request.content) == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": SMS_SDK_APP_ID,
        "SignName": "腾讯云",
        "TemplateId": "1110",
        "TemplateParamSet": ["123456", "5"],
        "SessionContext": "msg_01HX7Q2Z",
    }
    signed = {"content-type": "application/json; charset=utf-8", "host": "sms.tencentcloudapi.com"}
    assert request.headers["authorization"] == tc3_authorization(
        SECRET_ID, SECRET_KEY, timestamp, "sms", signed, request.content
    )
    assert (
        f"Credential={SECRET_ID}/2024-05-01/sms/tc3_request, " in request.headers["authorization"]
    )


def test_phone_number_is_sent_in_e164_with_the_plus() -> None:
    message = OutgoingMessage(
        message_id="m", to="+85291234567", region="HK", locale="en", text="", code="9", minutes=5
    )
    body = json.loads(build_request(message, make_config(), NOW, "n").content)
    assert body["PhoneNumberSet"] == ["+85291234567"]
    assert body["TemplateId"] == "2220"
    assert body["TemplateParamSet"] == ["9"]


def test_sign_name_is_left_out_when_not_configured() -> None:
    body = json.loads(build_request(MESSAGE, make_config(sign_name=None), NOW, "n").content)
    assert "SignName" not in body


def test_region_and_base_url_are_configurable() -> None:
    config = make_config(region="ap-beijing", base_url="https://sms.ap-beijing.tencentcloudapi.com")
    request = build_request(MESSAGE, config, NOW, "n")
    assert request.headers["x-tc-region"] == "ap-beijing"
    assert request.headers["host"] == "sms.ap-beijing.tencentcloudapi.com"


# --- parse_response -----------------------------------------------------------------


def send_status(code: str, message: str = "m", serial_no: str = "") -> dict[str, Any]:
    return {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": serial_no,
                    "PhoneNumber": "+8613800138000",
                    "Fee": 1,
                    "SessionContext": "msg_01HX7Q2Z",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
        }
    }


def request_error(code: str, message: str = "m") -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r"}}


def test_ok_is_accepted_with_the_serial_no() -> None:
    result = parse_response(reply(200, send_status("Ok", "send success", "2645:104000000000")))
    assert result.accepted
    assert result.provider_message_id == "2645:104000000000"


def test_invalid_number_is_permanent() -> None:
    result = parse_response(
        reply(200, send_status("InvalidParameterValue.IncorrectPhoneNumber", "bad"))
    )
    assert (result.error_kind, result.error_code, result.error_message) == (
        "permanent",
        "InvalidParameterValue.IncorrectPhoneNumber",
        "bad",
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("FailedOperation.PhoneNumberInBlacklist", "permanent"),
        ("FailedOperation.PhoneNumberParseFail", "permanent"),
        ("FailedOperation.TemplateIncorrectOrUnapproved", "permanent"),
        ("FailedOperation.SignatureIncorrectOrUnapproved", "permanent"),
        ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "permanent"),
        ("FailedOperation.ContainSensitiveWord", "permanent"),
        ("InvalidParameterValue.TemplateParameterFormatError", "permanent"),
        ("UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone", "permanent"),
        ("FailedOperation.InsufficientBalanceInSmsPackage", "account"),
        ("UnauthorizedOperation.SerivceSuspendDueToArrears", "account"),
        ("LimitExceeded.AppDailyLimit", "account"),
        ("LimitExceeded.PhoneNumberThirtySecondLimit", "retryable"),
        ("LimitExceeded.PhoneNumberDailyLimit", "retryable"),
        ("LimitExceeded.DeliveryFrequencyLimit", "retryable"),
        ("UnsupportedOperation.UnsuportedRegion", "retryable"),
        ("InternalError.Timeout", "retryable"),
        ("FailedOperation.SomethingNew", "retryable"),
    ],
)
def test_per_number_errors_are_classified(code: str, kind: str) -> None:
    result = parse_response(reply(200, send_status(code)))
    assert (result.error_kind, result.error_code) == (kind, code)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AuthFailure.SignatureFailure", "account"),
        ("AuthFailure.SignatureExpire", "account"),
        ("AuthFailure.SecretIdNotFound", "account"),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "account"),
        ("InternalError.RequestTimeException", "account"),
        ("RequestLimitExceeded", "retryable"),
        ("InternalError.SendAndRecvFail", "retryable"),
        ("InvalidParameterValue.IncorrectPhoneNumber", "permanent"),
        ("MissingParameter.EmptyPhoneNumberSet", "permanent"),
    ],
)
def test_request_errors_are_classified(code: str, kind: str) -> None:
    result = parse_response(reply(200, request_error(code, "why")))
    assert (result.error_kind, result.error_code, result.error_message) == (kind, code, "why")


def test_5xx_is_retryable() -> None:
    result = parse_response(reply(503, request_error("InvalidParameterValue.IncorrectPhoneNumber")))
    assert result.error_kind == "retryable"


@pytest.mark.parametrize(
    ("status", "body"),
    [(502, b"<html>502 Bad Gateway</html>"), (200, b"{}"), (200, b"not json")],
)
def test_unparseable_body_is_retryable(status: int, body: bytes) -> None:
    result = parse_response(reply(status, body))
    assert (result.error_kind, result.error_code) == ("retryable", f"http_{status}")


def test_empty_send_status_set_is_retryable() -> None:
    result = parse_response(reply(200, {"Response": {"SendStatusSet": [], "RequestId": "r"}}))
    assert (result.error_kind, result.error_code) == ("retryable", "http_200")


# --- end to end against the verifying stub ------------------------------------------


@pytest.fixture
def stub() -> TencentStub:
    return TencentStub()


@pytest.fixture
def stub_url(stub: TencentStub) -> Iterator[str]:
    with serve(stub) as url:
        yield url


async def test_message_is_accepted_with_the_stubs_serial_no(
    stub: TencentStub, stub_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert result.accepted, result
    assert result.provider_message_id == "2645:0000000001"
    [received] = stub.requests
    assert received.body["PhoneNumberSet"] == ["+8613800138000"]
    assert received.body["TemplateParamSet"] == ["123456", "5"]
    assert received.body["SessionContext"] == "msg_01HX7Q2Z"
    assert received.headers["x-tc-action"] == "SendSms"


async def test_wrong_secret_is_refused_and_is_an_account_error(stub_url: str) -> None:
    config = make_config(base_url=stub_url, secret_key="not-the-secret")
    async with httpx.AsyncClient() as client:
        result = await create(config, client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("account", "AuthFailure.SignatureFailure")


async def test_clock_skew_is_refused_and_is_an_account_error(stub_url: str) -> None:
    skewed = datetime.now(UTC) - timedelta(minutes=10)
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client, clock=lambda: skewed).send(
            MESSAGE
        )

    assert (result.error_kind, result.error_code) == ("account", "AuthFailure.SignatureExpire")


async def test_foreign_app_id_is_an_account_error(stub_url: str) -> None:
    config = make_config(base_url=stub_url, sms_sdk_app_id="1400999999")
    async with httpx.AsyncClient() as client:
        result = await create(config, client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == (
        "account",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    )


async def test_server_error_is_retryable(stub: TencentStub, stub_url: str) -> None:
    stub.server_error = 502
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "http_502")


async def test_invalid_number_from_the_stub_is_permanent(stub: TencentStub, stub_url: str) -> None:
    stub.invalid_numbers = {"+8613800138000"}
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == (
        "permanent",
        "InvalidParameterValue.IncorrectPhoneNumber",
    )


async def test_slow_provider_is_a_retryable_timeout(stub: TencentStub, stub_url: str) -> None:
    stub.delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=closed_port_url()), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


async def test_stub_refuses_a_request_altered_after_signing(stub_url: str) -> None:
    request = build_request(MESSAGE, make_config(base_url=stub_url), datetime.now(UTC), "n")
    altered = httpx.Request(
        "POST",
        request.url,
        headers=request.headers,
        content=request.content.replace(b"+8613800138000", b"+8613900139000"),
    )
    async with httpx.AsyncClient() as client:
        result = parse_response(await client.send(altered))

    assert (result.error_kind, result.error_code) == ("account", "AuthFailure.SignatureFailure")
