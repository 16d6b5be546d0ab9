"""Ids otpgate hands out: a prefix and random Crockford base32 (``ver_…``, ``msg_…``)."""

from __future__ import annotations

import re
import secrets

__all__ = [
    "ALPHABET",
    "ID_LENGTH",
    "ID_PATTERN",
    "LAST_VALUES",
    "base32",
    "id_from_bits",
    "id_to_bits",
    "is_verification_id",
    "random_id",
]

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
ID_LENGTH = 26
#: A verification id: ``ver_`` and 26 characters (the first five name its Redis slot).
ID_PATTERN = rf"^ver_[{ALPHABET}]{{{ID_LENGTH}}}$"
_ID_RE = re.compile(ID_PATTERN)


#: Every pair of characters, by the 10 bits they encode. ``base64.b32encode`` is Python
#: code in CPython 3.11 and took 5-6.5 µs an id here; ten bits a lookup take about 3.
_PAIRS = [first + second for first in ALPHABET for second in ALPHABET]


def base32(data: bytes, length: int) -> str:
    """``length`` base32 characters from the leading bits of ``data`` (5 bits each)."""
    needed = (length * 5 + 7) // 8
    if len(data) < needed:
        raise ValueError(f"{length} characters need {needed} bytes, not {len(data)}")
    bits = int.from_bytes(data[:needed], "big") >> (needed * 8 - length * 5)
    pairs, odd = divmod(length, 2)
    last = ALPHABET[bits & 31] if odd else ""
    bits >>= 5 * odd
    return "".join([_PAIRS[bits >> 10 * (pairs - 1 - i) & 1023] for i in range(pairs)]) + last


def random_id(prefix: str, length: int = ID_LENGTH) -> str:
    """``prefix`` + ``length`` random base32 characters."""
    return prefix + base32(secrets.token_bytes((length * 5 + 7) // 8), length)


def is_verification_id(value: str) -> bool:
    return _ID_RE.fullmatch(value) is not None  # `$` alone admits a trailing newline


#: The last character of a verification id carries 3 bits, not 5 (one of ``ALPHABET[:8]``),
#: so that the id is 128 bits (25 x 5 + 3): the Twilio-compatible API shows it as
#: ``VE`` and 32 hex digits, and reads it back (:mod:`app.twilio_verify.sids`).
LAST_VALUES = 8
_VALUE = {character: value for value, character in enumerate(ALPHABET)}


def id_to_bits(verification_id: str) -> int | None:
    """A verification id as a 128-bit number (None: not an id, or one made before ids
    fitted in 128 bits, whose last character is past ``ALPHABET[7]``)."""
    if not is_verification_id(verification_id):
        return None
    *head, last = (_VALUE[character] for character in verification_id[4:])
    if last >= LAST_VALUES:
        return None
    bits = 0
    for value in head:
        bits = bits << 5 | value
    return bits << 3 | last


def id_from_bits(bits: int) -> str:
    """The verification id of a 128-bit number (the inverse of :func:`id_to_bits`)."""
    if not 0 <= bits < 1 << 128:
        raise ValueError("a verification id is 128 bits")
    last, bits = bits & 7, bits >> 3
    head = [ALPHABET[bits >> 5 * (ID_LENGTH - 2 - i) & 31] for i in range(ID_LENGTH - 1)]
    return "ver_" + "".join(head) + ALPHABET[last]
