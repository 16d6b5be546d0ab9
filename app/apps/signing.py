"""Signed requests: for backends that want more than a bearer token.

A signed request sends no key at all. Its ``Authorization`` header names the key by id
and carries an HMAC-SHA256, under the key's signing secret, of::

    OTPGATE-HMAC-SHA256
    <timestamp: Unix seconds>
    <nonce: 16-64 of A-Z a-z 0-9 _ ->
    <METHOD>
    <path, with ?query exactly as sent>
    <hex SHA-256 of the body (of b"" without one)>

(lines joined by ``\\n``), as
``Authorization: OTPGATE-HMAC-SHA256 key=<id>,ts=<timestamp>,nonce=<nonce>,sig=<hex>``.
The timestamp must be within :data:`WINDOW` seconds of the server's clock and a nonce is
accepted once per key (Redis remembers it for twice the window), so a captured request
cannot be sent again. The signing secret is shown once, with the key; otpgate does not
store it: it is HMAC-SHA256 of the key's SHA-256 under the pepper, so Redis alone does
not let anyone sign.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import msgspec

__all__ = ["SCHEME", "WINDOW", "Signed", "canonical", "parse", "sign", "signing_secret"]

SCHEME = "OTPGATE-HMAC-SHA256"
#: Seconds a signed request's timestamp may be off the server's clock, either way.
WINDOW = 300
_FIELDS = re.compile(
    r"^key=(?P<key>[0-9a-f]{16}),ts=(?P<ts>[0-9]{1,12}),"
    r"nonce=(?P<nonce>[A-Za-z0-9_-]{16,64}),sig=(?P<sig>[0-9a-f]{64})$"
)


class Signed(msgspec.Struct, frozen=True):
    """The parts of a signed request's ``Authorization`` header."""

    key_id: str
    timestamp: int
    nonce: str
    signature: str


def signing_secret(pepper: bytes, digest: str) -> str:
    """The signing secret of the key whose SHA-256 is ``digest`` (hex)."""
    return hmac.new(pepper, b"otpgate-signing:" + digest.encode(), hashlib.sha256).hexdigest()


def canonical(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The string a signature covers (see the module's documentation)."""
    lines = [
        SCHEME,
        str(timestamp),
        nonce,
        method.upper(),
        target,
        hashlib.sha256(body).hexdigest(),
    ]
    return "\n".join(lines).encode()


def sign(secret: str, method: str, target: str, timestamp: int, nonce: str, body: bytes) -> str:
    message = canonical(method, target, timestamp, nonce, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def parse(credentials: str) -> Signed | None:
    """``key=…,ts=…,nonce=…,sig=…`` (what follows the scheme), or None if malformed."""
    match = _FIELDS.match(credentials.replace(" ", ""))
    if match is None:
        return None
    return Signed(match["key"], int(match["ts"]), match["nonce"], match["sig"])
