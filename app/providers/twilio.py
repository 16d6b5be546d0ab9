"""Twilio Programmable Messaging: send an SMS through the 2010-04-01 REST API.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with a form body
(``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``) and HTTP
Basic auth: ``AccountSid:AuthToken``, or an API key's ``SID:Secret``. Twilio answers
201 with the Message resource (``sid``), or a 4xx/5xx JSON error with a numeric
``code`` (https://www.twilio.com/docs/api/errors). ``GET .../Balance.json`` gives the
account balance.

:func:`twilio_signature` is the ``X-Twilio-Signature`` scheme Twilio signs its
webhooks with (https://www.twilio.com/docs/usage/security#validating-requests);
status callbacks are verified with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec

from app.providers.base import Balance, ErrorKind, HttpProvider, OutgoingMessage, SendResult
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "Balance",
    "TwilioConfig",
    "build_balance_request",
    "build_request",
    "create",
    "parse_balance",
    "parse_response",
    "twilio_body_hash",
    "twilio_signature",
]

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
}


class TwilioConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A Twilio account and the sender it sends from.

    Exactly one of ``from_`` and ``messaging_service_sid`` is set; ``auth_token`` or the
    ``api_key_sid``/``api_key_secret`` pair authenticates.
    """

    #: the account's SID (``AC…``); part of every URL.
    account_sid: str
    #: the account's Auth Token: Basic auth password, and the key of webhook signatures.
    auth_token: Secret | None = None
    #: an API key (``SK…``) to authenticate with instead of the Auth Token.
    api_key_sid: str | None = None
    #: that API key's secret.
    api_key_secret: Secret | None = None
    #: the sender: a Twilio number in E.164 or an alphanumeric sender ID (``From``).
    from_: str | None = msgspec.field(default=None, name="from")
    #: a Messaging Service (``MG…``) that picks the sender instead (``MessagingServiceSid``).
    messaging_service_sid: str | None = None
    #: where Twilio posts delivery status changes (``StatusCallback``); none if unset.
    status_callback_url: str | None = None
    #: the REST API's origin.
    base_url: str = "https://api.twilio.com"

    def __post_init__(self) -> None:
        if (self.from_ is None) == (self.messaging_service_sid is None):
            raise ValueError("twilio: set exactly one of `from` and `messaging_service_sid`")
        has_api_key = self.api_key_sid is not None and self.api_key_secret is not None
        if self.auth_token is None and not has_api_key:
            raise ValueError("twilio: set `auth_token`, or `api_key_sid` and `api_key_secret`")


def twilio_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str | list[str]],
    *,
    algorithm: Literal["HMAC-SHA1", "HMAC-SHA256"] = "HMAC-SHA1",
) -> str:
    """The ``X-Twilio-Signature`` of a webhook Twilio sent to ``url`` with form ``params``.

    ``url`` is the full URL Twilio requested, query string included. Twilio signs
    with the Auth Token and HMAC-SHA1; a Webhooks Rule's SharedKey signs with
    HMAC-SHA256 (header ``X-Twilio-Webhooks-Signature-Settings``).
    """
    payload = url
    for name in sorted(set(params)):
        values = params[name]
        for value in sorted(set([values] if isinstance(values, str) else values)):
            payload += name + value
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    mac = hmac.new(auth_token.encode(), payload.encode(), digest)
    return base64.b64encode(mac.digest()).decode()


def twilio_body_hash(body: bytes) -> str:
    """The ``bodySHA256`` query parameter Twilio adds to the URL of a JSON webhook."""
    return hashlib.sha256(body).hexdigest()


def _basic_auth(config: TwilioConfig) -> str:
    if config.api_key_sid is not None and config.api_key_secret is not None:
        user, password = config.api_key_sid, config.api_key_secret
    else:
        user, password = config.account_sid, config.auth_token or ""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _account_url(config: TwilioConfig, resource: str) -> str:
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
        _account_url(config, "Messages.json"),
        data=form,
        headers={"Authorization": _basic_auth(config), "Accept": "application/json"},
    )


class _Message(msgspec.Struct):
    sid: str


class _Error(msgspec.Struct):
    code: int | None = None
    message: str = ""


def _kind_of_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return "account"
    # 429, 5xx, and codes we do not know: another provider may well succeed.
    return "retryable"


def parse_response(response: httpx.Response) -> SendResult:
    """201 with the Message resource is accepted; an error is classified by its code."""
    if response.is_success:
        try:
            return SendResult.ok(msgspec.json.decode(response.content, type=_Message).sid)
        except msgspec.DecodeError:
            return SendResult.failed("retryable", "unparseable", response.text[:200])
    try:
        error = msgspec.json.decode(response.content, type=_Error)
    except msgspec.DecodeError:
        error = _Error(message=response.text[:200])
    if response.status_code >= 500:
        kind: ErrorKind = "retryable"
    elif error.code in _ERROR_KINDS:
        kind = _ERROR_KINDS[error.code]
    else:
        kind = _kind_of_status(response.status_code)
    code = str(error.code) if error.code is not None else f"http_{response.status_code}"
    return SendResult.failed(kind, code, error.message)


def build_balance_request(config: TwilioConfig, now: datetime, nonce: str) -> httpx.Request:
    """``GET .../Balance.json`` for the account."""
    return httpx.Request(
        "GET",
        _account_url(config, "Balance.json"),
        headers={"Authorization": _basic_auth(config), "Accept": "application/json"},
    )


class _Balance(msgspec.Struct):
    balance: str
    currency: str | None = None


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance (Twilio sends it as a decimal string), or None if there is none."""
    if not response.is_success:
        return None
    try:
        answer = msgspec.json.decode(response.content, type=_Balance)
        return Balance(amount=float(answer.balance), currency=answer.currency)
    except (msgspec.DecodeError, ValueError):
        return None


def create(
    config: TwilioConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[TwilioConfig]:
    """The Twilio provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    return HttpProvider("twilio", config, build_request, parse_response, client, **kwargs)
