"""Twilio's SIDs for otpgate's things: two letters and 32 hex digits.

- ``VE``: a verification, its id's 128 bits (:func:`app.ids.id_to_bits`): reversible,
  so ``/v1`` and ``/twilio`` name one verification and nothing is stored for it;
- ``VA``: a service (an otpgate app), a digest of the app's name, found again among the
  known apps;
- ``VL``: an attempt (message ``n`` of a verification), ``GN``: a safe-list entry,
  ``AC``: the "account" of an app: digests, found again by computing them.
"""

from __future__ import annotations

import hashlib
import re

from app.ids import id_from_bits, id_to_bits

__all__ = [
    "account_sid",
    "attempt_sid",
    "safelist_sid",
    "service_sid",
    "verification_id",
    "verification_sid",
]

_SID = re.compile(r"^(?P<prefix>[A-Z]{2})(?P<hex>[0-9a-fA-F]{32})$")


def _digest(prefix: str, *parts: str) -> str:
    text = "\x00".join(("otpgate", prefix, *parts))
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:32]


def _hex(sid: str, prefix: str) -> str | None:
    match = _SID.fullmatch(sid)
    return match["hex"].lower() if match and match["prefix"] == prefix else None


def verification_sid(verification_id: str) -> str | None:
    """``VE…`` for a verification id (None: an id made before ids fitted in 128 bits)."""
    bits = id_to_bits(verification_id)
    return None if bits is None else f"VE{bits:032x}"


def verification_id(sid: str) -> str | None:
    """The verification id of ``VE…`` (or of a ``ver_…`` id itself); None: neither."""
    if sid.startswith("ver_"):
        return sid if id_to_bits(sid) is not None else None
    digits = _hex(sid, "VE")
    return None if digits is None else id_from_bits(int(digits, 16))


def service_sid(app: str) -> str:
    """``VA…`` for app ``app``."""
    return _digest("VA", app)


def account_sid(app: str) -> str:
    """``AC…``: what a Twilio answer calls the account, here the app's."""
    return _digest("AC", app)


def attempt_sid(verification_id: str, number: int) -> str:
    """``VL…`` for message ``number`` of a verification."""
    return _digest("VL", verification_id, str(number))


def safelist_sid(app: str, entry_id: str) -> str:
    """``GN…`` for one of ``app``'s safe numbers (by its entry id)."""
    return _digest("GN", app, entry_id)
