"""Sending through Huawei Cloud Message & SMS (MSGSMS): template SMS by ``batchSendSms``.

``POST {base_url}/sms/batchSendSms/v1`` with a form body: ``from`` (the channel number
from the console), ``to`` (E.164 with ``+``), ``templateId``, ``templateParas`` (a JSON
array of the template's values, in order; left out for a template without variables),
and the optional ``signature`` (the sign name, required only by general templates) and
``statusCallback``. Reference: support.huaweicloud.com/api-msgsms/sms_05_0001.html.

Huawei answers ``{"code": "000000", "result": [{"smsMsgId", "status", ...}]}`` with a
status per number, or an HTTP 4xx/5xx ``{"code": "E…", "description"}``; a failed send
(``E000510``) carries the per-number ``status`` that says why. See ``_ERROR_KINDS``.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import httpx
import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, status_kind, template_values
from app.providers.config import template_for
from app.providers.huawei.signing import UNSIGNED_PAYLOAD, aksk_authorization, wsse_headers

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.huawei.config import HuaweiConfig

__all__ = ["SEND_PATH", "build_request", "classify_error", "parse_response"]

SEND_PATH = "/sms/batchSendSms/v1"
_FORM = "application/x-www-form-urlencoded"
_SUCCESS = "000000"


def _form(message: OutgoingMessage, config: HuaweiConfig) -> dict[str, str]:
    template = template_for(config.templates, message.locale)
    form = {"from": config.sender, "to": message.to, "templateId": template.id}
    values = template_values(template, message)
    if values:
        form["templateParas"] = msgspec.json.encode(values).decode()
    if config.status_callback_url is not None:
        form["statusCallback"] = config.status_callback_url
    if config.sign_name is not None:
        form["signature"] = config.sign_name
    return form


def _auth_headers(config: HuaweiConfig, now: datetime, nonce: str) -> dict[str, str]:
    utc = now.astimezone(UTC)
    if config.auth == "wsse":
        created = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "Content-Type": _FORM,
            **wsse_headers(config.app_key, config.app_secret, nonce, created),
        }
    # The signed Host must be the one sent, so it is set explicitly (port included if the
    # base URL has one). The body is left unsigned, as the official SDK does for forms.
    signed = {
        "Content-Type": _FORM,
        "Host": urlsplit(config.base_url).netloc,
        "X-Sdk-Content-Sha256": UNSIGNED_PAYLOAD,
        "X-Sdk-Date": utc.strftime("%Y%m%dT%H%M%SZ"),
    }
    path = urlsplit(config.base_url.rstrip("/") + SEND_PATH).path
    authorization = aksk_authorization(
        config.app_key, config.app_secret, "POST", path, [], signed, UNSIGNED_PAYLOAD
    )
    return {**signed, "Authorization": authorization}


def build_request(
    message: OutgoingMessage, config: HuaweiConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``batchSendSms`` request for one number, signed as ``config.auth`` says."""
    return httpx.Request(
        "POST",
        config.base_url.rstrip("/") + SEND_PATH,
        content=urlencode(_form(message, config)).encode(),
        headers=_auth_headers(config, now, nonce),
    )


# --- response ---------------------------------------------------------------------------

# ``code`` values from Huawei's API error code page (api-msgsms sms_05_0050); per-number
# ``status`` values E2000xx as Huawei's status list names them (sms4j's HuaweiError quotes
# the same list). Template and sign problems are "permanent", as otpgate defines it.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "E000000": "retryable",  # system error on Huawei's side
    "E000110": "account",  # Created / X-Sdk-Date out of range: our clock, every send fails
    "E000112": "account",  # user frozen (arrears)
    "E000503": "permanent",  # parameter format error, which is how a bad `to` is refused
    "E000510": "retryable",  # send failed; the per-number status, when present, says why
    "E200015": "retryable",  # too many messages waiting to be sent
    "E200018": "account",  # `from` is not a channel of this application (our setup)
    "E200028": "permanent",  # template variables rejected
    "E200029": "permanent",  # template type rejected
    "E200030": "permanent",  # template not activated
    "E200031": "account",  # protocol (agreement) check failed
    "E200033": "permanent",  # template type incorrect
    "E200041": "permanent",  # the same number twice in one request
    "E200048": "retryable",  # frequency control
}


def classify_error(code: str, status_code: int = 200) -> ErrorKind:
    """What a Huawei error code means for us; unknown codes fall back on the HTTP status."""
    if status_code >= 500:
        return "retryable"
    if code in _ERROR_KINDS:
        return _ERROR_KINDS[code]
    # E000001-E000027 (Authorization / X-WSSE malformed) and E0001xx (app_key, app_secret,
    # digest, account state): the request's credentials, not the number.
    if code.startswith(("E0000", "E0001")):
        return "account"
    return status_kind(status_code)


class _NumberResult(msgspec.Struct):
    status: str = ""
    sms_msg_id: str | None = msgspec.field(default=None, name="smsMsgId")


class _Reply(msgspec.Struct):
    code: str = ""
    description: str = ""
    result: list[_NumberResult] = msgspec.field(default_factory=list)
    # The API Gateway in front answers its own errors in this shape (e.g. APIGW.0301).
    error_code: str = ""
    error_msg: str = ""


def parse_response(response: httpx.Response) -> SendResult:
    """Accepted when the request and the number's status are ``000000``; else classified.

    When the number's own status is an error, it is the more precise reason and is kept
    as the error code (a failed send answers ``E000510`` with it).
    """
    reply = decode_answer(response, _Reply)
    if reply is None:
        kind = classify_error("", response.status_code)
        return SendResult.failed(kind, f"http_{response.status_code}", response.text[:200])
    number = reply.result[0] if reply.result else _NumberResult()
    if number.status and number.status != _SUCCESS:
        kind = classify_error(number.status, response.status_code)
        return SendResult.failed(kind, number.status, reply.description)
    if response.is_success and reply.code == _SUCCESS:
        return SendResult.ok(number.sms_msg_id)
    code = reply.code or reply.error_code or f"http_{response.status_code}"
    kind = classify_error(code, response.status_code)
    return SendResult.failed(kind, code, reply.description or reply.error_msg)
