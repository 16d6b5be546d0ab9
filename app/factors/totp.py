"""TOTP codes (RFC 6238 over RFC 4226): a new secret, its ``otpauth://`` URI, and which
time step a code belongs to. Pure functions over pyotp, which makes the codes; the clock
is an argument.

pyotp's own ``verify`` answers only yes or no; a check needs the time step that matched,
to refuse the same code (or an older one) a second time, so the steps are compared here,
each in constant time.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets

import pyotp
import segno

__all__ = ["SECRET_BYTES", "matched_step", "new_secret", "provisioning_uri", "qr_png"]

#: RFC 4226 asks for at least 128 bits and recommends 160.
SECRET_BYTES = 20


def new_secret() -> str:
    """A fresh secret: 160 random bits as unpadded base32, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _totp(secret: str, digits: int, period: int) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, interval=period)


def provisioning_uri(secret: str, name: str, issuer: str, digits: int, period: int) -> str:
    """The ``otpauth://totp/<issuer>:<name>?secret=…`` URI an authenticator app scans."""
    return _totp(secret, digits, period).provisioning_uri(name=name, issuer_name=issuer)


def qr_png(uri: str) -> bytes:
    """The URI as a QR code PNG (error correction M, 4 pixels a module)."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(out, kind="png", scale=4)
    return out.getvalue()


def matched_step(secret: str, code: str, now: float, digits: int, period: int, drift: int) -> int:
    """The time step ``code`` belongs to, within ``drift`` steps of ``now``; 0 for none.

    Every candidate step is compared, so the time taken says nothing of which matched.
    """
    totp = _totp(secret, digits, period)
    current = int(now // period)
    found = 0
    for step in range(current - drift, current + drift + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and not found:
            found = step
    return found
