"""Sending through Tencent Cloud SMS (``SendSms``, API version 2021-01-11).

``POST /`` with a JSON body; the action, version, timestamp and region travel in
``X-TC-*`` headers, the TC3 signature in ``Authorization``. Request-level errors are
``Response.Error``; per-number results are ``Response.SendStatusSet[i].Code`` (``"Ok"``
on success). Both come with HTTP 200.

References: cloud.tencent.com/document/api/382/55981 (SendSms), the error codes in
``tencentcloud/sms/v20210111/errorcodes.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.providers.base import ErrorKind, SendResult, classify_code, decode_answer, template_values
from app.providers.config import template_for
from app.providers.tencent.calls import ApiError, signed_call

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.base import OutgoingMessage
    from app.providers.tencent.config import TencentConfig

__all__ = ["build_request", "classify_error", "parse_response"]

ACTION = "SendSms"


def _fields(message: OutgoingMessage, config: TencentConfig) -> dict[str, Any]:
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
    return fields


def build_request(
    message: OutgoingMessage, config: TencentConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SendSms`` request (``SessionContext`` = our message id); TC3 has no
    nonce, so ``nonce`` is unused."""
    return signed_call(ACTION, _fields(message, config), config, now)


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


class _SendStatus(msgspec.Struct, rename="pascal"):
    code: str
    message: str = ""
    serial_no: str | None = None


class _Body(msgspec.Struct, rename="pascal"):
    error: ApiError | None = None
    send_status_set: list[_SendStatus] = msgspec.field(default_factory=list)


class _Envelope(msgspec.Struct, rename="pascal"):
    response: _Body


def parse_response(response: httpx.Response) -> SendResult:
    """``SendStatusSet[0].Code == "Ok"`` -> accepted with its ``SerialNo``; errors classified."""
    status = response.status_code
    envelope = decode_answer(response, _Envelope)
    if envelope is None:
        return SendResult.failed("retryable", f"http_{status}", "unparseable response body")
    body = envelope.response
    if body.error is not None:
        kind: ErrorKind = "retryable" if status >= 500 else classify_error(body.error.code)
        return SendResult.failed(kind, body.error.code, body.error.message)
    if status >= 500 or not body.send_status_set:
        return SendResult.failed("retryable", f"http_{status}", "response without a send status")
    result = body.send_status_set[0]
    if result.code == "Ok":
        return SendResult.ok(result.serial_no)
    return SendResult.failed(classify_error(result.code), result.code, result.message)
