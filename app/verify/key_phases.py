"""The phases of an Idempotency-Key's entry (see :mod:`app.verify.idempotency`) and the
answer to a retry whose first request recorded no outcome: pure data and pure functions."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from app.errors import OtpgateError

__all__ = [
    "REPLAYED_HEADER",
    "Claim",
    "Completed",
    "Entry",
    "Failed",
    "Sending",
    "fingerprint",
    "unsettled",
]

#: The response header that marks an answer as the replay of an earlier one.
REPLAYED_HEADER = "Idempotent-Replayed"


class Claim(msgspec.Struct, frozen=True):
    """This request holds the key: it may send, and must move the key on or release it."""

    redis_key: str
    fingerprint: str
    token: str


class Completed(msgspec.Struct, frozen=True):
    """The key's first request answered 201 with this view (less its number)."""

    response: dict[str, Any]


class Failed(msgspec.Struct, frozen=True):
    """The key's first request answered this error after calling a provider.

    Its detail is not kept: a provider's words may quote the phone number.
    """

    code: str
    extra: dict[str, Any]

    @classmethod
    def of(cls, error: OtpgateError) -> Failed:
        return cls(error.code, error.extra)

    def error(self) -> OtpgateError:
        """The error again, marked as a replay."""
        return OtpgateError(
            self.code,
            "the first request with this Idempotency-Key failed so (replayed); this key "
            "sends nothing more",
            headers={REPLAYED_HEADER: "true"},
            **self.extra,
        )


class Sending(msgspec.Struct, frozen=True):
    """The key's first request called a provider for message ``message`` of verification
    ``verification_id`` at ``started_at`` (unix seconds) and has not answered (yet)."""

    verification_id: str
    message: int
    started_at: float
    #: the 201 it is to answer, less its number and its message
    view: dict[str, Any]


class Entry(msgspec.Struct, omit_defaults=True):
    fingerprint: str
    token: str = ""
    # A done entry is a 201, as earlier versions wrote it; they read a "sending" or a
    # "failure" entry as in progress, so a rolling upgrade sends nothing twice either.
    done: bool = False
    response: dict[str, Any] | None = None
    sending: Sending | None = None
    failure: Failed | None = None


def fingerprint(body: msgspec.Struct) -> str:
    """A digest of a decoded request body (field order and spacing do not matter)."""
    return hashlib.sha256(msgspec.json.encode(body)).hexdigest()


def unsettled(
    sending: Sending, status: str | None, expires_ms: int | None, now: float, deadline: float
) -> OtpgateError:
    """The answer to a retry whose first request called a provider and recorded no outcome.

    Args:
        sending: the key's entry.
        status: the verification's status now (``None``: its record is gone).
        expires_ms: when its newest code expires (ms since the epoch).
        now: the time (unix seconds).
        deadline: seconds a send may take (``send_deadline``); a request older than that
            has most likely stopped.
    """
    verification_id = sending.verification_id
    if (
        status is None
        or status == "expired"
        or (status == "pending" and expires_ms is not None and expires_ms <= now * 1000)
    ):
        return OtpgateError(
            "verification_expired",
            "the first request with this Idempotency-Key recorded no outcome of its send for "
            f"verification {verification_id}, which has expired since; this key sends nothing "
            "more: start a new verification with a new key",
            verification_id=verification_id,
        )
    if status != "pending":
        return OtpgateError(
            "verification_not_pending",
            "the first request with this Idempotency-Key recorded no outcome of its send for "
            f"verification {verification_id}, which is {status} since; this key sends "
            "nothing more",
            verification_id=verification_id,
            verification_status=status,
        )
    # Within the send deadline the request may well be running: ask again soon. Later it
    # most likely died, and nothing changes before the verification expires.
    running = now - sending.started_at < deadline
    wait = 1.0 if running else (expires_ms or 0) / 1000 - now
    return OtpgateError(
        "idempotency_key_in_progress",
        "the first request with this Idempotency-Key called a provider for verification "
        f"{verification_id} and has recorded no outcome: it is still sending, or it stopped "
        "and whether its code arrived is unknown (the code can be checked). This key sends "
        "nothing more; once the verification ends, start over with a new key",
        retry_after=max(1.0, wait),
        verification_id=verification_id,
    )
