"""Sending through the Vonage (Nexmo) SMS API: ``POST {base_url}/sms/json``.

The form body carries ``api_key``, ``from``, ``to`` (E.164 digits without ``+``) and
``text``, authenticated either by ``api_secret`` or, for accounts with signed requests,
by ``timestamp`` and ``sig``. Vonage answers HTTP 200 even for refused messages: every
``messages[].status`` other than ``"0"`` is an error
(https://developer.vonage.com/en/api-errors/sms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, http_failure, unparseable
from app.providers.vonage.signing import signature

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.vonage.config import VonageConfig

__all__ = ["build_request", "digits", "parse_response"]

# The SMS API's ``messages[].status`` values (https://developer.vonage.com/en/api-errors/sms).
_STATUS_KINDS: dict[str, ErrorKind] = {
    "1": "retryable",  # throttled
    "2": "permanent",  # missing parameters
    "3": "permanent",  # invalid parameters (e.g. a malformed `to`)
    "4": "account",  # invalid credentials
    "5": "retryable",  # internal error
    "6": "permanent",  # invalid message: e.g. unrecognised number prefix
    "7": "permanent",  # number barred
    "8": "account",  # partner account barred (suspended)
    "9": "account",  # partner quota violation (insufficient credit)
    "10": "retryable",  # too many existing binds
    "11": "account",  # account not enabled for the HTTP API
    "12": "permanent",  # message too long
    "14": "account",  # invalid signature (our signature secret or method)
    # Our sender ID, or a demo account's allow-list: another provider can reach the number.
    "15": "account",  # invalid sender address
    "29": "account",  # non-whitelisted destination (demo account)
    "17": "permanent",  # message blocked
    "22": "permanent",  # invalid network code
    "23": "account",  # invalid callback URL
    "32": "account",  # signature and api_secret sent together
    "33": "permanent",  # number de-activated
}


def digits(number: str) -> str:
    """Vonage wants E.164 numbers without the ``+``; alphanumeric senders stay as they are."""
    bare = number.removeprefix("+")
    return bare if bare.isdigit() else number


def build_request(
    message: OutgoingMessage, config: VonageConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``/sms/json`` request; signed with ``now`` as ``timestamp`` when configured."""
    form = {
        "api_key": config.api_key,
        "from": digits(config.from_ or ""),
        "to": digits(message.to),
        "text": message.text,
        # `text` is GSM-7: anything beyond ASCII (Chinese, accents) goes as UCS-2.
        "type": "text" if message.text.isascii() else "unicode",
        # echoed in the delivery receipt, which matches it to our message
        "client-ref": message.message_id,
    }
    if config.signature_secret is not None:
        form["timestamp"] = str(int(now.timestamp()))
        form["sig"] = signature(form, config.signature_secret, config.signature_method)
    else:
        form["api_secret"] = config.api_secret or ""
    return httpx.Request(
        "POST",
        config.base_url.rstrip("/") + "/sms/json",
        data=form,
        headers={"Accept": "application/json"},
    )


class _Part(msgspec.Struct):
    status: str
    message_id: str | None = msgspec.field(default=None, name="message-id")
    error_text: str = msgspec.field(default="", name="error-text")


class _Answer(msgspec.Struct):
    messages: list[_Part]


def parse_response(response: httpx.Response) -> SendResult:
    """Accepted when every part has status ``"0"``; else the first failed part decides.

    A long text is split into several parts, each with its own ``message-id``; the
    first one stands for the message.
    """
    if not response.is_success:
        return http_failure(response)
    answer = decode_answer(response, _Answer)
    if answer is None:
        return unparseable(response)
    parts = answer.messages
    if not parts:
        return SendResult.failed("retryable", "unparseable", "no messages in the answer")
    for part in parts:
        if part.status != "0":
            kind = _STATUS_KINDS.get(part.status, "retryable")
            return SendResult.failed(kind, part.status, part.error_text)
    return SendResult.ok(parts[0].message_id)
