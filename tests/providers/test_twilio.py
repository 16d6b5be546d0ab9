"""The Twilio adapter: webhook signatures, the send request, answers, and a loopback run."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.twilio import (
    Balance,
    TwilioConfig,
    build_balance_request,
    build_request,
    create,
    parse_balance,
    parse_response,
    twilio_body_hash,
    twilio_signature,
)
from tests.stubs.loopback import closed_port_url, serve
from tests.stubs.twilio import TwilioStub

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
API_KEY_SID = "SK" + "1" * 32
API_KEY_SECRET = "test-api-key-secret"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01",
    to="+15558675310",
    region="US",
    locale="en",
    text="Your otpgate code is 123456",
    code="123456",
    minutes=10,
)

# Twilio's documented example and its SDK's unit tests (twilio-python
# tests/unit/test_request_validator.py): token 12345.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
SDK_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def config(**overrides: object) -> TwilioConfig:
    fields: dict[str, object] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_": "+15005550006",
    }
    return TwilioConfig(**(fields | overrides))  # type: ignore[arg-type]


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def error(status: int, code: int, message: str = "refused") -> httpx.Response:
    return answer(status, {"code": code, "message": message, "status": status})


# --- X-Twilio-Signature ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        (DOC_URL, DOC_PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        (DOC_URL, SDK_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            SDK_PARAMS,
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            SDK_PARAMS,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            SDK_PARAMS,
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
    ],
    ids=["doc", "sdk", "sdk-port-443", "sdk-http-port-1234", "sdk-http-port-80"],
)
def test_signature_matches_documented_vectors(
    url: str, params: dict[str, str], expected: str
) -> None:
    assert twilio_signature("12345", url, params) == expected


def test_signature_signs_every_value_of_a_repeated_param_sorted() -> None:
    params: dict[str, str | list[str]] = {
        "Sid": "CA123",
        "SidAccount": "AC123",
        "Digits": ["5678", "1234"],
    }
    assert twilio_signature("12345", DOC_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_json_webhook_is_signed_over_the_body_hash_in_the_url() -> None:
    body_hash = twilio_body_hash(b'{"property": "value", "boolean": true}')
    assert body_hash == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"{DOC_URL}&bodySHA256={body_hash}"
    assert twilio_signature("12345", url, {}) == "a9nBmqA0ju/hNViExpshrM61xv4="


def test_shared_key_signature_uses_hmac_sha256() -> None:
    signature = twilio_signature("12345", DOC_URL, DOC_PARAMS, algorithm="HMAC-SHA256")
    assert signature == "Rmm4Vzj+Ky7JGoWXMCsZDZuHDszLr9xvdbvitrDr4/M="


def test_signature_concatenates_raw_utf8_values_in_byte_order_of_names() -> None:
    # no percent-encoding, no separators; "B" sorts before "a" (byte order, not locale)
    params = {"a": "1", "B": "验证码 2&=+"}
    mac = hmac.new(b"token", "https://x.test/cb?q=1B验证码 2&=+a1".encode(), hashlib.sha1)
    expected = base64.b64encode(mac.digest()).decode()
    assert twilio_signature("token", "https://x.test/cb?q=1", params) == expected


# --- config --------------------------------------------------------------------------


def test_config_reads_the_sender_as_from() -> None:
    raw = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from": "+15005550006"}
    parsed = msgspec.convert(raw, TwilioConfig)
    assert parsed.from_ == "+15005550006"
    assert parsed.base_url == "https://api.twilio.com"


def test_config_refuses_unknown_fields() -> None:
    raw = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from": "+1", "token": "x"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(raw, TwilioConfig)


def test_config_needs_exactly_one_sender() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        config(messaging_service_sid="MG" + "2" * 32)
    with pytest.raises(ValueError, match="exactly one"):
        config(from_=None)


def test_config_needs_a_credential() -> None:
    with pytest.raises(ValueError, match="auth_token"):
        config(auth_token=None, api_key_sid=API_KEY_SID)


# --- build_request ----------------------------------------------------------------------


def test_request_posts_the_message_form_with_basic_auth() -> None:
    callback = "https://otp.example.com/delivery/twilio?t=a b"
    request = build_request(MESSAGE, config(status_callback_url=callback), NOW, "n")

    assert request.method == "POST"
    assert str(request.url) == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    )
    assert request.headers["Authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert request.content == (
        b"To=%2B15558675310&From=%2B15005550006&Body=Your+otpgate+code+is+123456"
        b"&StatusCallback=https%3A%2F%2Fotp.example.com%2Fdelivery%2Ftwilio%3Ft%3Da+b"
    )


def test_request_without_callback_url_has_no_status_callback() -> None:
    assert "StatusCallback" not in form_of(build_request(MESSAGE, config(), NOW, "n"))


def test_request_through_a_messaging_service_names_it_instead_of_from() -> None:
    service = "MG" + "2" * 32
    form = form_of(
        build_request(MESSAGE, config(from_=None, messaging_service_sid=service), NOW, "n")
    )
    assert form == {"To": "+15558675310", "MessagingServiceSid": service, "Body": MESSAGE.text}


def test_request_with_an_api_key_authenticates_as_the_key() -> None:
    cfg = config(auth_token=None, api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET)
    request = build_request(MESSAGE, cfg, NOW, "n")
    assert request.headers["Authorization"] == basic(API_KEY_SID, API_KEY_SECRET)
    assert ACCOUNT_SID in request.url.path


def test_request_body_keeps_non_ascii_text_as_utf8() -> None:
    chinese = msgspec.structs.replace(MESSAGE, text="您的验证码是123456")
    assert form_of(build_request(chinese, config(), NOW, "n"))["Body"] == "您的验证码是123456"


def test_request_depends_on_neither_clock_nor_nonce() -> None:
    first = build_request(MESSAGE, config(), NOW, "a")
    second = build_request(MESSAGE, config(), datetime(2030, 1, 1, tzinfo=UTC), "b")
    assert first.content == second.content
    assert first.headers == second.headers


def test_base_url_may_end_with_a_slash() -> None:
    request = build_request(MESSAGE, config(base_url="http://127.0.0.1:9/"), NOW, "n")
    assert str(request.url) == f"http://127.0.0.1:9/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


# --- parse_response --------------------------------------------------------------------


def test_created_message_is_accepted_with_its_sid() -> None:
    response = answer(201, {"sid": "SM" + "a" * 32, "status": "queued", "error_code": None})
    assert parse_response(response) == SendResult.ok("SM" + "a" * 32)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 21211, "permanent"),  # invalid To
        (400, 21614, "permanent"),  # To is not a mobile number
        (400, 21610, "permanent"),  # unsubscribed (STOP)
        (400, 21408, "account"),  # region not enabled in our geo permissions
        (400, 21606, "account"),  # From cannot send to this destination
        (401, 20003, "account"),  # authentication failed
        (401, 20005, "account"),  # account not active
        (401, 10001, "account"),  # account not active
        (403, 20403, "account"),  # forbidden: suspended
        (429, 20429, "retryable"),  # too many requests
        (500, 20500, "retryable"),  # internal error
        (503, 20003, "retryable"),  # a 5xx is retryable whatever its code
        (400, 21999, "retryable"),  # unknown: let another provider try
        (403, 29999, "account"),
    ],
)
def test_error_is_classified_by_its_code(status: int, code: int, kind: str) -> None:
    result = parse_response(error(status, code, "Twilio says no"))
    assert result == SendResult.failed(kind, str(code), "Twilio says no")  # type: ignore[arg-type]


def test_invalid_number_is_permanent() -> None:
    body = {
        "code": 21211,
        "message": "Invalid 'To' Phone Number: +1555",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    result = parse_response(answer(400, body))
    assert (result.error_kind, result.error_code) == ("permanent", "21211")
    assert result.error_message == "Invalid 'To' Phone Number: +1555"


def test_server_error_without_json_is_retryable_with_the_http_status() -> None:
    result = parse_response(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert result == SendResult.failed("retryable", "http_502", "<html>Bad Gateway</html>")


def test_rate_limit_without_code_is_retryable() -> None:
    result = parse_response(httpx.Response(429, text="slow down"))
    assert (result.error_kind, result.error_code) == ("retryable", "http_429")


def test_unparseable_success_is_retryable() -> None:
    result = parse_response(httpx.Response(201, text="not json"))
    assert (result.error_kind, result.error_code) == ("retryable", "unparseable")


# --- balance -----------------------------------------------------------------------


def test_balance_request_gets_the_account_balance() -> None:
    request = build_balance_request(config(), NOW, "n")
    assert request.method == "GET"
    assert (
        str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Balance.json"
    )
    assert request.headers["Authorization"] == basic(ACCOUNT_SID, AUTH_TOKEN)


def test_balance_is_read_from_its_decimal_string() -> None:
    body = {"account_sid": ACCOUNT_SID, "balance": "0.05", "currency": "USD"}
    assert parse_balance(answer(200, body)) == Balance(amount=0.05, currency="USD")


def test_balance_is_none_on_error_or_nonsense() -> None:
    assert parse_balance(error(401, 20003)) is None
    assert parse_balance(answer(200, {"balance": "lots"})) is None
    assert parse_balance(httpx.Response(200, text="<html>")) is None


# --- against the loopback stub --------------------------------------------------------


@pytest.fixture
def stub() -> TwilioStub:
    return TwilioStub(ACCOUNT_SID, AUTH_TOKEN, api_keys={API_KEY_SID: API_KEY_SECRET})


async def send(base_url: str, client_timeout: float = 5.0, **overrides: object) -> SendResult:
    async with httpx.AsyncClient(timeout=client_timeout) as client:
        return await create(config(base_url=base_url, **overrides), client).send(MESSAGE)


async def test_stub_accepts_the_message_and_returns_its_sid(stub: TwilioStub) -> None:
    with serve(stub) as url:
        result = await send(url, status_callback_url="https://otp.example.com/cb")
    assert result == SendResult.ok("SM" + "1".rjust(32, "0"))
    [received] = stub.requests
    assert received.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert received.form == {
        "To": "+15558675310",
        "From": "+15005550006",
        "Body": "Your otpgate code is 123456",
        "StatusCallback": "https://otp.example.com/cb",
    }


async def test_stub_accepts_an_api_key(stub: TwilioStub) -> None:
    with serve(stub) as url:
        result = await send(
            url, auth_token=None, api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET
        )
    assert result.accepted


async def test_wrong_auth_token_is_an_account_error(stub: TwilioStub) -> None:
    with serve(stub) as url:
        result = await send(url, auth_token="wrong-token")
    assert (result.error_kind, result.error_code) == ("account", "20003")


async def test_server_error_is_retryable(stub: TwilioStub) -> None:
    stub.fail_status = 503
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("retryable", "http_503")


async def test_invalid_number_is_refused_as_permanent(stub: TwilioStub) -> None:
    stub.invalid_numbers.add(MESSAGE.to)
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("permanent", "21211")


async def test_slow_provider_times_out_as_retryable(stub: TwilioStub) -> None:
    stub.delay = 1.0
    with serve(stub) as url:
        result = await send(url, client_timeout=0.2)
    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    result = await send(closed_port_url())
    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


async def test_stub_reports_the_balance(stub: TwilioStub) -> None:
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            request = build_balance_request(config(base_url=url), NOW, "n")
            balance = parse_balance(await client.send(request))
    assert balance == Balance(amount=12.34, currency="USD")
