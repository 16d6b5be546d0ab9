"""Sending through Alibaba Cloud SMS: the ``SendSms`` request, and what its answer means.

Business failures come back as HTTP 200 with ``Code != "OK"``; gateway failures (bad
signature, unknown key, throttling) as HTTP 4xx with the same ``Code``/``Message`` body.

References: help.aliyun.com/document_detail/101414 (SendSms), 101346 (API error codes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.aliyun.calls import signed_call
from app.providers.base import ErrorKind, SendResult, classify_code, decode_answer, template_values
from app.providers.config import template_for

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.aliyun.config import AliyunConfig
    from app.providers.base import OutgoingMessage

__all__ = ["build_request", "classify_error", "parse_response", "phone_number"]

ACTION = "SendSms"


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


def build_request(
    message: OutgoingMessage, config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SendSms`` request for one message (``OutId`` = our message id)."""
    return signed_call(ACTION, _business_params(message, config), config, now, nonce)


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
