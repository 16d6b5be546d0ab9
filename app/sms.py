"""Facts of an SMS text: its encoding, its length in that encoding, its segments, and the
autofill lines phones look for, and how a reply is read as a keyword (STOP, 退订). A leaf:
pure functions of their inputs.

A message in the GSM 03.38 alphabet is sent in 7-bit septets (160 a segment alone, 153
each when split; the extension characters ``^{}\\[~]|€`` take two); anything else in
UCS-2 (70 UTF-16 units alone, 67 when split).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Literal

__all__ = [
    "Encoding", "autofilled", "encoding", "keyword", "retriever_bytes", "segments", "units",
]  # fmt: skip

Encoding = Literal["GSM-7", "UCS-2"]

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
#: (units alone, units per segment when split) by encoding.
_LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2."""
    gsm = all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)
    return "GSM-7" if gsm else "UCS-2"


def units(text: str) -> int:
    """The length in its encoding: septets (GSM-7), or UTF-16 code units (UCS-2)."""
    if encoding(text) == "GSM-7":
        return len(text) + sum(c in _GSM_EXTENDED for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """The SMS parts the text is sent in."""
    alone, split = _LIMITS[encoding(text)]
    length = units(text)
    return 1 if length <= alone else math.ceil(length / split)


def retriever_bytes(text: str) -> int:
    """Bytes on the air as Android's SMS Retriever counts them (it takes at most 140)."""
    length = units(text)
    return math.ceil(length * 7 / 8) if encoding(text) == "GSM-7" else length * 2


def autofilled(text: str, code: str, webotp_domain: str | None, app_hash: str | None) -> str:
    """``text`` with the lines phones read the code from, after it and in every locale:
    the Android SMS Retriever app hash, then the origin-bound line of WebOTP
    (``@example.com #123456``), which must be the message's last line."""
    lines = [line for line in (app_hash, webotp_domain and f"@{webotp_domain} #{code}") if line]
    return "\n\n".join([text.rstrip(), "\n".join(lines)]) if lines else text


def _is_edge(character: str) -> bool:
    """White space, punctuation, symbols and invisible characters around a keyword."""
    return character.isspace() or unicodedata.category(character)[0] in "PSZC"


def keyword(text: str) -> str:
    """``text`` as replies are compared with keywords: NFKC-normalised (full-width
    ``ＳＴＯＰ`` is ``STOP``), case-folded, without the white space and punctuation around
    it (``" Stop! "`` and ``"退订。"`` are ``stop`` and ``退订``), inner white space one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and _is_edge(folded[start]):
        start += 1
    while end > start and _is_edge(folded[end - 1]):
        end -= 1
    return " ".join(folded[start:end].split())
