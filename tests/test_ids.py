"""Ids and slot tags: Crockford base32 of random or keyed bits."""

from __future__ import annotations

import collections

import pytest

from app.ids import ALPHABET, ID_LENGTH, base32, is_verification_id, random_id


def test_base32_reads_the_leading_bits_five_at_a_time() -> None:
    # RFC 4648's test vector "ABCDEFGH" is the values 0..7: Crockford's first 8 digits
    assert base32(bytes.fromhex("00443214c7"), 8) == "01234567"
    assert base32(b"\xff" * 17, ID_LENGTH) == "z" * ID_LENGTH
    assert base32(bytes.fromhex("00443214c7ff"), 3) == "012"


def test_base32_is_rfc_4648_base32_in_crockford_s_alphabet_for_every_length() -> None:
    """What ids were made with before (``base64.b32encode``, translated, cut to length) is
    what they are made with now: slot tags and stored ids depend on it."""
    import base64
    import secrets

    rfc4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)
    for length in range(1, 33):
        for _ in range(200):
            data = secrets.token_bytes((length * 5 + 7) // 8 + secrets.randbelow(3))
            expected = base64.b32encode(data).decode().translate(rfc4648)[:length]
            assert base32(data, length) == expected, (length, data.hex())


def test_base32_refuses_too_few_bits() -> None:
    with pytest.raises(ValueError, match="need 4 bytes"):
        base32(b"abc", 5)


def test_random_ids_use_the_whole_alphabet_evenly() -> None:
    seen = collections.Counter("".join(random_id("", ID_LENGTH) for _ in range(4000)))
    assert set(seen) == set(ALPHABET)
    expected = 4000 * ID_LENGTH / 32
    assert all(abs(count - expected) < 0.15 * expected for count in seen.values())


def test_verification_ids_match_their_pattern_only_exactly() -> None:
    assert is_verification_id(random_id("ver_"))
    assert not is_verification_id(random_id("ver_") + "\n")
    assert not is_verification_id(random_id("msg_"))


def test_a_new_verification_id_is_128_bits_and_reads_back_from_them() -> None:
    from app.ids import id_from_bits, id_to_bits
    from app.store.keys import SUBJECT_LENGTH, Keys

    subject = "a" * SUBJECT_LENGTH
    for _ in range(200):
        verification_id = Keys.new_verification_id(subject)
        assert is_verification_id(verification_id)
        assert verification_id.startswith("ver_" + subject)
        bits = id_to_bits(verification_id)
        assert bits is not None and bits < 1 << 128
        assert id_from_bits(bits) == verification_id


def test_the_128_bit_form_covers_the_whole_range_and_refuses_other_ids() -> None:
    from app.ids import id_from_bits, id_to_bits

    assert id_from_bits(0) == "ver_" + "0" * ID_LENGTH
    assert id_from_bits((1 << 128) - 1) == "ver_" + "z" * (ID_LENGTH - 1) + "7"
    assert id_to_bits(id_from_bits(0x0123456789ABCDEF0123456789ABCDEF)) == (
        0x0123456789ABCDEF0123456789ABCDEF
    )
    assert id_to_bits("ver_" + "0" * (ID_LENGTH - 1) + "8") is None  # an id of before
    assert id_to_bits("msg_" + "0" * ID_LENGTH) is None
    with pytest.raises(ValueError, match="128 bits"):
        id_from_bits(1 << 128)
