"""What key names are made of: the prefix, slot tags and keyed digests
(:mod:`app.store.keys` builds the names)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from app.ids import base32

__all__ = ["PREFIX", "SUBJECT_LENGTH", "TAG_LENGTH", "short_digest"]

PREFIX = "otp:"
#: Characters of a slot tag: 25 bits, which spread keys over all 16,384 cluster slots.
TAG_LENGTH = 5
#: Characters of a number's subject: its tag and 40 more bits.
SUBJECT_LENGTH = 13


def short_digest(pepper: bytes, *parts: str, size: int = 16) -> str:
    """A keyed digest of ``parts`` as unpadded base64url (``size`` bytes: 22 characters
    for 16): what stands for a number, an IP or a lookup in names and records."""
    mac = hmac.new(pepper, "\x00".join(parts).encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _tag(pepper: bytes, *parts: str, length: int = TAG_LENGTH) -> str:
    mac = hmac.new(pepper, "\x00".join(("tag", *parts)).encode(), hashlib.sha256).digest()
    return base32(mac, length)


def _digest(*parts: str) -> str:
    """An unkeyed short name for ``parts`` (for subjects that are not personal data)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
