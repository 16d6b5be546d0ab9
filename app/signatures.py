"""Otpgate's webhook signature: ``Otpgate-Signature: t=<unix>,v1=<hex HMAC-SHA256>``.

HMAC-SHA256, keyed by a shared secret, of ``"<t>.<raw body>"`` (the scheme Stripe and
Svix use). otpgate signs its events to apps and its requests to an in-house gateway with
it, and checks the gateway's status reports with it. A receiver verifies like this::

    from app.signatures import verify_signature
    ok = verify_signature(secret, request.headers["Otpgate-Signature"], raw_body, now)
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify_signature"]

SIGNATURE_HEADER = "Otpgate-Signature"
_SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256, keyed by ``secret``, of ``"<timestamp>.<body>"``."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Otpgate-Signature`` value: ``t=<timestamp>,v1=<signature>``."""
    return f"t={timestamp},{_SCHEME}={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, now: datetime, tolerance: int = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at most ``tolerance`` s from ``now``.

    A stale (or too far future) timestamp is refused, so a captured request cannot be
    replayed later; any of several ``v1`` values may match, for secret rotation.
    """
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == _SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        return False
    timestamp = int(timestamps[0])
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode()
    # Bytes: compare_digest refuses non-ASCII str. Every candidate is compared, so the
    # time taken tells nothing about which one matched.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in signatures]
    return any(matches)
