"""Ids otpgate hands out: a prefix and random Crockford base32 (``ver_…``, ``msg_…``)."""

from __future__ import annotations

import base64
import re
import secrets

__all__ = ["ALPHABET", "ID_LENGTH", "ID_PATTERN", "base32", "is_verification_id", "random_id"]

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
ID_LENGTH = 26
#: A verification id: ``ver_`` and 26 characters (the first five name its Redis slot).
ID_PATTERN = rf"^ver_[{ALPHABET}]{{{ID_LENGTH}}}$"
_ID_RE = re.compile(ID_PATTERN)


_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)


def base32(data: bytes, length: int) -> str:
    """``length`` base32 characters from the leading bits of ``data`` (5 bits each)."""
    needed = (length * 5 + 7) // 8
    if len(data) < needed:
        raise ValueError(f"{length} characters need {needed} bytes, not {len(data)}")
    return base64.b32encode(data[:needed]).decode().translate(_FROM_RFC4648)[:length]


def random_id(prefix: str, length: int = ID_LENGTH) -> str:
    """``prefix`` + ``length`` random base32 characters."""
    return prefix + base32(secrets.token_bytes((length * 5 + 7) // 8), length)


def is_verification_id(value: str) -> bool:
    return _ID_RE.fullmatch(value) is not None  # `$` alone admits a trailing newline
