"""Every Redis key name otpgate uses, built here and nowhere else.

All keys of one verification share the hash tag ``{v:<tag>}``. The tag is derived from
(app, number, purpose) and is also the first part of the verification id, so the
pending-verification index and the verification record land in one Redis Cluster slot
and the create-or-resend script can touch both atomically. No key contains a phone number
or a code: numbers appear only as keyed digests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["ID_PATTERN", "Keys", "random_id"]

PREFIX = "otp:"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_TAG_LEN = 5  # 25 bits: spreads verifications over all cluster slots
_ID_LEN = 26
ID_PATTERN = rf"^ver_[{_ALPHABET}]{{{_ID_LEN}}}$"
_ID_RE = re.compile(ID_PATTERN)


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(chars)


def random_id(prefix: str, length: int = _ID_LEN) -> str:
    """``prefix`` + ``length`` random base32 characters (5 bits each)."""
    return prefix + _base32(secrets.token_bytes(length), length)


class Keys:
    """Key names for one deployment; ``pepper`` keys the digests of numbers."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = pepper

    def lookup(self, app: str, phone_digest: str, purpose: str) -> str:
        """Digest naming the pending verification of (app, number, purpose)."""
        message = "\x00".join(("lookup", app, phone_digest, purpose)).encode()
        return hmac.new(self._pepper, message, hashlib.sha256).hexdigest()

    @staticmethod
    def tag_of_lookup(lookup: str) -> str:
        return _base32(bytes.fromhex(lookup), _TAG_LEN)

    @staticmethod
    def new_verification_id(lookup: str) -> str:
        tag = Keys.tag_of_lookup(lookup)
        return "ver_" + tag + random_id("", _ID_LEN - _TAG_LEN)

    @staticmethod
    def is_verification_id(value: str) -> bool:
        return _ID_RE.fullmatch(value) is not None  # `$` alone admits a trailing newline

    @staticmethod
    def verification(verification_id: str) -> str:
        tag = verification_id[4 : 4 + _TAG_LEN]
        return f"{PREFIX}{{v:{tag}}}:ver:{verification_id}"

    @staticmethod
    def pending(lookup: str) -> str:
        return f"{PREFIX}{{v:{Keys.tag_of_lookup(lookup)}}}:pending:{lookup}"

    @staticmethod
    def latest(lookup: str) -> str:
        return f"{PREFIX}{{v:{Keys.tag_of_lookup(lookup)}}}:latest:{lookup}"

    @staticmethod
    def provider_message(provider: str, provider_message_id: str) -> str:
        """Points from a provider's message id to ``"<verification id> <message number>"``.

        No hash tag: these keys spread over the cluster, one lookup each.
        """
        return f"{PREFIX}pmid:{provider}:{provider_message_id}"

    @staticmethod
    def idempotency(app: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{PREFIX}idem:{{{app}}}:{digest}"

    @staticmethod
    def api_key(digest: str) -> str:
        return f"{PREFIX}apikey:{digest}"

    API_KEY_INDEX = f"{PREFIX}apikeys"
    #: Everything under this prefix is the dev outbox, which shows message bodies.
    DEV_PREFIX = f"{PREFIX}dev:"
    OUTBOX = f"{DEV_PREFIX}outbox"

    @staticmethod
    def outbox_to(e164: str) -> str:
        return f"{Keys.OUTBOX}:{hashlib.sha256(e164.encode()).hexdigest()[:24]}"
