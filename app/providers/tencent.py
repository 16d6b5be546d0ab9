"""Tencent Cloud SMS (``SendSms``, API version 2021-01-11), signed with TC3-HMAC-SHA256.

``POST /`` with a JSON body; the action, version, timestamp and region travel in
``X-TC-*`` headers. The ``Authorization`` header is an HMAC-SHA256 over a canonical
request (method, ``/``, empty query, the signed ``content-type`` and ``host`` headers,
the body's SHA-256), keyed by the chain ``"TC3" + SecretKey`` -> UTC date -> ``sms`` ->
``tc3_request``.

Request-level errors are ``Response.Error``; per-number results are
``Response.SendStatusSet[i].Code`` (``"Ok"`` on success). Both come with HTTP 200.

References: cloud.tencent.com/document/api/382/55981 (SendSms),
cloud.tencent.com/document/api/382/52071 (TC3-HMAC-SHA256), the error codes in
``tencentcloud/sms/v20210111/errorcodes.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from app.providers.base import (
    ErrorKind,
    HttpProvider,
    OutgoingMessage,
    SendResult,
    classify_code,
    template_values,
)
from app.providers.config import Template, template_for
from app.providers.signing import (
    canonical_request,
    hmac_sha256,
    sha256_hex,
    signed_headers,
    string_to_sign,
)
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "TencentConfig",
    "build_request",
    "classify_error",
    "create",
    "parse_response",
    "tc3_authorization",
    "tc3_canonical_request",
    "tc3_credential_scope",
    "tc3_signature",
    "tc3_signing_key",
    "tc3_string_to_sign",
]

SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
TC3_ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"


class TencentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A Tencent Cloud account's SMS settings.

    Attributes:
        secret_id: the API key's SecretId (``AKID…``).
        secret_key: the API key's SecretKey that signs each request.
        sms_sdk_app_id: the SMS application's SdkAppId (e.g. ``1400006666``).
        sign_name: the approved signature text; required for mainland China numbers,
            ``None`` to send none (international templates).
        templates: locale -> the approved template (``id`` is its TemplateId; the
            variables ``{1}``, ``{2}``… are filled by position from ``params``).
        region: the ``X-TC-Region`` (``ap-guangzhou``, ``ap-beijing`` or ``ap-nanjing``).
        base_url: the API endpoint.
    """

    secret_id: str
    secret_key: Secret
    sms_sdk_app_id: str
    templates: dict[str, Template]
    sign_name: str | None = None
    region: str = "ap-guangzhou"
    base_url: str = "https://sms.tencentcloudapi.com"


# --- signing (pure) -----------------------------------------------------------------


def tc3_canonical_request(headers: Mapping[str, str], payload: bytes) -> str:
    """``POST``, URI ``/``, empty query, the signed headers (lowercased, sorted), body hash.

    ``headers`` are exactly the signed ones (``content-type`` and ``host``).
    """
    return canonical_request("POST", "/", "", headers, sha256_hex(payload))


def tc3_credential_scope(timestamp: int, service: str) -> str:
    """``<UTC date>/<service>/tc3_request``: the date is UTC, whatever the local zone."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return f"{date}/{service}/tc3_request"


def tc3_string_to_sign(timestamp: int, service: str, canonical_request: str) -> str:
    """The algorithm, the timestamp, the credential scope and the canonical request's hash."""
    scope = tc3_credential_scope(timestamp, service)
    return string_to_sign(TC3_ALGORITHM, str(timestamp), scope, canonical=canonical_request)


def tc3_signing_key(secret_key: str, date: str, service: str) -> bytes:
    """``HMAC("TC3" + SecretKey, date)`` -> ``HMAC(·, service)`` -> ``HMAC(·, "tc3_request")``."""
    date_key = hmac_sha256(f"TC3{secret_key}".encode(), date)
    service_key = hmac_sha256(date_key, service)
    return hmac_sha256(service_key, "tc3_request")


