"""The Huawei MSGSMS adapter: X-WSSE and SDK-HMAC-SHA256 signing, the batchSendSms form,
the answers, and a loopback run against a stub that checks both signatures itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import httpx
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.config import Template
from app.providers.huawei import (
    HuaweiConfig,
    aksk_authorization,
    aksk_string_to_sign,
    build_request,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    classify_error,
    create,
    parse_response,
    signed_header_names,
    wsse_headers,
    wsse_password_digest,
)
from tests.stubs.huawei import HuaweiStub
from tests.stubs.loopback import closed_port_url, serve

APP_KEY = "test-app-key"
APP_SECRET = "test-app-secret"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
NONCE = "0123456789abcdef0123456789abcdef"
MESSAGE = OutgoingMessage(
    message_id="msg_01",
    to="+8613800000000",
    region="CN",
    locale="zh-CN",
    text="您的验证码是123456，5分钟内有效",
    code="123456",
    minutes=5,
)
TEMPLATES = {
    "zh": Template(id="8ff55eac1d0b478ab3c06c3c6a492300", params=["code", "minutes"]),
    "en": Template(id="en-template", params=["code"]),
}

# The API Gateway signing doc's worked example (AK/SK and request from the doc).
DOC_AK = "QTWAOYTTINDUT2QVKYUC"
DOC_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
DOC_HEADERS = {
    "Content-Type": "application/json",
    "Host": "service.region.example.com",
    "X-Sdk-Date": "20191115T033655Z",
}
DOC_PATH = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
DOC_QUERY = [("limit", "2"), ("marker", "13551d6b-755d-4757-b956-536f674975c0")]
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def config(**overrides: object) -> HuaweiConfig:
    fields: dict[str, object] = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "sender": "8824110605***",
        "templates": TEMPLATES,
    }
    return HuaweiConfig(**(fields | overrides))  # type: ignore[arg-type]


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(body))


# --- X-WSSE ---------------------------------------------------------------------------


def test_wsse_digest_matches_the_documented_example() -> None:
    digest = wsse_password_digest(
        "66C92B11FF8A425FB8D4CCFE0ED9ED1F", "2018-02-12T15:30:20Z", "app_secret_example"
    )
    assert digest == (
        "ZjYwZDQxOGY1OTNjNjIwNDBlNTE3ZTQ2NDcxODhiNjdmNjkyZmY1NmJiM2JiODI3MjQ4NzkyYzk5NzQ1MjVmZg=="
    )


def test_wsse_digest_encodes_the_hex_string_not_the_raw_digest() -> None:
    digest = wsse_password_digest(
        "66C92B11FF8A425FB8D4CCFE0ED9ED1F", "2018-02-12T15:30:20Z", "app_secret_example"
    )
    assert digest != "9g1Bj1k8YgQOUX5GRxiLZ/aS/1a7O7gnJIeSyZdFJf8="


def test_wsse_headers_carry_the_username_token() -> None:
    headers = wsse_headers("key", "secret", "nonce1", "2024-05-06T07:08:09Z")
    digest = wsse_password_digest("nonce1", "2024-05-06T07:08:09Z", "secret")
    assert headers == {
        "Authorization": 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-WSSE": (
            f'UsernameToken Username="key",PasswordDigest="{digest}",'
            'Nonce="nonce1",Created="2024-05-06T07:08:09Z"'
        ),
    }


# --- SDK-HMAC-SHA256 ------------------------------------------------------------------


def test_aksk_canonical_request_hash_matches_the_apig_doc_example() -> None:
    request = canonical_request("GET", DOC_PATH, DOC_QUERY, DOC_HEADERS, EMPTY_SHA256)
    assert aksk_string_to_sign(request, "20191115T033655Z") == (
        "SDK-HMAC-SHA256\n20191115T033655Z\n"
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )


def test_aksk_authorization_matches_the_apig_doc_example() -> None:
    authorization = aksk_authorization(
        DOC_AK, DOC_SK, "GET", DOC_PATH, DOC_QUERY, DOC_HEADERS, EMPTY_SHA256
    )
    assert authorization == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
        "SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )


def test_aksk_send_request_matches_the_sdk_form_vector() -> None:
    request = build_request(
        MESSAGE,
        config(
            app_key=DOC_AK,
            app_secret=DOC_SK,
            auth="aksk",
            base_url="https://smsapi.cn-north-4.myhuaweicloud.com:443",
        ),
        datetime(2024, 1, 1, tzinfo=UTC),
        NONCE,
    )
    assert request.headers["Host"] == "smsapi.cn-north-4.myhuaweicloud.com:443"
    assert request.headers["X-Sdk-Date"] == "20240101T000000Z"
    assert request.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert request.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
        "SignedHeaders=content-type;host;x-sdk-content-sha256;x-sdk-date, "
        "Signature=1bffe6b28ba5d8ce595b1c6432bf431c83f47c610d48a4cc86c0c820968e6b1a"
    )


def test_canonical_uri_always_ends_with_a_slash() -> None:
    assert canonical_uri("/sms/batchSendSms/v1") == "/sms/batchSendSms/v1/"
    assert canonical_uri("/sms/batchSendSms/v1/") == "/sms/batchSendSms/v1/"
    assert canonical_uri("/") == "/"


def test_canonical_uri_encodes_reserved_and_non_ascii_characters_per_segment() -> None:
    assert canonical_uri("/v1/a b+c/短信~x") == "/v1/a%20b%2Bc/%E7%9F%AD%E4%BF%A1~x/"
    # A path that arrives encoded is decoded first, so it is not encoded twice.
    assert canonical_uri("/v1/a%20b") == "/v1/a%20b/"


def test_canonical_query_sorts_by_name_then_value_and_encodes_both() -> None:
    query = [("b", "2"), ("a", "x y/z+签"), ("a", "1"), ("c~", "")]
    assert canonical_query_string(query) == "a=1&a=x%20y%2Fz%2B%E7%AD%BE&b=2&c~="


def test_signed_headers_are_lowercased_sorted_and_skip_underscores() -> None:
    names = signed_header_names({"X-Sdk-Date": "d", "Host": "h", "x_custom": "v", "A": "1"})
    assert names == ["a", "host", "x-sdk-date"]


def test_canonical_request_trims_header_values() -> None:
    headers = {"Host": "  example.com ", "X-Sdk-Date": "20240101T000000Z"}
    assert canonical_request("post", "/a", [], headers, "UNSIGNED-PAYLOAD") == (
        "POST\n/a/\n\nhost:example.com\nx-sdk-date:20240101T000000Z\n\n"
        "host;x-sdk-date\nUNSIGNED-PAYLOAD"
    )


# --- the send request -----------------------------------------------------------------


def test_request_posts_the_template_form_signed_with_wsse() -> None:
    request = build_request(
        MESSAGE,
        config(sign_name="华为云短信测试", status_callback_url="https://otp.example.com/hw"),
        NOW,
        NONCE,
    )
    assert request.method == "POST"
    assert str(request.url) == "https://smsapi.cn-north-4.myhuaweicloud.com/sms/batchSendSms/v1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == (
        'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
    )
    digest = wsse_password_digest(NONCE, "2024-05-06T07:08:09Z", APP_SECRET)
    assert request.headers["X-WSSE"] == (
        f'UsernameToken Username="{APP_KEY}",PasswordDigest="{digest}",'
        f'Nonce="{NONCE}",Created="2024-05-06T07:08:09Z"'
    )
    assert request.content == (
        b"from=8824110605%2A%2A%2A&to=%2B8613800000000"
        b"&templateId=8ff55eac1d0b478ab3c06c3c6a492300"
        b"&templateParas=%5B%22123456%22%2C%225%22%5D"
        b"&statusCallback=https%3A%2F%2Fotp.example.com%2Fhw"
        b"&signature=%E5%8D%8E%E4%B8%BA%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95"
    )


def test_request_sends_the_number_in_e164_with_plus() -> None:
    assert form_of(build_request(MESSAGE, config(), NOW, NONCE))["to"] == "+8613800000000"


def test_request_without_sign_name_or_callback_leaves_them_out() -> None:
    form = form_of(build_request(MESSAGE, config(), NOW, NONCE))
    assert form == {
        "from": "8824110605***",
        "to": "+8613800000000",
        "templateId": "8ff55eac1d0b478ab3c06c3c6a492300",
        "templateParas": '["123456","5"]',
    }


def test_template_without_variables_sends_no_template_paras() -> None:
    templates = {"en": Template(id="static", params=[])}
    english = msgspec.structs.replace(MESSAGE, locale="en")
    form = form_of(build_request(english, config(templates=templates), NOW, NONCE))
    assert "templateParas" not in form
    assert form["templateId"] == "static"


def test_template_is_chosen_by_the_message_locale() -> None:
    english = msgspec.structs.replace(MESSAGE, locale="en-GB")
    form = form_of(build_request(english, config(), NOW, NONCE))
    assert (form["templateId"], form["templateParas"]) == ("en-template", '["123456"]')


def test_signing_times_are_utc_whatever_the_clock_zone() -> None:
    beijing_now = NOW.astimezone(timezone(timedelta(hours=8)))
    wsse = build_request(MESSAGE, config(), beijing_now, NONCE)
    aksk = build_request(MESSAGE, config(auth="aksk"), beijing_now, NONCE)
    assert 'Created="2024-05-06T07:08:09Z"' in wsse.headers["X-WSSE"]
    assert aksk.headers["X-Sdk-Date"] == "20240506T070809Z"


def test_aksk_request_signs_its_own_host_and_date() -> None:
    request = build_request(
        MESSAGE, config(auth="aksk", base_url="http://127.0.0.1:8080/"), NOW, NONCE
    )
    signed = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Host": "127.0.0.1:8080",
        "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD",
        "X-Sdk-Date": "20240506T070809Z",
    }
    assert str(request.url) == "http://127.0.0.1:8080/sms/batchSendSms/v1"
    assert {name: request.headers[name] for name in signed} == signed
    assert request.headers["Authorization"] == aksk_authorization(
        APP_KEY, APP_SECRET, "POST", "/sms/batchSendSms/v1", [], signed, "UNSIGNED-PAYLOAD"
    )
    assert "X-WSSE" not in request.headers


# --- answers --------------------------------------------------------------------------

ACCEPTED_NUMBER = {
    "originTo": "+8613800000000",
    "createTime": "2018-05-25T16:34:34Z",
    "from": "1069********0012",
    "smsMsgId": "d6e3cdd0-522b-4692-8304-a07553cdf591_8539659",
    "status": "000000",
}
ACCEPTED = {"code": "000000", "description": "Success", "result": [ACCEPTED_NUMBER]}


def test_accepted_number_is_accepted_with_its_sms_msg_id() -> None:
    result = parse_response(answer(200, ACCEPTED))
    assert result == SendResult.ok("d6e3cdd0-522b-4692-8304-a07553cdf591_8539659")


def test_failed_send_is_classified_by_the_numbers_own_status() -> None:
    body = {
        "code": "E000510",
        "description": "The SMS fails to be sent.",
        "result": [{**ACCEPTED_NUMBER, "status": "E200028"}],
    }
    result = parse_response(answer(200, body))
    assert result == SendResult.failed("permanent", "E200028", "The SMS fails to be sent.")


def test_number_status_error_under_a_success_code_is_still_a_failure() -> None:
    body = {**ACCEPTED, "result": [{**ACCEPTED_NUMBER, "status": "E200048"}]}
    result = parse_response(answer(200, body))
    assert (result.accepted, result.error_kind, result.error_code) == (
        False,
        "retryable",
        "E200048",
    )


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "E000101", "account"),  # authentication failed
        (401, "E000102", "account"),  # invalid app_key
        (401, "E000020", "account"),  # X-WSSE missing
        (401, "E000110", "account"),  # clock out of range
        (403, "E000112", "account"),  # user frozen (arrears)
        (400, "E000503", "permanent"),  # parameter format: invalid number
        (400, "E200018", "account"),  # `from` is not our channel
        (400, "E200030", "permanent"),  # template not activated
        (500, "E000000", "retryable"),  # system error
        (400, "E999999", "retryable"),  # unknown code
        (429, "APIGW.0308", "retryable"),  # gateway throttling
    ],
)
def test_error_is_classified_by_its_code(status: int, code: str, kind: str) -> None:
    result = parse_response(answer(status, {"code": code, "description": "d"}))
    assert (result.error_kind, result.error_code, result.error_message) == (kind, code, "d")


def test_invalid_number_is_permanent() -> None:
    result = parse_response(answer(400, {"code": "E000503", "description": "bad to"}))
    assert result == SendResult.failed("permanent", "E000503", "bad to")


def test_gateway_authentication_error_is_an_account_error() -> None:
    body = {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}
    result = parse_response(answer(401, body))
    assert result == SendResult.failed(
        "account", "APIGW.0301", "Incorrect IAM authentication information"
    )


def test_server_error_without_json_is_retryable_with_the_http_status() -> None:
    result = parse_response(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert (result.error_kind, result.error_code) == ("retryable", "http_502")


def test_server_error_is_retryable_whatever_its_code() -> None:
    result = parse_response(answer(503, {"code": "E000112", "description": "d"}))
    assert result.error_kind == "retryable"


def test_unparseable_success_is_retryable() -> None:
    result = parse_response(httpx.Response(200, text="OK"))
    assert (result.error_kind, result.error_code) == ("retryable", "http_200")


def test_classify_error_treats_unknown_credential_codes_as_account() -> None:
    assert classify_error("E000027", 400) == "account"
    assert classify_error("E000199", 400) == "account"
    assert classify_error("E000000", 400) == "retryable"


# --- against the loopback stub --------------------------------------------------------


@pytest.fixture
def stub() -> HuaweiStub:
    return HuaweiStub(APP_KEY, APP_SECRET)


async def send(
    base_url: str, client_timeout: float = 5.0, clock: datetime | None = None, **overrides: object
) -> SendResult:
    extra = {} if clock is None else {"clock": lambda: clock}
    async with httpx.AsyncClient(timeout=client_timeout) as client:
        return await create(config(base_url=base_url, **overrides), client, **extra).send(MESSAGE)


@pytest.mark.parametrize("auth", ["wsse", "aksk"])
async def test_stub_accepts_the_message_and_returns_its_id(stub: HuaweiStub, auth: str) -> None:
    with serve(stub) as url:
        result = await send(url, auth=auth, sign_name="华为云短信测试")
    assert result == SendResult.ok("00000000-0000-0000-0000-000000000001_1")
    [received] = stub.requests
    assert received.path == "/sms/batchSendSms/v1"
    assert received.form == {
        "from": "8824110605***",
        "to": "+8613800000000",
        "templateId": "8ff55eac1d0b478ab3c06c3c6a492300",
        "templateParas": '["123456","5"]',
        "signature": "华为云短信测试",
    }


@pytest.mark.parametrize("auth", ["wsse", "aksk"])
async def test_wrong_app_secret_is_an_account_error(stub: HuaweiStub, auth: str) -> None:
    with serve(stub) as url:
        result = await send(url, auth=auth, app_secret="wrong-secret")
    assert (result.error_kind, result.error_code) == ("account", "E000101")


async def test_unknown_app_key_is_an_account_error(stub: HuaweiStub) -> None:
    with serve(stub) as url:
        result = await send(url, app_key="someone-else")
    assert (result.error_kind, result.error_code) == ("account", "E000102")


async def test_skewed_clock_is_an_account_error(stub: HuaweiStub) -> None:
    with serve(stub) as url:
        result = await send(url, auth="aksk", clock=datetime.now(UTC) - timedelta(hours=1))
    assert (result.error_kind, result.error_code) == ("account", "E000110")


async def test_server_error_is_retryable(stub: HuaweiStub) -> None:
    stub.fail_status = 503
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("retryable", "E000000")


async def test_invalid_number_is_refused_as_permanent(stub: HuaweiStub) -> None:
    stub.invalid_numbers.add(MESSAGE.to)
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("permanent", "E000503")


async def test_slow_provider_times_out_as_retryable(stub: HuaweiStub) -> None:
    stub.delay = 1.0
    with serve(stub) as url:
        result = await send(url, client_timeout=0.2)
    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    result = await send(closed_port_url())
    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")
