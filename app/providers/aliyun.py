"""Alibaba Cloud SMS (Dysmsapi ``SendSms``, API version 2017-05-25).

Two signing schemes, both documented by Alibaba Cloud:

* V3 ``ACS3-HMAC-SHA256`` (the default, what the current SDKs send): business parameters
  in the query of ``POST /``, an ``Authorization`` header over a canonical request of the
  method, query, the ``host`` and ``x-acs-*`` headers and the SHA-256 of the (empty) body.
* V1 RPC ``HMAC-SHA1``: every parameter, common and business, in a form body; the
  ``Signature`` parameter is base64 HMAC-SHA1 keyed with ``AccessKeySecret + "&"`` over
  the twice percent-encoded, sorted parameter string.

Business failures come back as HTTP 200 with ``Code != "OK"``; gateway failures (bad
signature, unknown key, throttling) as HTTP 4xx with the same ``Code``/``Message`` body.

References: help.aliyun.com/document_detail/101414 (SendSms), 101346 (API error
codes); Alibaba Cloud SDK docs "V3 request structure and signature" and "RPC signature
mechanism" (V1); worked examples in the shared providers.md reference, section 3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal

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
    canonical_query,
    canonical_request,
    hmac_sha256_hex,
    percent_encode,
    sha256_hex,
    signed_headers,
    string_to_sign,
)
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "AliyunConfig",
    "acs3_authorization",
    "acs3_canonical_request",
    "acs3_signature",
    "acs3_string_to_sign",
    "build_request",
    "classify_error",
    "create",
    "parse_response",
    "percent_encode",
    "phone_number",
    "rpc_signature",
    "rpc_string_to_sign",
]

ACTION = "SendSms"
VERSION = "2017-05-25"
ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = sha256_hex(b"")


class AliyunConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An Alibaba Cloud account's SMS settings.

    Attributes:
        access_key_id: the AccessKey ID (of a RAM user allowed ``dysmsapi:SendSms``).
        access_key_secret: the AccessKey secret that signs each request.
        sign_name: the approved SMS signature (签名) text, e.g. ``阿里云短信测试``.
        templates: locale -> the approved template (``id`` is its TemplateCode,
            ``names`` its ``${variable}`` names; without ``names`` the variables are
            called ``code`` and ``minutes``).
        signature_version: ``v3`` (ACS3-HMAC-SHA256 header) or ``v1`` (RPC HMAC-SHA1).
        base_url: the Dysmsapi endpoint, e.g. ``https://dysmsapi.ap-southeast-1.aliyuncs.com``.
    """

    access_key_id: str
    access_key_secret: Secret
    sign_name: str
    templates: dict[str, Template]
    signature_version: Literal["v3", "v1"] = "v3"
    base_url: str = "https://dysmsapi.aliyuncs.com"


# --- signing (pure) -----------------------------------------------------------------


def _canonical_query(params: Mapping[str, str]) -> str:
    return canonical_query(params.items())


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """V1: ``METHOD&%2F&`` + the sorted, encoded query string, encoded once more."""
    return f"{method}&{percent_encode('/')}&{percent_encode(_canonical_query(params))}"


def rpc_signature(access_key_secret: str, string_to_sign: str) -> str:
    """V1: base64 HMAC-SHA1 keyed with ``secret + "&"``."""
    # SHA-1 is what the V1 scheme mandates; V3 is the SHA-256 alternative.
    digest = hmac.new(
        f"{access_key_secret}&".encode(),
        string_to_sign.encode(),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode()


def acs3_canonical_request(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], hashed_payload: str
) -> str:
    """V3: method, URI ``/``, sorted query, sorted ``name:value`` headers, their names, body hash.

    ``headers`` are exactly the signed ones (``host``, every ``x-acs-*``, and
    ``content-type`` when sent).
    """
    return canonical_request(method, "/", _canonical_query(query), headers, hashed_payload)