def tc3_signature(secret_key: str, timestamp: int, service: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the derived signing key."""
    date = tc3_credential_scope(timestamp, service).split("/")[0]
    key = tc3_signing_key(secret_key, date, service)
    return hmac_sha256(key, string_to_sign).hex()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    timestamp: int,
    service: str,
    headers: Mapping[str, str],
    payload: bytes,
) -> str:
    """The ``Authorization`` header value (comma **and space** between its parts)."""
    to_sign = tc3_string_to_sign(timestamp, service, tc3_canonical_request(headers, payload))
    signature = tc3_signature(secret_key, timestamp, service, to_sign)
    return (
        f"{TC3_ALGORITHM} Credential={secret_id}/{tc3_credential_scope(timestamp, service)}, "
        f"SignedHeaders={signed_headers(headers)}, Signature={signature}"
    )


# --- request (pure) -----------------------------------------------------------------


def _body(message: OutgoingMessage, config: TencentConfig) -> bytes:
    template = template_for(config.templates, message.locale)
    fields: dict[str, Any] = {
        "PhoneNumberSet": [message.to],  # E.164 with '+', as the doc asks
        "SmsSdkAppId": config.sms_sdk_app_id,
        "TemplateId": template.id,
        "TemplateParamSet": template_values(template, message),
        "SessionContext": message.message_id,
    }
    if config.sign_name is not None:
        fields["SignName"] = config.sign_name
    return msgspec.json.encode(fields)


def build_request(
    message: OutgoingMessage, config: TencentConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SendSms`` request (``SessionContext`` = our message id).

    TC3 has no nonce: ``nonce`` is unused; the timestamp is ``now`` in whole seconds.
    """
    url = config.base_url.rstrip("/") + "/"
    timestamp = int(now.timestamp())
    payload = _body(message, config)
    signed_headers = {"content-type": CONTENT_TYPE, "host": httpx.URL(url).netloc.decode("ascii")}
    authorization = tc3_authorization(
        config.secret_id, config.secret_key, timestamp, SERVICE, signed_headers, payload
    )
    headers = {
        **signed_headers,
        "authorization": authorization,
        "x-tc-action": ACTION,
        "x-tc-version": VERSION,
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": config.region,
    }
    return httpx.Request("POST", url, headers=headers, content=payload)


# --- response (pure) ----------------------------------------------------------------

# Why each code lands where it does (errorcodes.py of the 2021-01-11 API):
# permanent - the number is refused (malformed, unparseable, on the do-not-disturb
#   list) or our template/signature/parameters are: the same request never passes here;
# account - our account cannot send: credentials, app id, arrears, exhausted package,
#   an account-wide daily cap, a clock the API rejects;
# retryable - per-number frequency limits, API throttling and internal errors: the next
#   attempt (or provider) may pass.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "InvalidParameterValue.IncorrectPhoneNumber": "permanent",
    "FailedOperation.PhoneNumberParseFail": "permanent",
    "FailedOperation.PhoneNumberInBlacklist": "permanent",
    "FailedOperation.TemplateIncorrectOrUnapproved": "permanent",
    "FailedOperation.TemplateUnapprovedOrNotExist": "permanent",
    "FailedOperation.TemplateIdNotExist": "permanent",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "permanent",
    "FailedOperation.SignatureIncorrectOrUnapproved": "permanent",
    "FailedOperation.MissingSignatureList": "permanent",
    "FailedOperation.MissingTemplateList": "permanent",
    "FailedOperation.ContainSensitiveWord": "permanent",
    "FailedOperation.FailResolvePacket": "permanent",
    "FailedOperation.JsonParseFail": "permanent",
    "FailedOperation.InsufficientBalanceInSmsPackage": "account",
    "InvalidParameterValue.SdkAppIdNotExist": "account",
    "InternalError.RequestTimeException": "account",  # our clock is >10 min off
    # Console-set caps for the whole app: no number passes here until they reset.
    "LimitExceeded.AppDailyLimit": "account",
    "LimitExceeded.AppGlobalDailyLimit": "account",
    "LimitExceeded.AppMainlandChinaDailyLimit": "account",
    # This provider does not cover the region; another one may.
    "UnsupportedOperation.UnsuportedRegion": "retryable",  # sic, the API's spelling
    "UnsupportedOperation.UnsupportedRegion": "retryable",
}
_ERROR_PREFIX_KINDS: tuple[tuple[str, ErrorKind], ...] = (
    ("AuthFailure.", "account"),  # SignatureFailure, SignatureExpire, SecretIdNotFound…
    ("UnauthorizedOperation.", "account"),  # SmsSdkAppIdVerifyFail, arrears, IP whitelist…
    ("LimitExceeded.", "retryable"),  # per-number 30 s / 1 h / daily frequency limits
    ("RequestLimitExceeded", "retryable"),  # API QPS
    ("InternalError", "retryable"),
    ("InvalidParameter", "permanent"),  # template parameter format/length, URL in a param…
    ("MissingParameter", "permanent"),
    ("UnsupportedOperation.", "permanent"),  # domestic template to a global number…
)


def classify_error(code: str) -> ErrorKind:
    """The kind of a Tencent error code (unknown codes are retryable)."""
    return classify_code(code, _ERROR_KINDS, _ERROR_PREFIX_KINDS)


class _Error(msgspec.Struct, rename="pascal"):
    code: str
    message: str = ""


class _SendStatus(msgspec.Struct, rename="pascal"):
    code: str
    message: str = ""
    serial_no: str | None = None


class _Body(msgspec.Struct, rename="pascal"):
    error: _Error | None = None
    send_status_set: list[_SendStatus] = msgspec.field(default_factory=list)


class _Envelope(msgspec.Struct, rename="pascal"):
    response: _Body


def parse_response(response: httpx.Response) -> SendResult:
    """``SendStatusSet[0].Code == "Ok"`` -> accepted with its ``SerialNo``; errors classified."""
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content, type=_Envelope).response
    except msgspec.DecodeError:
        return SendResult.failed("retryable", f"http_{status}", "unparseable response body")
    if body.error is not None:
        kind: ErrorKind = "retryable" if status >= 500 else classify_error(body.error.code)
        return SendResult.failed(kind, body.error.code, body.error.message)
    if status >= 500 or not body.send_status_set:
        return SendResult.failed("retryable", f"http_{status}", "response without a send status")
    result = body.send_status_set[0]
    if result.code == "Ok":
        return SendResult.ok(result.serial_no)
    return SendResult.failed(classify_error(result.code), result.code, result.message)


def create(
    config: TencentConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[TencentConfig]:
    """The ``tencent`` provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    return HttpProvider("tencent", config, build_request, parse_response, client, **kwargs)
