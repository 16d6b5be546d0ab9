"""The ``X-Twilio-Signature`` scheme Twilio signs its webhooks with, status callbacks
among them (https://www.twilio.com/docs/usage/security#validating-requests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Literal

from app.providers.signing import sha256_hex

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["twilio_body_hash", "twilio_signature"]


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
    return sha256_hex(body)
