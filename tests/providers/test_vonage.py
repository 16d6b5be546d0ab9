"""The Vonage SMS adapter: request signing, the send request, answers, a loopback run."""

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
from app.providers.vonage import (
    Balance,
    SignatureMethod,
    VonageConfig,
    build_balance_request,
    build_request,
    create,
    parse_balance,
    parse_response,
    signature,
    string_to_sign,
)
from tests.stubs.loopback import closed_port_url, serve
from tests.stubs.vonage import VonageStub, expected_sig

API_KEY = "abcd1234"
API_SECRET = "test-api-secret"
SIGNATURE_SECRET = "test-signature-secret"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01",
    to="+447700900000",
    region="GB",
    locale="en",
    text="Your otpgate code is 123456",
    code="123456",
    minutes=10,
)

# Vonage's SDK unit tests (vonage-python-sdk http_client/tests/test_auth.py).
SDK_PARAMS = {"param1": "value1", "param2": "value2", "timestamp": "1234567890"}


def config(**overrides: object) -> VonageConfig:
    fields: dict[str, object] = {"api_key": API_KEY, "api_secret": API_SECRET, "from_": "otpgate"}
    return VonageConfig(**(fields | overrides))  # type: ignore[arg-type]


def signed_config(method: SignatureMethod = "md5hash", **overrides: object) -> VonageConfig:
    fields = {"api_secret": None, "signature_secret": SIGNATURE_SECRET, "signature_method": method}
    return config(**(fields | overrides))


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def answer(*messages: dict[str, str], status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, json={"message-count": str(len(messages)), "messages": list(messages)}
    )


# --- sig ---------------------------------------------------------------------------------


def test_string_to_sign_is_sorted_pairs_each_after_an_ampersand() -> None:
    assert string_to_sign(SDK_PARAMS) == "&param1=value1&param2=value2&timestamp=1234567890"


@pytest.mark.parametrize(
    ("params", "method", "expected"),
    [
        (SDK_PARAMS, "md5", "724c2bf6ca423c36e20631b11d1c5753"),
        (SDK_PARAMS, "sha256", "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"),
        (SDK_PARAMS, "md5hash", "d72f75ac8cda9bbce891c4fa62bee6cd"),
        (
            {"param1": "value&1", "param2": "value=2", "timestamp": "1234567890"},
            "md5",
            "2bbf0abafb2c55e5af6231513896a2ac",
        ),
        ({"param": "value", "timestamp": "1234567890"}, "md5", "655a4d0b7f064dff438defc52b012cf5"),
    ],
    ids=["hmac-md5", "hmac-sha256", "md5hash", "reserved-characters", "check-signature"],
)
def test_signature_matches_sdk_vectors(
    params: dict[str, str], method: SignatureMethod, expected: str
) -> None:
    assert signature(params, "signature_secret", method) == expected


def test_signature_ignores_an_existing_sig() -> None:
    with_sig = SDK_PARAMS | {"sig": "0" * 32}
    assert signature(with_sig, "signature_secret", "md5") == "724c2bf6ca423c36e20631b11d1c5753"


@pytest.mark.parametrize("method", ["sha1", "sha512"])
def test_sha1_and_sha512_are_hmacs_of_the_string_to_sign(method: SignatureMethod) -> None:
    message = b"&param1=value1&param2=value2&timestamp=1234567890"
    expected = hmac.new(b"signature_secret", message, getattr(hashlib, method)).hexdigest()
    assert signature(SDK_PARAMS, "signature_secret", method) == expected


def test_string_to_sign_replaces_reserved_characters_and_keeps_utf8_text() -> None:
    params = {"text": "验证码=1&2 +", "Z": "upper", "client-ref": "a", "timestamp": "1"}
    # byte order: uppercase before lowercase, '-' before letters; no percent-encoding
    assert string_to_sign(params) == "&Z=upper&client-ref=a&text=验证码_1_2 +&timestamp=1"


# --- config ------------------------------------------------------------------------------


def test_config_reads_the_sender_as_from() -> None:
    raw = {"api_key": API_KEY, "api_secret": API_SECRET, "from": "447700900001"}
    parsed = msgspec.convert(raw, VonageConfig)
    assert parsed.from_ == "447700900001"
    assert parsed.base_url == "https://rest.nexmo.com"
    assert parsed.signature_method == "md5hash"


def test_config_refuses_an_unknown_signature_method() -> None:
    raw = {"api_key": API_KEY, "signature_secret": "s", "from": "x", "signature_method": "crc32"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(raw, VonageConfig)


def test_config_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="api_secret"):
        config(api_secret=None)


