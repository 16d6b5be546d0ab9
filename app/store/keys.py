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

from app.ids import ID_LENGTH, base32, is_verification_id, random_id

__all__ = ["PREFIX", "Keys"]

PREFIX = "otp:"
_TAG_LEN = 5  # 25 bits: spreads verifications over all cluster slots


def _digest(*parts: str) -> str:
    """A short, fixed-length name for ``parts`` (a prefix or a subject never shows)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


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
        return base32(bytes.fromhex(lookup), _TAG_LEN)

    @staticmethod
    def new_verification_id(lookup: str) -> str:
        tag = Keys.tag_of_lookup(lookup)
        return "ver_" + tag + random_id("", ID_LENGTH - _TAG_LEN)

    is_verification_id = staticmethod(is_verification_id)

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

    # -- abuse ---------------------------------------------------------------------------

    #: Prefix of the `limits` library's counters (it builds the rest of each name).
    LIMITS_PREFIX = f"{PREFIX}limits"
    #: Every block in force, by id (for listing and lifting).
    BLOCKS = f"{PREFIX}blocks"

    @staticmethod
    def block(app: str, kind: str, subject: str) -> str:
        """The block of one prefix or country of ``app``, expiring with the block."""
        return f"{PREFIX}block:{_digest(app, kind, subject)}"

    @staticmethod
    def prefix_velocity(app: str, prefix: str) -> str:
        """The distinct numbers recently sent to under ``prefix`` (a sorted set)."""
        return f"{PREFIX}pfx:{_digest(app, prefix)}"

    # -- providers -------------------------------------------------------------------------

    @staticmethod
    def circuit(provider: str) -> str:
        """A provider's circuit breaker state (a hash)."""
        return f"{PREFIX}circuit:{{{provider}}}"

    @staticmethod
    def circuit_latency(provider: str) -> str:
        """A provider's recent latencies (a capped list), in the circuit's slot."""
        return f"{PREFIX}circuit:{{{provider}}}:latency"

    # -- delivery ------------------------------------------------------------------------

    #: The events stream, its retry set and its dead letters: one slot, for the scripts.
    EVENTS = f"{PREFIX}{{events}}:stream"
    EVENTS_RETRY = f"{PREFIX}{{events}}:retry"
    EVENTS_DEAD = f"{PREFIX}{{events}}:dead"

    @staticmethod
    def stats(app: str, kind: str, bucket: int) -> str:
        """One time bucket of ``app``'s counters (``kind`` ``m``: minutes, ``h``: hours)."""
        return f"{PREFIX}stats:{{{app}}}:{kind}:{bucket}"

    # -- dev -----------------------------------------------------------------------------

    @staticmethod
    def outbox_to(e164: str) -> str:
        return f"{Keys.OUTBOX}:{hashlib.sha256(e164.encode()).hexdigest()[:24]}"
