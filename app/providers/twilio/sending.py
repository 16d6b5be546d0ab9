"""Sending through Twilio Programmable Messaging (the 2010-04-01 REST API).

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with a form body
(``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``) and HTTP
Basic auth: ``AccountSid:AuthToken``, or an API key's ``SID:Secret``. Twilio answers
201 with the Message resource (``sid``), or a 4xx/5xx JSON error with a numeric
``code`` (https://www.twilio.com/docs/api/errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, status_kind, unparseable
from app.providers.signing import basic_authorization

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.twilio.config import TwilioConfig

__all__ = ["account_headers", "account_url", "build_request", "parse_response"]

_API_VERSION = "2010-04-01"

# Twilio error codes (https://www.twilio.com/docs/api/errors) whose meaning we act on.
_ERROR_KINDS: dict[int, ErrorKind] = {
    21211: "permanent",  # invalid 'To' phone number
    21614: "permanent",  # 'To' is not a mobile number
    21610: "permanent",  # recipient replied STOP (unsubscribed)
    # Our sender or geo settings at Twilio: another provider can still reach the number.
    21408: "account",  # no permission to send to this region (geo permissions)
    21212: "account",  # invalid 'From' number
    21606: "account",  # 'From' is not a message-capable Twilio number for this destination
    20003: "account",  # authentication failed
    20005: "account",  # account not active
    10001: "account",  # account not active
    20403: "account",  # forbidden: account suspended (commonly out of funds)
    20429: "retryable",  # too many requests
    # Calls (https://www.twilio.com/docs/api/errors)
    21210: "account",  # the caller ID is not a verified or Twilio number
    21215: "account",  # geo permissions do not allow calls to this number
    21216: "permanent",  # the number is blocked for calls
    21217: "permanent",  # the number does not appear to be valid
    13224: "permanent",  # invalid phone number to dial
    # WhatsApp
    63003: "permanent",  # the recipient is not a WhatsApp user
    63007: "account",  # no WhatsApp sender of this account
    63016: "permanent",  # a free-form message outside the 24-hour window (a template is needed)
    63018: "retryable",  # rate limit of the WhatsApp sender
    63024: "permanent",  # invalid recipient
}


def account_headers(config: TwilioConfig) -> dict[str, str]:
    """Basic auth with the API key if there is one, else the Auth Token; JSON answers."""
    if config.api_key_sid is not None and config.api_key_secret is not None:
        user, password = config.api_key_sid, config.api_key_secret
    else:
        user, password = config.account_sid, config.auth_token or ""
    return {"Authorization": basic_authorization(user, password), "Accept": "application/json"}


def account_url(config: TwilioConfig, resource: str) -> str:
    base = config.base_url.rstrip("/")
    return f"{base}/{_API_VERSION}/Accounts/{config.account_sid}/{resource}"


def build_request(
    message: OutgoingMessage, config: TwilioConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``Messages.json`` create request. Basic auth needs neither clock nor nonce."""
    form = {"To": message.to}
    if config.messaging_service_sid is not None:
        form["MessagingServiceSid"] = config.messaging_service_sid
    else:
        form["From"] = config.from_ or ""
    form["Body"] = message.text
    if config.status_callback_url is not None:
        form["StatusCallback"] = config.status_callback_url
    return httpx.Request(
        "POST",
        account_url(config, "Messages.json"),
        data=form,
        headers=account_headers(config),
    )


class _Message(msgspec.Struct):
    sid: str


class _Error(msgspec.Struct):
    code: int | None = None
    message: str = ""


def parse_response(response: httpx.Response) -> SendResult:
    """201 with the Message resource is accepted; an error is classified by its code."""
    if response.is_success:
        message = decode_answer(response, _Message)
        return unparseable(response) if message is None else SendResult.ok(message.sid)
    error = decode_answer(response, _Error) or _Error(message=response.text[:200])
    if response.status_code >= 500:
        kind: ErrorKind = "retryable"
    elif error.code in _ERROR_KINDS:
        kind = _ERROR_KINDS[error.code]
    else:
        kind = status_kind(response.status_code)
    code = str(error.code) if error.code is not None else f"http_{response.status_code}"
    return SendResult.failed(kind, code, error.message)
