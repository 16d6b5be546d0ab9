"""The keys TOTP secrets are sealed with: one current, older ones still opened.

A sealed secret is ``<key id>.<sealed value>`` (:class:`app.sealing.Sealer`, AES-256-GCM
under a key HKDF derives from the configured secret with its own label). The id names
the key, so a rotation is: set the new ``factors.key``, move the old one to
``factors.old_keys``; secrets sealed under an old key still open, and each is sealed
again under the new key the next time its factor checks a code.
"""

from __future__ import annotations

import hashlib

from app.sealing import Sealer, SealError, derive_key

__all__ = ["FACTOR_SEALING", "Keyring", "SealError"]

FACTOR_SEALING = b"otpgate totp secret v1"


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(derive_key(secret, b"otpgate totp key id v1")).hexdigest()[:8]


class Keyring:
    """Seals under the first of ``secrets``, opens under any of them."""

    def __init__(self, secrets: list[bytes]) -> None:
        if not secrets:
            raise ValueError("a keyring needs a key")
        self._sealers = {_key_id(s): Sealer(s, FACTOR_SEALING) for s in reversed(secrets)}
        self.current = _key_id(secrets[0])

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        return f"{self.current}.{self._sealers[self.current].seal(plaintext, associated)}"

    def open(self, sealed: str, associated: bytes) -> bytes:
        """Raises: SealError: not sealed here, changed, moved, or under a key not kept."""
        key_id, _, value = sealed.partition(".")
        sealer = self._sealers.get(key_id)
        if sealer is None:
            raise SealError("sealed under a key this keyring does not hold")
        return sealer.open(value, associated)

    def is_current(self, sealed: str) -> bool:
        return sealed.partition(".")[0] == self.current