# --- build_request ---------------------------------------------------------------------


def test_request_posts_the_form_with_api_secret() -> None:
    request = build_request(MESSAGE, config(), NOW, "n")

    assert request.method == "POST"
    assert str(request.url) == "https://rest.nexmo.com/sms/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert request.content == (
        b"api_key=abcd1234&from=otpgate&to=447700900000&text=Your+otpgate+code+is+123456"
        b"&type=text&client-ref=msg_01&api_secret=test-api-secret"
    )


def test_numbers_go_as_digits_without_plus() -> None:
    form = form_of(build_request(MESSAGE, config(from_="+447700900001"), NOW, "n"))
    assert (form["to"], form["from"]) == ("447700900000", "447700900001")


def test_non_ascii_text_is_sent_as_unicode() -> None:
    chinese = msgspec.structs.replace(MESSAGE, text="您的验证码是123456")
    form = form_of(build_request(chinese, config(), NOW, "n"))
    assert (form["type"], form["text"]) == ("unicode", "您的验证码是123456")


def test_signed_request_carries_timestamp_and_sig_instead_of_the_secret() -> None:
    request = build_request(MESSAGE, signed_config("sha256"), NOW, "n")
    form = form_of(request)

    assert "api_secret" not in form
    assert form["timestamp"] == "1714979289"
    assert form["sig"] == expected_sig(form, SIGNATURE_SECRET, "sha256")
    assert list(form) == [
        "api_key", "from", "to", "text", "type", "client-ref", "timestamp", "sig"
    ]  # fmt: skip


def test_signed_request_with_reserved_characters_in_text_still_verifies() -> None:
    tricky = msgspec.structs.replace(MESSAGE, text="code=123456&valid 5 min 验证码")
    form = form_of(build_request(tricky, signed_config("md5hash"), NOW, "n"))
    assert form["sig"] == expected_sig(form, SIGNATURE_SECRET, "md5hash")


# --- parse_response --------------------------------------------------------------------


def test_accepted_message_returns_its_message_id() -> None:
    response = answer(
        {"to": "447700900000", "message-id": "0C000000217B7F02", "status": "0", "network": "1"}
    )
    assert parse_response(response) == SendResult.ok("0C000000217B7F02")


def test_multipart_message_is_accepted_with_the_first_part_id() -> None:
    response = answer(
        {"message-id": "0C000000217B7F02", "status": "0"},
        {"message-id": "0C000000217B7F03", "status": "0"},
    )
    assert parse_response(response) == SendResult.ok("0C000000217B7F02")


def test_a_refused_part_fails_the_message() -> None:
    response = answer(
        {"message-id": "0C000000217B7F02", "status": "0"},
        {"status": "9", "error-text": "Quota Exceeded - rejected"},
    )
    assert parse_response(response) == SendResult.failed(
        "account", "9", "Quota Exceeded - rejected"
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("1", "retryable"),  # throttled
        ("5", "retryable"),  # internal error
        ("10", "retryable"),  # too many binds
        ("2", "permanent"),  # missing parameters
        ("3", "permanent"),  # invalid parameters
        ("6", "permanent"),  # unroutable number prefix
        ("7", "permanent"),  # number barred
        ("12", "permanent"),  # message too long
        ("33", "permanent"),  # number de-activated
        ("4", "account"),  # bad credentials
        ("8", "account"),  # account barred
        ("9", "account"),  # insufficient credit
        ("11", "account"),  # not enabled for HTTP
        ("14", "account"),  # invalid signature
        ("15", "account"),  # sender ID not allowed: another provider's sender may be
        ("29", "account"),  # demo account: destination not whitelisted
        ("32", "account"),  # signature and secret together
        ("99", "retryable"),  # unknown: let another provider try
    ],
)
def test_http_200_error_status_is_classified(status: str, kind: str) -> None:
    result = parse_response(answer({"status": status, "error-text": "Vonage says no"}))
    assert result == SendResult.failed(kind, status, "Vonage says no")  # type: ignore[arg-type]


def test_invalid_number_is_permanent() -> None:
    result = parse_response(answer({"status": "6", "error-text": "Unroutable message - rejected"}))
    assert (result.error_kind, result.error_code) == ("permanent", "6")


def test_server_error_is_retryable() -> None:
    result = parse_response(httpx.Response(500, text="Internal Server Error"))
    assert result == SendResult.failed("retryable", "http_500", "Internal Server Error")


