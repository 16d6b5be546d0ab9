"""The Chuanglan 253 adapter: the classic JSON send and balance requests of both
products, their answers, and a loopback run against a stub that checks the account."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.chuanglan import (
    Balance,
    ChuanglanConfig,
    UnsupportedNumberError,
    build_balance_request,
    build_request,
    classify_error,
    create,
    message_text,
    parse_balance,
    parse_international_response,
    parse_response,
    phone_number,
)
from tests.stubs.chuanglan import ChuanglanStub
from tests.stubs.loopback import closed_port_url, serve

ACCOUNT = "N0000001"
PASSWORD = "test-api-password"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01",
    to="+8615800000000",
    region="CN",
    locale="zh-CN",
    text="您的验证码是123456，5分钟内有效",
    code="123456",
    minutes=5,
)
ABROAD = msgspec.structs.replace(
    MESSAGE, to="+6591234567", region="SG", locale="en", text="Your code is 123456"
)


def config(**overrides: object) -> ChuanglanConfig:
    fields: dict[str, object] = {"account": ACCOUNT, "password": PASSWORD}
    return ChuanglanConfig(**(fields | overrides))  # type: ignore[arg-type]


def body_of(request: httpx.Request) -> object:
    return msgspec.json.decode(request.content)


def answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(body))


# --- numbers and text ---------------------------------------------------------------


def test_domestic_number_is_the_mainland_number_without_country_code() -> None:
    assert phone_number("+8615800000000", "domestic") == "15800000000"


def test_international_number_is_country_code_and_number_in_digits() -> None:
    assert phone_number("+8615800000000", "international") == "8615800000000"
    assert phone_number("+6591234567", "international") == "6591234567"


def test_domestic_account_refuses_a_number_outside_mainland_china() -> None:
    with pytest.raises(UnsupportedNumberError):
        phone_number("+6591234567", "domestic")
    with pytest.raises(UnsupportedNumberError):
        build_request(ABROAD, config(), NOW, "n")


def test_sign_name_is_put_in_front_of_the_text() -> None:
    assert message_text("您的验证码是123456", "253云通讯") == "【253云通讯】您的验证码是123456"


def test_text_that_carries_a_sign_keeps_it() -> None:
    assert (
        message_text("【otpgate】您的验证码是123456", "253云通讯")
        == "【otpgate】您的验证码是123456"
    )
    assert message_text("您的验证码是123456", None) == "您的验证码是123456"


# --- the send request ---------------------------------------------------------------


def test_domestic_request_posts_the_classic_json_body() -> None:
    request = build_request(MESSAGE, config(sign_name="253云通讯"), NOW, "n")
    assert request.method == "POST"
    assert str(request.url) == "https://smssh1.253.com/msg/send/json"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body_of(request) == {
        "account": ACCOUNT,
        "password": PASSWORD,
        "msg": "【253云通讯】您的验证码是123456，5分钟内有效",
        "phone": "15800000000",
        "report": "true",
        "uid": "msg_01",
    }


def test_request_body_is_utf8_json_not_escaped() -> None:
    request = build_request(MESSAGE, config(), NOW, "n")
    assert "您的验证码是123456".encode() in request.content


def test_international_request_posts_mobile_with_country_code() -> None:
    request = build_request(ABROAD, config(product="international", sender_id="OTPGATE"), NOW, "n")
    assert str(request.url) == "https://intapi.253.com/send/json"
    assert body_of(request) == {
        "account": ACCOUNT,
        "password": PASSWORD,
        "msg": "Your code is 123456",
        "mobile": "6591234567",
        "senderId": "OTPGATE",
    }


def test_international_request_without_sender_id_leaves_it_out() -> None:
    request = build_request(ABROAD, config(product="international"), NOW, "n")
    assert "senderId" not in request.content.decode()


def test_base_url_from_the_console_replaces_the_public_host() -> None:
    request = build_request(MESSAGE, config(base_url="https://smssh2.253.com/"), NOW, "n")
    assert str(request.url) == "https://smssh2.253.com/msg/send/json"


def test_request_depends_on_neither_clock_nor_nonce() -> None:
    first = build_request(MESSAGE, config(), NOW, "a")
    second = build_request(MESSAGE, config(), datetime(2030, 1, 1, tzinfo=UTC), "b")
    assert (first.url, first.content) == (second.url, second.content)


# --- answers ------------------------------------------------------------------------


def test_domestic_success_is_accepted_with_its_msg_id() -> None:
    reply = {"code": "0", "msgId": "17041010383624511", "time": "20170410103836", "errorMsg": ""}
    assert parse_response(answer(reply)) == SendResult.ok("17041010383624511")


def test_international_success_is_accepted_with_its_msgid() -> None:
    reply = {"code": "0", "msgid": "17041010383624511", "error": ""}
    assert parse_international_response(answer(reply)) == SendResult.ok("17041010383624511")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("101", "account"),  # no such user
        ("102", "account"),  # wrong password
        ("103", "retryable"),  # submitting too fast
        ("104", "retryable"),  # system busy
        ("105", "permanent"),  # sensitive content
        ("107", "permanent"),  # invalid phone number
        ("109", "account"),  # no quota left
        ("110", "retryable"),  # outside sending hours
        ("116", "permanent"),  # sign name refused
        ("117", "account"),  # IP not allowed
        ("135", "retryable"),  # same content to one number too often
        ("159", "retryable"),  # anti-bombing limit
        ("999", "retryable"),  # unknown
    ],
)
def test_domestic_error_is_classified_by_its_code(code: str, kind: str) -> None:
    reply = {"code": code, "msgId": "", "time": "20240506070809", "errorMsg": "e"}
    assert parse_response(answer(reply)) == SendResult.failed(kind, code, "e")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("101", "account"),  # account does not exist
        ("102", "account"),  # wrong password
        ("108", "permanent"),  # phone number format
        ("110", "account"),  # balance too low
        ("116", "account"),  # account disabled
        ("130", "retryable"),  # unknown exception
        ("131", "account"),  # daily cap
        ("134", "permanent"),  # anti-complaint
    ],
)
def test_international_error_is_classified_by_its_code(code: str, kind: str) -> None:
    reply = {"code": code, "msgid": "", "error": "e"}
    result = parse_international_response(answer(reply))
    assert result == SendResult.failed(kind, code, "e")  # type: ignore[arg-type]


def test_the_same_code_means_different_things_per_product() -> None:
    assert classify_error("110", "domestic") == "retryable"
    assert classify_error("110", "international") == "account"


def test_invalid_number_is_permanent() -> None:
    reply = {"code": "107", "msgId": "", "time": "20240506070809", "errorMsg": "包含错误的手机号码"}
    assert parse_response(answer(reply)) == SendResult.failed(
        "permanent", "107", "包含错误的手机号码"
    )


def test_numeric_code_is_read_like_a_string() -> None:
    assert parse_response(answer({"code": 0, "msgId": "1"})) == SendResult.ok("1")
    assert parse_response(answer({"code": 109, "errorMsg": "e"})).error_kind == "account"


def test_server_error_is_retryable_with_the_http_status() -> None:
    result = parse_response(httpx.Response(502, text="Bad Gateway"))
    assert result == SendResult.failed("retryable", "http_502", "Bad Gateway")


def test_unparseable_success_is_retryable() -> None:
    result = parse_response(httpx.Response(200, text="<html>maintenance</html>"))
    assert (result.error_kind, result.error_code) == ("retryable", "http_200")


def test_forbidden_is_an_account_error() -> None:
    assert parse_response(httpx.Response(403, text="denied")).error_kind == "account"


# --- balance ------------------------------------------------------------------------


def test_balance_request_posts_the_credentials() -> None:
    domestic = build_balance_request(config(), NOW, "n")
    international = build_balance_request(config(product="international"), NOW, "n")
    assert (domestic.method, str(domestic.url)) == (
        "POST",
        "https://smssh1.253.com/msg/balance/json",
    )
    assert str(international.url) == "https://intapi.253.com/balance/json"
    assert body_of(domestic) == {"account": ACCOUNT, "password": PASSWORD}


def test_balance_is_read_from_its_decimal_string() -> None:
    domestic = {"code": "0", "balance": "1000", "time": "20240506070809", "errorMsg": ""}
    international = {"code": "0", "error": "", "balance": "7.298"}
    assert parse_balance(answer(domestic)) == Balance(amount=1000.0, currency=None)
    assert parse_balance(answer(international)) == Balance(amount=7.298, currency=None)


def test_balance_is_none_on_error_or_nonsense() -> None:
    assert parse_balance(answer({"code": "102", "balance": "", "errorMsg": "密码错"})) is None
    assert parse_balance(answer({"code": "0", "balance": "lots"})) is None
    assert parse_balance(httpx.Response(500, text="oops")) is None
    assert parse_balance(httpx.Response(200, text="oops")) is None


# --- against the loopback stub ------------------------------------------------------


@pytest.fixture
def stub() -> ChuanglanStub:
    return ChuanglanStub(ACCOUNT, PASSWORD)


async def send(
    base_url: str,
    message: OutgoingMessage = MESSAGE,
    client_timeout: float = 5.0,
    **overrides: object,
) -> SendResult:
    async with httpx.AsyncClient(timeout=client_timeout) as client:
        return await create(config(base_url=base_url, **overrides), client).send(message)


async def test_stub_accepts_the_message_and_returns_its_msg_id(stub: ChuanglanStub) -> None:
    with serve(stub) as url:
        result = await send(url, sign_name="253云通讯")
    assert result.accepted
    assert result.provider_message_id is not None
    assert result.provider_message_id.endswith("00001")
    [received] = stub.requests
    assert received.path == "/msg/send/json"
    assert received.headers["content-type"] == "application/json; charset=utf-8"
    assert received.body == {
        "account": ACCOUNT,
        "password": PASSWORD,
        "msg": "【253云通讯】您的验证码是123456，5分钟内有效",
        "phone": "15800000000",
        "report": "true",
        "uid": "msg_01",
    }


async def test_stub_accepts_an_international_message(stub: ChuanglanStub) -> None:
    with serve(stub) as url:
        result = await send(url, ABROAD, product="international")
    assert result.accepted
    [received] = stub.requests
    assert (received.path, received.body["mobile"]) == ("/send/json", "6591234567")


async def test_wrong_password_is_an_account_error(stub: ChuanglanStub) -> None:
    with serve(stub) as url:
        result = await send(url, password="wrong-password")
    assert (result.error_kind, result.error_code) == ("account", "102")


async def test_unknown_account_is_an_account_error(stub: ChuanglanStub) -> None:
    with serve(stub) as url:
        result = await send(url, ABROAD, product="international", account="I0000009")
    assert (result.error_kind, result.error_code) == ("account", "101")


async def test_server_error_is_retryable(stub: ChuanglanStub) -> None:
    stub.fail_status = 502
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("retryable", "http_502")


async def test_invalid_number_is_refused_as_permanent(stub: ChuanglanStub) -> None:
    stub.invalid_numbers.add("15800000000")
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("permanent", "107")


async def test_invalid_international_number_is_refused_as_permanent(
    stub: ChuanglanStub,
) -> None:
    stub.invalid_numbers.add("6591234567")
    with serve(stub) as url:
        result = await send(url, ABROAD, product="international")
    assert (result.error_kind, result.error_code) == ("permanent", "108")


async def test_slow_provider_times_out_as_retryable(stub: ChuanglanStub) -> None:
    stub.delay = 1.0
    with serve(stub) as url:
        result = await send(url, client_timeout=0.2)
    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    result = await send(closed_port_url())
    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


@pytest.mark.parametrize(("product", "amount"), [("domestic", 1000.0), ("international", 7.298)])
async def test_stub_reports_the_balance(stub: ChuanglanStub, product: str, amount: float) -> None:
    stub.balance = str(amount) if product == "international" else "1000"
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            request = build_balance_request(config(base_url=url, product=product), NOW, "n")
            balance = parse_balance(await client.send(request))
    assert balance == Balance(amount=amount, currency=None)


async def test_balance_with_a_wrong_password_is_none(stub: ChuanglanStub) -> None:
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            request = build_balance_request(config(base_url=url, password="x"), NOW, "n")
            assert parse_balance(await client.send(request)) is None
