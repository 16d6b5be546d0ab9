"""What the verification store answers: one struct per outcome of its scripts."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from app.store.throttles import Refusal, Room

__all__ = [
    "Approval",
    "Approved",
    "Canceled",
    "Conflict",
    "Ended",
    "MessageRecord",
    "NewRecord",
    "Pending",
    "Precheck",
    "Refused",
    "ReportApplied",
    "ReportUpdate",
    "Reservation",
    "Sent",
    "Settled",
    "Unavailable",
]


class Pending(msgspec.Struct, frozen=True):
    """The newest verification of (app, number, purpose), as its index holds it."""

    verification_id: str
    last_send_ms: int
    sends: int
    max_sends: int
    cooldown_ms: int
    pending_until_ms: int  # 0 once it has ended


class Precheck(msgspec.Struct, frozen=True):
    """What a send to a number would meet, read before anything was hashed or counted."""

    now_ms: int
    pending: Pending | None  # only while that verification is pending
    refusal: Refusal | None  # the number's send throttle is spent
    opted_out: bool = False  # the number opted out of the app (STOP)


class NewRecord(msgspec.Struct, frozen=True):
    """What a new verification's record starts with (the number only masked)."""

    app: str
    purpose: str
    masked_to: str
    region: str
    channel: str
    locale: str
    lookup: str

    def fields(self) -> list[str]:
        return [
            "a", self.app, "u", self.purpose, "t", self.masked_to, "C", self.region,
            "h", self.channel, "l", self.locale, "k", self.lookup,
        ]  # fmt: skip


class Sent(msgspec.Struct, frozen=True):
    """The script created the verification (``created``) or resent a code for it."""

    created: bool
    verification_id: str
    now_ms: int
    expires_ms: int
    last_send_ms: int
    sends: int
    attempts: int
    max_attempts: int
    max_sends: int
    cooldown_ms: int
    limits: list[Room] = msgspec.field(default_factory=list)  # the number's, after this send
    #: the verification's own app name and Android app hash ("": the app's)
    app_name: str = ""
    app_hash: str = ""


class Conflict(msgspec.Struct, frozen=True):
    """Another request changed the index meanwhile: read it again."""

    current_id: str


class Refused(msgspec.Struct, frozen=True):
    """The resend was refused: its cooldown runs, or every send is used."""

    reason: Literal["cooldown", "max_sends"]
    verification_id: str
    sends: int
    retry_ms: int


class Reservation(msgspec.Struct, frozen=True):
    """An attempt is counted: the codes that still work, numbered by their send."""

    attempts_used: int
    max_attempts: int
    lookup: str
    params: str  # the argon2 cost the hashes were made with
    country: str
    codes: list[tuple[int, str, str, str]]  # (send number, hash, its message's provider, channel)


class Unavailable(msgspec.Struct, frozen=True):
    """No attempt was counted: ``status`` says why.

    ``not_found``, ``exhausted`` (every attempt used), ``expired`` (``just_expired`` when
    this call noticed it), or the verification's own status when it is not pending.
    """

    status: str
    just_expired: bool = False


class Approved(msgspec.Struct, frozen=True):
    provider: str  # of the message whose code matched ("" when unknown)


class Settled(msgspec.Struct, frozen=True):
    """A check's verdict did not approve: ``locked``, ``pending`` (attempts left),
    ``stale`` (a resend replaced the matched code meanwhile) or ``released``."""

    outcome: Literal["locked", "pending", "stale", "released"]


class Ended(msgspec.Struct, frozen=True):
    """The verification is no longer pending (``status``), or its record is gone."""

    status: str


class Canceled(msgspec.Struct, frozen=True):
    """What a cancel did: ``canceled`` it now, or found it canceled ``again``; found it
    ``expired`` (and marked it so); ``not_found``; ``not_pending`` (in ``status``)."""

    outcome: Literal["canceled", "again", "expired", "not_found", "not_pending"]
    status: str = ""


class Approval(msgspec.Struct, frozen=True):
    """What an approval without a code did: ``approved`` it now; found it ``expired`` (and
    marked it so); ``not_found``; ``not_pending`` (in ``status``: an approved one too, so
    two approvals of one verification approve it once). An approval names what its
    statistics count: the newest message's ``provider`` ("" when none took it) and
    ``channel``, and the number's ``country``."""

    outcome: Literal["approved", "expired", "not_found", "not_pending"]
    status: str = ""
    provider: str = ""
    channel: str = "sms"
    country: str = ""


class MessageRecord(msgspec.Struct, frozen=True):
    """One message as the record keeps it, and the verification's state."""

    status: str | None  # None: the record is gone
    expires_ms: int | None
    message: dict[str, Any] | None
    recorded: bool  # the provider's answer was stored


class ReportUpdate(msgspec.Struct, frozen=True):
    """One delivery report for message ``number`` of a verification."""

    verification_id: str
    number: int
    status: str
    provider_status: str
    error_code: str | None
    occurred_ms: int | None


class ReportApplied(msgspec.Struct, frozen=True):
    """What a report did to its message: ``changed`` (``status`` moved on from ``old``),
    ``kept`` (a late report; the timeline grew), ``duplicate``, or ``gone``."""

    outcome: Literal["changed", "kept", "duplicate", "gone"]
    old: str = ""
    status: str = ""
    sent_at_ms: int | None = None
    app: str = ""
    region: str = ""
    provider: str = ""
    channel: str = "sms"
