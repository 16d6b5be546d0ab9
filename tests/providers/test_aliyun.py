"""Alibaba Cloud Dysmsapi adapter: signatures pinned to Alibaba's documented examples,
the exact request, the error classification, and end to end against a verifying stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
import pytest

from app.providers.aliyun import (
    AliyunConfig,
    acs3_authorization,
    acs3_canonical_request,
    acs3_signature,
    acs3_string_to_sign,
    build_request,
    create,
    parse_response,
    percent_encode,
    phone_number,
    rpc_signature,
    rpc_string_to_sign,
)
from app.providers.base import OutgoingMessage
from app.providers.config import Template
from tests.stubs.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunStub
from tests.stubs.loopback import closed_port_url, serve

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
NOW = datetime(2024, 5, 1, 8, 30, 0, tzinfo=UTC)
NONCE = "3156853299f313e23d1673dc12e1703d"
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
    "zh": Template(id="SMS_71390007", params=["code", "minutes"], names=["code", "min"]),
    "en": Template(id="SMS_71390008"),
}


def make_config(**overrides: Any) -> AliyunConfig:
    values: dict[str, Any] = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "sign_name": "阿里云短信测试",
        "templates": TEMPLATES,
    }
    return AliyunConfig(**{**values, **overrides})


def reply(status: int, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content)


# --- V1 (RPC, HMAC-SHA1): the documented examples ---------------------------------

SMS_DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_rpc_string_to_sign_of_the_sms_doc_example() -> None:
    string_to_sign = rpc_string_to_sign("GET", SMS_DOC_PARAMS)
    assert string_to_sign.startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26")
    # the Chinese sign name and the JSON are encoded, then encoded again
    assert "%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591" in string_to_sign
    assert "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26" in string_to_sign
    assert string_to_sign.endswith(
        "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
    )


def test_rpc_signature_reproduces_the_sms_doc_example() -> None:
    string_to_sign = rpc_string_to_sign("GET", SMS_DOC_PARAMS)
    assert rpc_signature("testSecret", string_to_sign) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert percent_encode("zJDF+Lrzhj/ThnlvIToysFRq6t4=") == "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D"


def test_rpc_signature_key_is_the_secret_exactly_as_given() -> None:
    string_to_sign = rpc_string_to_sign("GET", SMS_DOC_PARAMS)
    assert rpc_signature("testsecret", string_to_sign) != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_rpc_signature_reproduces_the_generic_rpc_doc_example() -> None:
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert (
        rpc_signature("testsecret", rpc_string_to_sign("GET", params))
        == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    )


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("+/=", "%2B%2F%3D"),
        ('{"k":1}', "%7B%22k%22%3A1%7D"),
        ("阿里", "%E9%98%BF%E9%87%8C"),
    ],
)
def test_percent_encoding_keeps_only_unreserved_characters(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


def test_rpc_string_to_sign_sorts_by_name_and_encodes_the_query_again() -> None:
    params = {"b": "x y", "a": "1:2", "B": "*"}
    assert rpc_string_to_sign("POST", params) == "POST&%2F&B%3D%252A%26a%3D1%253A2%26b%3Dx%2520y"


# --- V3 (ACS3-HMAC-SHA256): the documented example --------------------------------

V3_DOC_QUERY = {
    "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
    "RegionId": "cn-shanghai",
}
V3_DOC_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-content-sha256": EMPTY_SHA256,
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-version": "2014-05-26",
}
V3_DOC_SIGNATURE = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"


def test_acs3_string_to_sign_reproduces_the_doc_example() -> None:
    canonical = acs3_canonical_request("POST", V3_DOC_QUERY, V3_DOC_HEADERS, EMPTY_SHA256)
    assert acs3_string_to_sign(canonical) == (
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )


def test_acs3_signature_reproduces_the_doc_example() -> None:
    canonical = acs3_canonical_request("POST", V3_DOC_QUERY, V3_DOC_HEADERS, EMPTY_SHA256)
    signature = acs3_signature("YourAccessKeySecret", acs3_string_to_sign(canonical))
    assert signature == V3_DOC_SIGNATURE


def test_acs3_authorization_header_of_the_doc_example() -> None:
    authorization = acs3_authorization(
        "YourAccessKeyId", "YourAccessKeySecret", "POST", V3_DOC_QUERY, V3_DOC_HEADERS, EMPTY_SHA256
    )
    assert authorization == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        f"x-acs-signature-nonce;x-acs-version,Signature={V3_DOC_SIGNATURE}"
    )


def test_acs3_canonical_request_lowercases_trims_sorts_and_encodes() -> None:
    canonical = acs3_canonical_request(
        "POST",
        {"SignName": "阿里 云", "A": "*~"},
        {"X-Acs-Version": " 2017-05-25 ", "Host": "dysmsapi.aliyuncs.com"},
        EMPTY_SHA256,
    )
    assert canonical == (
        "POST\n/\n"
        "A=%2A~&SignName=%E9%98%BF%E9%87%8C%20%E4%BA%91\n"
        "host:dysmsapi.aliyuncs.com\nx-acs-version:2017-05-25\n\n"
        "host;x-acs-version\n" + EMPTY_SHA256
    )


# --- build_request ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+8613800138000", "13800138000"),  # mainland: 11 digits
        ("+85291234567", "85291234567"),  # Hong Kong: country code + number, no '+'
        ("+14155550100", "14155550100"),
    ],
)
def test_phone_numbers_follow_the_doc_format(e164: str, expected: str) -> None:
    assert phone_number(e164) == expected


def test_v3_request_puts_business_params_in_the_signed_query() -> None:
    request = build_request(MESSAGE, make_config(), NOW, NONCE)

    assert request.method == "POST"
    assert request.url.scheme == "https"
    assert request.url.host == "dysmsapi.aliyuncs.com"
    assert request.url.path == "/"
    assert dict(parse_qsl(request.url.query.decode())) == {
        "PhoneNumbers": "13800138000",
        "SignName": "阿里云短信测试",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"code":"123456","min":"5"}',
        "OutId": "msg_01HX7Q2Z",
    }
    assert request.content == b""
    signed = {
        "host": "dysmsapi.aliyuncs.com",
        "x-acs-action": "SendSms",
        "x-acs-version": "2017-05-25",
        "x-acs-date": "2024-05-01T08:30:00Z",
        "x-acs-signature-nonce": NONCE,
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    for name, value in signed.items():
        assert request.headers[name] == value
    query = dict(parse_qsl(request.url.query.decode()))
    assert request.headers["authorization"] == acs3_authorization(
        ACCESS_KEY_ID, ACCESS_KEY_SECRET, "POST", query, signed, EMPTY_SHA256
    )


def test_v3_query_is_sent_exactly_as_signed() -> None:
    request = build_request(MESSAGE, make_config(), NOW, NONCE)
    assert request.url.query.decode() == (
        "OutId=msg_01HX7Q2Z&PhoneNumbers=13800138000"
        "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95"
        "&TemplateCode=SMS_71390007"
        "&TemplateParam=%7B%22code%22%3A%22123456%22%2C%22min%22%3A%225%22%7D"
    )


def test_v1_request_is_a_signed_form_post() -> None:
    beijing = timezone(timedelta(hours=8))
    request = build_request(
        MESSAGE, make_config(signature_version="v1"), NOW.astimezone(beijing), NONCE
    )

    assert request.method == "POST"
    assert str(request.url) == "https://dysmsapi.aliyuncs.com/"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    form = dict(parse_qsl(request.content.decode()))
    signature = form.pop("Signature")
    assert form == {
        "AccessKeyId": ACCESS_KEY_ID,
        "Action": "SendSms",
        "Version": "2017-05-25",
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": NONCE,
        "Timestamp": "2024-05-01T08:30:00Z",  # UTC, whatever zone `now` came in
        "PhoneNumbers": "13800138000",
        "SignName": "阿里云短信测试",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"code":"123456","min":"5"}',
        "OutId": "msg_01HX7Q2Z",
    }
    assert signature == rpc_signature(ACCESS_KEY_SECRET, rpc_string_to_sign("POST", form))
    assert request.content.decode().endswith("&Signature=" + percent_encode(signature))


def test_template_without_names_uses_the_param_names() -> None:
    message = msgspec.structs.replace(MESSAGE, locale="en", to="+14155550100")
    request = build_request(message, make_config(), NOW, NONCE)
    query = dict(parse_qsl(request.url.query.decode()))
    assert query["TemplateCode"] == "SMS_71390008"
    assert query["TemplateParam"] == '{"code":"123456"}'
    assert query["PhoneNumbers"] == "14155550100"


def test_base_url_is_configurable_for_other_regions() -> None:
    config = make_config(base_url="https://dysmsapi.ap-southeast-1.aliyuncs.com/")
    request = build_request(MESSAGE, config, NOW, NONCE)
    assert urlsplit(str(request.url)).netloc == "dysmsapi.ap-southeast-1.aliyuncs.com"
    assert request.url.path == "/"
    assert request.headers["host"] == "dysmsapi.ap-southeast-1.aliyuncs.com"


# --- parse_response -----------------------------------------------------------------


def test_ok_is_accepted_with_the_biz_id() -> None:
    result = parse_response(
        reply(200, {"Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "r"})
    )
    assert result.accepted
    assert result.provider_message_id == "9006197469364984^0"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isv.MOBILE_NUMBER_ILLEGAL", "permanent"),
        ("isv.BLACK_KEY_CONTROL_LIMIT", "permanent"),
        ("isv.SMS_TEMPLATE_ILLEGAL", "permanent"),
        ("isv.SMS_SIGNATURE_ILLEGAL", "permanent"),
        ("isv.SMS_SIGNATURE_SCENE_ILLEGAL", "permanent"),
        ("isv.TEMPLATE_MISSING_PARAMETERS", "permanent"),
        ("isv.AMOUNT_NOT_ENOUGH", "account"),
        ("isv.OUT_OF_SERVICE", "account"),
        ("isv.ACCOUNT_ABNORMAL", "account"),
        ("isv.DAY_LIMIT_CONTROL", "account"),
        ("isp.RAM_PERMISSION_DENY", "account"),
        ("isv.BUSINESS_LIMIT_CONTROL", "retryable"),
        ("isp.SYSTEM_ERROR", "retryable"),
        ("isv.SOMETHING_NEW", "retryable"),
    ],
)
def test_business_errors_with_http_200_are_classified(code: str, kind: str) -> None:
    result = parse_response(reply(200, {"Code": code, "Message": "why", "RequestId": "r"}))
    assert not result.accepted
    assert (result.error_kind, result.error_code, result.error_message) == (kind, code, "why")


def test_invalid_number_is_permanent() -> None:
    result = parse_response(
        reply(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
    )
    assert (result.error_kind, result.error_code) == ("permanent", "isv.MOBILE_NUMBER_ILLEGAL")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "SignatureDoesNotMatch", "account"),
        (404, "InvalidAccessKeyId.NotFound", "account"),
        (400, "InvalidAccessKeyId.Inactive", "account"),
        (400, "InvalidTimeStamp.Expired", "account"),
        (400, "SignatureNonceUsed", "retryable"),
        (400, "Throttling.User", "retryable"),
        (503, "ServiceUnavailable", "retryable"),
    ],
)
def test_gateway_errors_are_classified(status: int, code: str, kind: str) -> None:
    body = {"RequestId": "r", "HostId": "dysmsapi.aliyuncs.com", "Code": code, "Message": "m"}
    result = parse_response(reply(status, body))
    assert (result.error_kind, result.error_code) == (kind, code)


def test_5xx_is_retryable_even_with_a_permanent_looking_code() -> None:
    result = parse_response(reply(500, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "m"}))
    assert result.error_kind == "retryable"


@pytest.mark.parametrize(
    ("status", "body"), [(502, b"<html>Bad Gateway</html>"), (200, b"not json")]
)
def test_unparseable_body_is_retryable(status: int, body: bytes) -> None:
    result = parse_response(reply(status, body))
    assert (result.error_kind, result.error_code) == ("retryable", f"http_{status}")


def test_json_without_a_code_is_retryable() -> None:
    result = parse_response(reply(200, {"RequestId": "r"}))
    assert (result.error_kind, result.error_code) == ("retryable", "http_200")


# --- end to end against the verifying stub ------------------------------------------


@pytest.fixture
def stub() -> AliyunStub:
    return AliyunStub()


@pytest.fixture
def stub_url(stub: AliyunStub) -> Iterator[str]:
    with serve(stub) as url:
        yield url


@pytest.mark.parametrize("version", ["v3", "v1"])
async def test_message_is_accepted_with_the_stubs_biz_id(
    stub: AliyunStub, stub_url: str, version: str
) -> None:
    config = make_config(base_url=stub_url, signature_version=version)
    async with httpx.AsyncClient() as client:
        result = await create(config, client).send(MESSAGE)

    assert result.accepted, result
    assert result.provider_message_id == "000001^0"
    [received] = stub.requests
    assert received.params["PhoneNumbers"] == "13800138000"
    assert received.params["OutId"] == "msg_01HX7Q2Z"
    assert json.loads(received.params["TemplateParam"]) == {"code": "123456", "min": "5"}


@pytest.mark.parametrize("version", ["v3", "v1"])
async def test_wrong_secret_is_refused_and_is_an_account_error(stub_url: str, version: str) -> None:
    config = make_config(
        base_url=stub_url, signature_version=version, access_key_secret="not-the-secret"
    )
    async with httpx.AsyncClient() as client:
        result = await create(config, client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("account", "SignatureDoesNotMatch")


async def test_unknown_access_key_is_an_account_error(stub_url: str) -> None:
    config = make_config(base_url=stub_url, access_key_id="LTAI-unknown")
    async with httpx.AsyncClient() as client:
        result = await create(config, client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("account", "InvalidAccessKeyId.NotFound")


async def test_server_error_is_retryable(stub: AliyunStub, stub_url: str) -> None:
    stub.server_error = 503
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "ServiceUnavailable")


async def test_invalid_number_from_the_stub_is_permanent(stub: AliyunStub, stub_url: str) -> None:
    stub.invalid_numbers = {"13800138000"}
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("permanent", "isv.MOBILE_NUMBER_ILLEGAL")


async def test_slow_provider_is_a_retryable_timeout(stub: AliyunStub, stub_url: str) -> None:
    stub.delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as client:
        result = await create(make_config(base_url=stub_url), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    async with httpx.AsyncClient() as client:
        result = await create(make_config(base_url=closed_port_url()), client).send(MESSAGE)

    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


async def test_fixed_clock_and_nonce_are_used_and_a_replayed_nonce_is_retryable(
    stub_url: str,
) -> None:
    now = datetime.now(UTC)
    async with httpx.AsyncClient() as client:
        provider = create(
            make_config(base_url=stub_url), client, clock=lambda: now, nonce=lambda: NONCE
        )
        first = await provider.send(MESSAGE)
        second = await provider.send(MESSAGE)

    assert first.accepted
    assert (second.error_kind, second.error_code) == ("retryable", "SignatureNonceUsed")


async def test_stub_refuses_a_request_altered_after_signing(stub_url: str) -> None:
    request = build_request(MESSAGE, make_config(base_url=stub_url), datetime.now(UTC), NONCE)
    altered = httpx.Request(
        "POST",
        request.url.copy_set_param("PhoneNumbers", "13900139000"),
        headers=request.headers,
    )
    async with httpx.AsyncClient() as client:
        result = parse_response(await client.send(altered))

    assert (result.error_kind, result.error_code) == ("account", "SignatureDoesNotMatch")
