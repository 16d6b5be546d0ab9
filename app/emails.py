"""Email addresses: checked and normalised, masked for display, digested for keys.

A pragmatic subset of RFC 5321/5322, the addresses mail systems deliver to in practice:
an ASCII dot-atom local part (at most 64 characters) and a domain of at least two
LDH labels (a letter, digit or hyphen; no hyphen first or last; at most 63 each; 253
in all), 254 characters at most. Quoted local parts, IP-literal domains and
internationalised addresses are refused. (The email-validator library also checks
deliverability through DNS, which a send must not wait for, and accepts forms our SMTP
path does not.) The domain is lower-cased; the local part is kept as given for the
send, and lower-cased for the digest, so ``Jo@x.com`` and ``jo@x.com`` share one
throttle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from app.errors import OtpgateError

__all__ = ["email_digest", "is_email", "mask_email", "normalize_email"]

_MAX_LENGTH = 254
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(\.{_ATOM})*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def is_email(raw: str) -> bool:
    """Whether ``raw`` means to be an email address (it has an ``@``)."""
    return "@" in raw


def normalize_email(raw: str) -> str:
    """``raw`` as the address a code is sent to, domain lower-cased.

    Raises:
        OtpgateError: ``invalid_email``, saying what is wrong.
    """
    if len(raw) > _MAX_LENGTH:
        raise OtpgateError(
            "invalid_email", f"an email address has at most {_MAX_LENGTH} characters"
        )
    local, at, domain = raw.rpartition("@")
    if not at or not local or not domain:
        raise OtpgateError("invalid_email", "an email address is local-part@domain")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise OtpgateError("invalid_email", "the part before @ is not a plain mailbox name")
    domain = domain.lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise OtpgateError("invalid_email", "the part after @ is not a domain name")
    if labels[-1].isdigit():
        raise OtpgateError("invalid_email", "the part after @ is not a domain name")
    return f"{local}@{domain}"


def mask_email(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``: the first character and the domain."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def email_digest(pepper: bytes, address: str) -> str:
    """A keyed digest of an address, as :func:`app.phone.phone_digest` is of a number (its
    own label, so no address and number share one): 128 bits of HMAC-SHA256, base64url."""
    message = b"email\x00" + address.lower().encode()
    mac = hmac.new(pepper, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
