"""Cloopen / Ronglian template SMS: signing, request, answers, and a loopback round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from app.providers.base import OutgoingMessage
from app.providers.cloopen import (
    Balance,
    CloopenConfig,
    authorization,
    beijing_timestamp,
    build_balance_request,
    build_request,
    create,
    parse_balance,
    parse_response,
    recipient,
    sig,
)
from app.providers.config import Template, TemplateError
from tests.stubs.cloopen import ACCOUNT_SID, APP_ID, AUTH_TOKEN, CloopenStub
from tests.stubs.loopback import closed_port_url, serve

# providers.md §7 vector (sdk-gen): this sid, token and timestamp 20240101120000.
VECTOR_SID = "8aaf0708abcdef0123456789abcdef01"
VECTOR_TOKEN = "0123456789abcdef0123456789abcdef"
VECTOR_TIMESTAMP = "20240101120000"
VECTOR_SIG = "6B5D081167AD8EC5B04891764654FF8D"
VECTOR_AUTHORIZATION = "OGFhZjA3MDhhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDE6MjAyNDAxMDExMjAwMDA="
VECTOR_URL = (
    "https://app.cloopen.com:8883/2013-12-26/Accounts/8aaf0708abcdef0123456789abcdef01"
    "/SMS/TemplateSMS?sig=6B5D081167AD8EC5B04891764654FF8D"
)
# 12:00 in Beijing is 04:00 UTC.
VECTOR_NOW = datetime(2024, 1, 1, 4, 0, 0, tzinfo=UTC)

TEMPLATES = {
    "zh": Template(id="1", params=["code", "minutes"]),
    "en": Template(id="2048", params=["code"]),
}


def config(**overrides: Any) -> CloopenConfig:
    values: dict[str, Any] = {
        "account_sid": VECTOR_SID,
        "auth_token": VECTOR_TOKEN,
        "app_id": APP_ID,
        "templates": TEMPLATES,
    }
    return CloopenConfig(**(values | overrides))


def message(to: str = "+8613800000000", locale: str = "zh-CN") -> OutgoingMessage:
    return OutgoingMessage(
        message_id="msg_01",
        to=to,
        region="CN",
        locale=locale,
        text="您的验证码是123456，5分钟内有效。",
        code="123456",
        minutes=5,
    )


def answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


# --- signing: the documented vectors -------------------------------------------------


def test_sig_matches_the_documented_vector() -> None:
    assert sig(VECTOR_SID, VECTOR_TOKEN, VECTOR_TIMESTAMP) == VECTOR_SIG


def test_authorization_matches_the_documented_vector() -> None:
    assert authorization(VECTOR_SID, VECTOR_TIMESTAMP) == VECTOR_AUTHORIZATION


def test_authorization_has_no_basic_scheme() -> None:
    assert not authorization(VECTOR_SID, VECTOR_TIMESTAMP).startswith("Basic")


def test_send_url_matches_the_documented_vector() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert str(request.url) == VECTOR_URL


def test_sig_depends_on_every_part() -> None:
    assert sig(VECTOR_SID, VECTOR_TOKEN, "20240101120001") != VECTOR_SIG
    assert sig(VECTOR_SID, "f" * 32, VECTOR_TIMESTAMP) != VECTOR_SIG


# --- the timestamp is Beijing time ---------------------------------------------------


def test_timestamp_is_beijing_time_of_a_utc_instant() -> None:
    assert beijing_timestamp(VECTOR_NOW) == VECTOR_TIMESTAMP


def test_timestamp_crosses_midnight_into_the_beijing_date() -> None:
    late_evening_utc = datetime(2023, 12, 31, 16, 30, 5, tzinfo=UTC)

    assert beijing_timestamp(late_evening_utc) == "20240101003005"


def test_timestamp_of_an_instant_in_another_zone_is_the_same_beijing_time() -> None:
    new_york = timezone(timedelta(hours=-5))

    assert beijing_timestamp(datetime(2023, 12, 31, 23, 0, 0, tzinfo=new_york)) == VECTOR_TIMESTAMP


# --- recipients ------------------------------------------------------------------------


def test_mainland_number_is_sent_as_eleven_digits() -> None:
    assert recipient("+8613800000000") == "13800000000"


def test_international_number_is_sent_with_00_prefix() -> None:
    assert recipient("+85291234567") == "0085291234567"
    assert recipient("+886912345678") == "00886912345678"
    assert recipient("+14155550100") == "0014155550100"


# --- the send request ----------------------------------------------------------------


def test_send_request_is_a_signed_json_post() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert request.method == "POST"
    assert request.url.params["sig"] == VECTOR_SIG
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json;charset=utf-8"
    assert request.headers["Authorization"] == VECTOR_AUTHORIZATION


def test_send_body_fills_the_template_in_its_order() -> None:
    request = build_request(message(), config(), VECTOR_NOW, "unused")

    assert request.content == (
        b'{"to":"13800000000","appId":"' + APP_ID.encode() + b'","templateId":"1",'
        b'"datas":["123456","5"]}'
    )


def test_send_body_uses_the_locale_template_and_never_the_text() -> None:
    request = build_request(message(locale="en-GB"), config(), VECTOR_NOW, "unused")

    body = json.loads(request.content)
    assert body == {"to": "13800000000", "appId": APP_ID, "templateId": "2048", "datas": ["123456"]}


def test_send_body_takes_an_international_number() -> None:
    request = build_request(message(to="+85291234567"), config(), VECTOR_NOW, "unused")

    assert json.loads(request.content)["to"] == "0085291234567"


def test_send_without_a_template_for_the_locale_is_refused() -> None:
    only_chinese = config(templates={"zh": TEMPLATES["zh"]})

    with pytest.raises(TemplateError):
        build_request(message(locale="fr"), only_chinese, VECTOR_NOW, "unused")


def test_base_url_points_the_request_elsewhere() -> None:
    request = build_request(message(), config(base_url="http://127.0.0.1:9/"), VECTOR_NOW, "unused")

    assert str(request.url) == (
        f"http://127.0.0.1:9/2013-12-26/Accounts/{VECTOR_SID}/SMS/TemplateSMS?sig={VECTOR_SIG}"
    )


# --- answers ---------------------------------------------------------------------------


def test_accepted_answer_gives_the_sms_message_sid() -> None:
    result = parse_response(
        answer(
            {
                "statusCode": "000000",
                "templateSMS": {
                    "dateCreated": "20130201155306",
                    "smsMessageSid": "ff8080813c373cab013c94b0f0512345",
                },
            }
        )
    )

    assert result.accepted
    assert result.provider_message_id == "ff8080813c373cab013c94b0f0512345"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("160042", "permanent"),  # 号码格式有误
        ("160034", "permanent"),  # 号码黑名单
        ("160051", "permanent"),  # 营销退订号码
        ("160032", "permanent"),  # 短信模板无效
        ("112311", "permanent"),  # 短信模板不存在
        ("160033", "permanent"),  # 短信存在黑词
        ("111142", "account"),  # 主账户余额不足
        ("111109", "account"),  # 请求地址Sig校验失败
        ("111139", "account"),  # 主账户已暂停
        ("112310", "account"),  # 应用未上线，模板短信接收号码外呼受限
        ("160053", "account"),  # IP鉴权失败
        ("160058", "account"),  # 账户无国际短信权限
        ("160038", "retryable"),  # 短信验证码发送过频繁
        ("160040", "retryable"),  # 验证码超出同模板同号码天发送上限
        ("111111", "retryable"),  # 超过规定的并发数
        ("160000", "retryable"),  # 系统错误
        ("111001", "retryable"),  # 内部错误
        ("999999", "retryable"),  # a code we do not know
    ],
)
def test_error_codes_are_classified(code: str, kind: str) -> None:
    result = parse_response(answer({"statusCode": code, "statusMsg": "说明"}))

    assert not result.accepted
    assert result.error_kind == kind
    assert result.error_code == code
    assert result.error_message == "说明"


def test_invalid_number_is_permanent() -> None:
    result = parse_response(answer({"statusCode": "160042", "statusMsg": "号码格式有误"}))

    assert (result.error_kind, result.error_code) == ("permanent", "160042")


def test_server_error_page_is_retryable() -> None:
    result = parse_response(httpx.Response(502, text="<html>Bad Gateway</html>"))

    assert (result.error_kind, result.error_code) == ("retryable", "http_502")


def test_server_error_with_a_status_code_is_retryable_whatever_the_code() -> None:
    result = parse_response(answer({"statusCode": "160042", "statusMsg": "?"}, status=500))

    assert (result.error_kind, result.error_code) == ("retryable", "160042")


def test_acceptance_without_a_message_sid_is_retryable() -> None:
    result = parse_response(answer({"statusCode": "000000"}))

    assert (result.error_kind, result.error_code) == ("retryable", "unparseable")


def test_unparseable_body_is_retryable() -> None:
    result = parse_response(httpx.Response(200, text="<Response/>"))

    assert (result.error_kind, result.error_code) == ("retryable", "http_200")


# --- balance ---------------------------------------------------------------------------


def test_balance_request_is_a_signed_get_of_account_info() -> None:
    request = build_balance_request(config(), VECTOR_NOW, "unused")

    assert request.method == "GET"
    assert str(request.url) == (
        f"https://app.cloopen.com:8883/2013-12-26/Accounts/{VECTOR_SID}/AccountInfo"
        f"?sig={VECTOR_SIG}"
    )
    assert request.headers["Authorization"] == VECTOR_AUTHORIZATION
    assert request.content == b""


def test_balance_is_read_from_the_account() -> None:
    body = {"statusCode": "000000", "Account": {"balance": "88.50", "friendlyName": "x"}}

    assert parse_balance(answer(body)) == Balance(amount=88.5, currency="CNY")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"statusCode": "111109", "statusMsg": "请求地址Sig校验失败"}),
        httpx.Response(200, json={"statusCode": "000000", "Account": {"balance": "n/a"}}),
        httpx.Response(200, text="<html/>"),
        httpx.Response(503, json={"statusCode": "000000", "Account": {"balance": "1"}}),
    ],
)
def test_no_balance_without_a_readable_account(response: httpx.Response) -> None:
    assert parse_balance(response) is None


# --- round trips against the loopback stub -----------------------------------------------


@pytest.fixture
def stub() -> CloopenStub:
    return CloopenStub()


@pytest.fixture
def stub_url(stub: CloopenStub) -> Iterator[str]:
    with serve(stub.app) as url:
        yield url


def stub_config(url: str, **overrides: Any) -> CloopenConfig:
    defaults: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
    return config(base_url=url, **(defaults | overrides))


async def test_stub_accepts_a_signed_send(stub: CloopenStub, stub_url: str) -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert result.accepted
    assert result.provider_message_id is not None
    assert len(result.provider_message_id) == 32
    [received] = stub.received
    assert received.path == f"/2013-12-26/Accounts/{ACCOUNT_SID}/SMS/TemplateSMS"
    assert received.body == {
        "to": "13800000000",
        "appId": APP_ID,
        "templateId": "1",
        "datas": ["123456", "5"],
    }


async def test_stub_accepts_an_international_number(stub_url: str) -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message(to="+85291234567"))

    assert result.accepted


async def test_wrong_auth_token_is_refused_as_account(stub_url: str) -> None:
    wrong = stub_config(stub_url, auth_token="f" * 32)
    async with httpx.AsyncClient() as client:
        result = await create(wrong, client).send(message())

    assert (result.error_kind, result.error_code) == ("account", "111109")


async def test_exhausted_balance_is_account(stub: CloopenStub, stub_url: str) -> None:
    stub.out_of_balance = True
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("account", "111142")


async def test_stub_invalid_number_is_permanent(stub: CloopenStub, stub_url: str) -> None:
    stub.invalid_numbers.add("13800000000")
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("permanent", "160042")
    assert result.error_message == "号码格式有误"


async def test_stub_server_error_is_retryable(stub: CloopenStub, stub_url: str) -> None:
    stub.fail_with_status = 503
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "http_503")


async def test_slow_provider_is_a_retryable_timeout(stub: CloopenStub, stub_url: str) -> None:
    stub.delay = 0.5
    async with httpx.AsyncClient(timeout=0.2) as client:
        result = await create(stub_config(stub_url), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_closed_port_is_retryable_unreachable() -> None:
    async with httpx.AsyncClient() as client:
        result = await create(stub_config(closed_port_url()), client).send(message())

    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


async def test_stub_reports_the_balance(stub: CloopenStub, stub_url: str) -> None:
    stub.balance = "42.10"
    request = build_balance_request(stub_config(stub_url), datetime.now(UTC), "unused")
    async with httpx.AsyncClient() as client:
        response = await client.send(request)

    assert parse_balance(response) == Balance(amount=42.1, currency="CNY")
