"""Sending through Alibaba Cloud SMS: the ``SendSms`` request, and what its answer means.

Business failures come back as HTTP 200 with ``Code != "OK"``; gateway failures (bad
signature, unknown key, throttling) as HTTP 4xx with the same ``Code``/``Message`` body.

References: help.aliyun.com/document_detail/101414 (SendSms), 101346 (API error codes).
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.aliyun.signing import (
    EMPTY_BODY_SHA256,
    acs3_authorization,
    percent_encode,
    query_string,
    rpc_signature,
    rpc_string_to_sign,
)
from app.providers.base import ErrorKind, SendResult, classify_code, decode_answer, template_values
from app.providers.config import template_for

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.aliyun.config import AliyunConfig
    from app.providers.base import OutgoingMessage

__all__ = ["acs3_request", "build_request", "classify_error", "parse_response", "phone_number"]

ACTION = "SendSms"
VERSION = "2017-05-25"


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


def acs3_request(
    action: str,
    version: str,
    params: dict[str, str],
    credentials: tuple[str, str],
    base_url: str,
    now: datetime,
    nonce: str,
) -> httpx.Request:
    """``POST {base_url}/?<params>`` signed with ACS3-HMAC-SHA256 by the AccessKey pair
    ``credentials``: any Alibaba Cloud RPC action (``SendSms``, ``SingleCallByTts``)."""
    url = base_url.rstrip("/") + "/"
    headers = {
        "host": httpx.URL(url).netloc.decode("ascii"),
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": _timestamp(now),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": EMPTY_BODY_SHA256,
    }
    key_id, secret = credentials
    authorization = acs3_authorization(key_id, secret, "POST", params, headers, EMPTY_BODY_SHA256)
    # The query is sent exactly as signed, so no client-side re-encoding can differ.
    return httpx.Request(
        "POST",
        f"{url}?{query_string(params)}",
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
    body = f"{query_string(signed)}&Signature={percent_encode(signature)}"
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
    credentials = (config.access_key_id, config.access_key_secret)
    return acs3_request(ACTION, VERSION, params, credentials, config.base_url, now, nonce)


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
    reply = decode_answer(response, _Reply)
    if reply is None:
        return SendResult.failed("retryable", f"http_{status}", "unparseable response body")
    if status < 500 and reply.code == "OK":
        return SendResult.ok(reply.biz_id)
    if reply.code is None:
        return SendResult.failed("retryable", f"http_{status}", "response without a Code")
    kind: ErrorKind = "retryable" if status >= 500 else classify_error(reply.code)
    return SendResult.failed(kind, reply.code, reply.message)
