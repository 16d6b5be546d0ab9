"""Sealed values: AES-256-GCM under an HKDF-derived key, bound to their associated data."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.sealing import NONCE_BYTES, Sealer, SealError, derive_key

PEPPER = b"p" * 32
INFO = b"otpgate test-number code v1"
HERE = b"shop\x00digest-of-a-number"


def _raw(sealed: str) -> bytes:
    return base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_sealed_value_opens_with_the_same_associated_data() -> None:
    sealer = Sealer(PEPPER, INFO)
    sealed = sealer.seal(b"246810", HERE)
    assert b"246810" not in _raw(sealed) and "246810" not in sealed
    assert sealer.open(sealed, HERE) == b"246810"
    assert Sealer(PEPPER, INFO).open(sealed, HERE) == b"246810"  # another instance, same key


def test_each_seal_takes_a_fresh_nonce() -> None:
    sealer = Sealer(PEPPER, INFO)
    first, second = sealer.seal(b"246810", HERE), sealer.seal(b"246810", HERE)
    assert first != second
    assert _raw(first)[:NONCE_BYTES] != _raw(second)[:NONCE_BYTES]
    assert len(_raw(first)) == NONCE_BYTES + 6 + 16  # nonce, ciphertext, tag


@pytest.mark.parametrize(
    "elsewhere",
    [b"shop\x00digest-of-another-number", b"other\x00digest-of-a-number", b""],
)
def test_a_value_moved_to_other_associated_data_does_not_open(elsewhere: bytes) -> None:
    sealer = Sealer(PEPPER, INFO)
    with pytest.raises(SealError):
        sealer.open(sealer.seal(b"246810", HERE), elsewhere)


def test_a_tampered_or_cut_value_does_not_open() -> None:
    sealer = Sealer(PEPPER, INFO)
    raw = bytearray(_raw(sealer.seal(b"246810", HERE)))
    for index in (0, NONCE_BYTES, len(raw) - 1):  # nonce, ciphertext, tag
        changed = bytearray(raw)
        changed[index] ^= 0x01
        with pytest.raises(SealError):
            sealer.open(_text(bytes(changed)), HERE)
    for cut in (_text(bytes(raw[:-1])), _text(bytes(raw[: NONCE_BYTES + 4])), "", "!!!!", "é"):
        with pytest.raises(SealError):
            sealer.open(cut, HERE)


def test_another_pepper_or_label_gives_another_key() -> None:
    sealed = Sealer(PEPPER, INFO).seal(b"246810", HERE)
    for other in (Sealer(b"q" * 32, INFO), Sealer(PEPPER, b"otpgate another use")):
        with pytest.raises(SealError):
            other.open(sealed, HERE)


def test_the_key_is_hkdf_sha256_of_the_pepper_never_the_pepper_itself() -> None:
    key = derive_key(PEPPER, INFO)
    assert len(key) == 32 and key != PEPPER[:32]
    # RFC 5869's test case 3: SHA-256, no salt, no info
    ikm = bytes.fromhex("0b" * 22)
    assert derive_key(ikm, b"")[:16].hex() == "8da4e775a563c18f715f802a063c5a31"
    raw = _raw(Sealer(PEPPER, INFO).seal(b"246810", HERE))
    plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], HERE)
    assert plain == b"246810"  # plain AES-256-GCM, readable by any implementation
