"""Email addresses: what is accepted, how it is normalised, masked and digested."""

from __future__ import annotations

import pytest

from app.emails import email_digest, is_email, mask_email, normalize_email
from app.errors import OtpgateError
from app.phone import phone_digest

PEPPER = b"pepper"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),  # the domain only is lower-cased
        ("jane+otp@mail.example.co.uk", "jane+otp@mail.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x@a-b.io", "x@a-b.io"),
    ],
)
def test_a_plain_address_is_kept_with_its_domain_lower_cased(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "jane", "@example.com", "jane@", "jane@example", "jane@.example.com",
        "jane@example..com", "jane@-example.com", "jane@example-.com", "jane..doe@example.com",
        ".jane@example.com", "jane.@example.com", '"jane doe"@example.com', "jane@[127.0.0.1]",
        "jane@127.0.0.1", "jané@example.com", "jane@exämple.com", "jane doe@example.com",
        "a" * 65 + "@example.com", "jane@" + "a" * 64 + ".com", "jane@@example.com",
        "j@" + ".".join(["a" * 60] * 5) + ".com",
    ],
)  # fmt: skip
def test_anything_else_is_an_invalid_email(raw: str) -> None:
    with pytest.raises(OtpgateError) as refused:
        normalize_email(raw)
    assert refused.value.code == "invalid_email"


def test_an_address_is_told_from_a_number_by_its_at_sign() -> None:
    assert is_email("jane@example.com") and not is_email("+8613800138000")


def test_the_mask_keeps_the_first_character_and_the_domain() -> None:
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert mask_email("J@example.com") == "J***@example.com"


def test_the_digest_is_keyed_case_blind_and_apart_from_numbers() -> None:
    digest = email_digest(PEPPER, "Jane@example.com")
    assert digest == email_digest(PEPPER, "jane@example.com")
    assert digest != email_digest(b"other pepper", "jane@example.com")
    assert digest != email_digest(PEPPER, "john@example.com")
    assert len(digest) == 22 and "jane" not in digest
    assert email_digest(PEPPER, "+8613800138000") != phone_digest(PEPPER, "+8613800138000")