def acs3_string_to_sign(canonical_request: str) -> str:
    """V3: the algorithm name and the hex SHA-256 of the canonical request."""
    return string_to_sign(ACS3_ALGORITHM, canonical=canonical_request)


def acs3_signature(access_key_secret: str, string_to_sign: str) -> str:
    """V3: hex HMAC-SHA256 keyed with the AccessKey secret itself."""
    return hmac_sha256_hex(access_key_secret, string_to_sign)


def acs3_authorization(
    access_key_id: str,
    access_key_secret: str,
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    hashed_payload: str,
) -> str:
    """V3: the ``Authorization`` header value (no spaces after the commas)."""
    canonical = acs3_canonical_request(method, query, headers, hashed_payload)
    signature = acs3_signature(access_key_secret, acs3_string_to_sign(canonical))
    return (
        f"{ACS3_ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={signed_headers(headers)},Signature={signature}"
    )


# --- request (pure) -----------------------------------------------------------------


def phone_number(e164: str) -> str:
    """``PhoneNumbers`` as the doc asks: 11 digits in mainland China, else ``<cc><number>``."""
    return e164.removeprefix("+86") if e164.startswith("+86") else e164.removeprefix("+")


def _business_params(message: OutgoingMessage, config: AliyunConfig) -> dict[str, str]:
    template = template_for(config.templates, message.locale)
    names = template.names or list(template.params)
    values = dict(zip(names, template_values(template, message), strict=True))
    return {
        "PhoneNumbers": phone_number(message.to),
        "SignName": config.sign_name,
        "TemplateCode": template.id,
        "TemplateParam": msgspec.json.encode(values).decode(),
        "OutId": message.message_id,
    }


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _endpoint(config: AliyunConfig) -> str:
    return config.base_url.rstrip("/") + "/"


