"""Sealed secrets: what otpgate must read back, but Redis must not hold in clear.

A sealed value is AES-256-GCM under a key derived from the pepper by HKDF-SHA256 with a
label of its own (``info``), so the pepper itself never keys a cipher and each use gets
an unrelated key. Every value gets a random 96-bit nonce; the associated data binds it
to where it belongs (an app and a number digest, say): moved anywhere else, it does not
open. The text form is unpadded base64url of ``nonce || ciphertext || tag``.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["NONCE_BYTES", "SealError", "Sealer", "derive_key"]

#: AES-GCM's standard nonce: 96 random bits, fresh per sealed value.
NONCE_BYTES = 12
_TAG_BYTES = 16


class SealError(ValueError):
    """A sealed value that does not open: tampered, truncated, moved, or another key's."""


def derive_key(pepper: bytes, info: bytes) -> bytes:
    """A 256-bit key for one use of the pepper, named by ``info`` (HKDF-SHA256, no salt:
    the pepper is a secret of its own, not a password)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(pepper)


class Sealer:
    """Seals and opens values under one key.

    Args:
        pepper: the deployment's secret; only a key derived from it is kept.
        info: the label of this use (e.g. ``b"otpgate test-number code v1"``).
    """

    def __init__(self, pepper: bytes, info: bytes) -> None:
        self._aead = AESGCM(derive_key(pepper, info))

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        """``plaintext`` sealed, bound to ``associated`` (which it does not contain)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext, associated)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, sealed: str, associated: bytes) -> bytes:
        """What :meth:`seal` sealed with the same ``associated``.

        Raises:
            SealError: the value was changed, cut, sealed for other associated data or
                under another key.
        """
        try:
            padded = sealed + "=" * (-len(sealed) % 4)
            raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise SealError("not a sealed value") from None
        if len(raw) < NONCE_BYTES + _TAG_BYTES:
            raise SealError("not a sealed value")
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except InvalidTag:
            raise SealError("the sealed value does not open here") from None