def test_http_unauthorized_is_an_account_error() -> None:
    result = parse_response(httpx.Response(401, json={"error-code": "401"}))
    assert (result.error_kind, result.error_code) == ("account", "http_401")


@pytest.mark.parametrize("body", [b"<html>", b'{"message-count": "0", "messages": []}', b"{}"])
def test_unparseable_answer_is_retryable(body: bytes) -> None:
    result = parse_response(httpx.Response(200, content=body))
    assert (result.error_kind, result.error_code) == ("retryable", "unparseable")


# --- balance -----------------------------------------------------------------------------


def test_balance_request_uses_basic_auth() -> None:
    request = build_balance_request(config(), NOW, "n")
    assert request.method == "GET"
    assert str(request.url) == "https://rest.nexmo.com/account/get-balance"
    expected = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_balance_request_needs_the_api_secret() -> None:
    with pytest.raises(ValueError, match="api_secret"):
        build_balance_request(signed_config(), NOW, "n")


def test_balance_has_a_value_and_no_currency() -> None:
    response = httpx.Response(200, json={"value": 10.28, "autoReload": False})
    assert parse_balance(response) == Balance(amount=10.28, currency=None)


def test_balance_is_none_on_error_or_nonsense() -> None:
    assert parse_balance(httpx.Response(401, json={"error-code": "401"})) is None
    assert parse_balance(httpx.Response(200, text="<html>")) is None


# --- against the loopback stub --------------------------------------------------------


@pytest.fixture
def stub() -> VonageStub:
    return VonageStub(API_KEY, API_SECRET, signature_secret=SIGNATURE_SECRET)


async def send(
    base_url: str, cfg: VonageConfig | None = None, client_timeout: float = 5.0
) -> SendResult:
    cfg = msgspec.structs.replace(cfg or config(), base_url=base_url)
    async with httpx.AsyncClient(timeout=client_timeout) as client:
        return await create(cfg, client).send(MESSAGE)


async def test_stub_accepts_the_message_and_returns_its_id(stub: VonageStub) -> None:
    with serve(stub) as url:
        result = await send(url)
    assert result == SendResult.ok("0000000000000001")
    [received] = stub.requests
    assert (received.path, received.form["to"], received.form["client-ref"]) == (
        "/sms/json",
        "447700900000",
        "msg_01",
    )


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
async def test_stub_accepts_a_signed_request(stub: VonageStub, method: SignatureMethod) -> None:
    stub.signature_method = method
    with serve(stub) as url:
        result = await send(url, signed_config(method))
    assert result.accepted


async def test_wrong_api_secret_is_an_account_error(stub: VonageStub) -> None:
    with serve(stub) as url:
        result = await send(url, config(api_secret="wrong-secret"))
    assert result == SendResult.failed("account", "4", "Bad Credentials")


async def test_wrong_signature_secret_is_an_account_error(stub: VonageStub) -> None:
    with serve(stub) as url:
        result = await send(url, signed_config(signature_secret="wrong-secret"))
    assert result == SendResult.failed("account", "14", "Invalid Signature")


async def test_signature_method_mismatch_is_refused(stub: VonageStub) -> None:
    stub.signature_method = "sha256"
    with serve(stub) as url:
        result = await send(url, signed_config("md5"))
    assert (result.error_kind, result.error_code) == ("account", "14")


async def test_server_error_from_the_stub_is_retryable(stub: VonageStub) -> None:
    stub.fail_status = 502
    with serve(stub) as url:
        result = await send(url)
    assert (result.error_kind, result.error_code) == ("retryable", "http_502")


async def test_invalid_number_is_refused_as_permanent(stub: VonageStub) -> None:
    stub.invalid_numbers.add("447700900000")
    with serve(stub) as url:
        result = await send(url)
    assert result == SendResult.failed("permanent", "6", "Unroutable message - rejected")


async def test_slow_provider_times_out_as_retryable(stub: VonageStub) -> None:
    stub.delay = 1.0
    with serve(stub) as url:
        result = await send(url, client_timeout=0.2)
    assert (result.error_kind, result.error_code) == ("retryable", "timeout")


async def test_unreachable_provider_is_retryable() -> None:
    result = await send(closed_port_url())
    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")


async def test_stub_reports_the_balance(stub: VonageStub) -> None:
    with serve(stub) as url:
        async with httpx.AsyncClient() as client:
            request = build_balance_request(config(base_url=url), NOW, "n")
            balance = parse_balance(await client.send(request))
    assert balance == Balance(amount=10.28, currency=None)
