"""How a text travels as SMS: GSM-7 or UCS-2, and in how many parts (3GPP TS 23.038 for
the alphabet, TS 23.040 for concatenation).

A single message holds 160 GSM-7 septets or 70 UCS-2 units; a longer one is split into
parts of 153 septets or 67 units (the rest carries the concatenation header). A character
of the GSM extension table (``€``, ``[``, …) costs two septets, a character outside the
Basic Multilingual Plane (an emoji) two UCS-2 units, and neither is split across parts.
No library here: the phone-number and SMS packages otpgate uses count no segments.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["encoding_of", "segments"]

Encoding = Literal["GSM-7", "UCS-2"]

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
#: (single message, each part of a longer one) per encoding, in septets or units.
_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM alphabet (basic or extension), else UCS-2."""
    return "GSM-7" if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text) else "UCS-2"


def _cost(character: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if character in _GSM_EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def segments(text: str) -> int:
    """The parts ``text`` is sent in (a part never splits a character)."""
    encoding = encoding_of(text)
    single, part = _LIMITS[encoding]
    costs = [_cost(character, encoding) for character in text]
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count