def _acs3_request(
    params: dict[str, str], config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    url = _endpoint(config)
    headers = {
        "host": httpx.URL(url).netloc.decode("ascii"),
        "x-acs-action": ACTION,
        "x-acs-version": VERSION,
        "x-acs-date": _timestamp(now),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": EMPTY_BODY_SHA256,
    }
    authorization = acs3_authorization(
        config.access_key_id, config.access_key_secret, "POST", params, headers, EMPTY_BODY_SHA256
    )
    # The query is sent exactly as signed, so no client-side re-encoding can differ.
    return httpx.Request(
        "POST",
        f"{url}?{_canonical_query(params)}",
        headers={**headers, "authorization": authorization, "accept": "application/json"},
    )


def _rpc_request(
    params: dict[str, str], config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    signed = {
        **params,
        "AccessKeyId": config.access_key_id,
        "Action": ACTION,
        "Version": VERSION,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": _timestamp(now),
    }
    signature = rpc_signature(config.access_key_secret, rpc_string_to_sign("POST", signed))
    body = f"{_canonical_query(signed)}&Signature={percent_encode(signature)}"
    return httpx.Request(
        "POST",
        _endpoint(config),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        },
        content=body.encode("ascii"),
    )


def build_request(
    message: OutgoingMessage, config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SendSms`` request for one message (``OutId`` = our message id)."""
    params = _business_params(message, config)
    if config.signature_version == "v1":
        return _rpc_request(params, config, now, nonce)
    return _acs3_request(params, config, now, nonce)


# --- response (pure) ----------------------------------------------------------------

# Why each code lands where it does (help.aliyun.com/document_detail/101346):
# permanent - the number is refused, or our template/signature/parameters are, so the
#   same request will never pass here (template and signature rejections are
#   configuration errors an operator must see, not something a retry hides);
# account - our account cannot send at all: balance, credentials, subscription,
#   permissions, or a console-set daily/monthly cap;
# retryable - flow control, throttling, replayed nonce and platform errors: the next
#   attempt (or provider) may pass.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "isv.MOBILE_NUMBER_ILLEGAL": "permanent",
    "isv.BLACK_KEY_CONTROL_LIMIT": "permanent",  # number blacklisted (unsubscribed, complaint)
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": "permanent",
    "isv.MOBILE_COUNT_OVER_LIMIT": "permanent",
    "isv.SMS_TEMPLATE_ILLEGAL": "permanent",
    "isv.SMS_SIGNATURE_ILLEGAL": "permanent",
    "isv.SMS_SIGN_ILLEGAL": "permanent",
    "isv.SIGN_STATE_ILLEGAL": "permanent",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": "permanent",
    "isv.TEMPLATE_MISSING_PARAMETERS": "permanent",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "permanent",
    "isv.SMS_CONTENT_ILLEGAL": "permanent",
    "isv.INVALID_PARAMETERS": "permanent",
    "isv.INVALID_JSON_PARAM": "permanent",
    "isv.PARAM_LENGTH_LIMIT": "permanent",
    "isv.PARAM_NOT_SUPPORT_URL": "permanent",
    "isv.EXTEND_CODE_ERROR": "permanent",
    "isv.AMOUNT_NOT_ENOUGH": "account",
    "isv.OUT_OF_SERVICE": "account",  # suspended for lack of balance
    "isv.ACCOUNT_ABNORMAL": "account",
    "isv.ACCOUNT_NOT_EXISTS": "account",
    "isv.PRODUCT_UN_SUBSCRIPT": "account",
    "isv.PRODUCT_UNSUBSCRIBE": "account",
    "isv.DENY_IP_RANGE": "account",  # our source IP is outside the allowed region
    "isv.DAY_LIMIT_CONTROL": "account",  # the account-wide cap set in the console
    "isv.MONTH_LIMIT_CONTROL": "account",
    "isp.RAM_PERMISSION_DENY": "account",
    "SignatureDoesNotMatch": "account",
    "IncompleteSignature": "account",
    "InvalidTimeStamp.Expired": "account",  # our clock is off: every request will fail
    "isv.BUSINESS_LIMIT_CONTROL": "retryable",  # per-number flow control at Alibaba only
    "isp.SYSTEM_ERROR": "retryable",
    "SignatureNonceUsed": "retryable",  # a fresh nonce passes
    "ServiceUnavailable": "retryable",
    "InternalError": "retryable",
}
_ERROR_PREFIX_KINDS: tuple[tuple[str, ErrorKind], ...] = (
    ("InvalidAccessKeyId", "account"),  # .NotFound, .Inactive
    ("Forbidden", "account"),  # Forbidden.RAM, Forbidden.AccessKeyDisabled…
    ("Throttling", "retryable"),  # Throttling, Throttling.User, Throttling.Api
    ("isp.", "retryable"),  # the platform's own failures
)


def classify_error(code: str) -> ErrorKind:
    """The kind of an Alibaba error code (unknown codes are retryable)."""
    return classify_code(code, _ERROR_KINDS, _ERROR_PREFIX_KINDS)


class _Reply(msgspec.Struct, rename="pascal"):
    code: str | None = None
    message: str = ""
    biz_id: str | None = None


def parse_response(response: httpx.Response) -> SendResult:
    """``Code == "OK"`` -> accepted with its ``BizId``; any other ``Code`` classified."""
    status = response.status_code
    try:
        reply = msgspec.json.decode(response.content, type=_Reply)
    except msgspec.DecodeError:
        return SendResult.failed("retryable", f"http_{status}", "unparseable response body")
    if status < 500 and reply.code == "OK":
        return SendResult.ok(reply.biz_id)
    if reply.code is None:
        return SendResult.failed("retryable", f"http_{status}", "response without a Code")
    kind: ErrorKind = "retryable" if status >= 500 else classify_error(reply.code)
    return SendResult.failed(kind, reply.code, reply.message)


def create(
    config: AliyunConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[AliyunConfig]:
    """The ``aliyun`` provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    return HttpProvider("aliyun", config, build_request, parse_response, client, **kwargs)
