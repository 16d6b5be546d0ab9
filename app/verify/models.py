"""Request and response bodies of the verification API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.store.keys import ID_PATTERN
from app.verify.phone import CONTROL_CHARACTERS

__all__ = [
    "AttemptView",
    "CheckResult",
    "CheckVerification",
    "MessageView",
    "StartVerification",
    "TimelineEvent",
    "VerificationDetail",
    "VerificationView",
]

Purpose = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="What the code is for; a code for one purpose never approves another.",
    ),
]
PhoneInput = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=32,
        description="E.164 (+8613800138000), or national digits together with `country`.",
        examples=["+8613800138000"],
    ),
]
Country = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 hint for `to`.")
]
Code = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,10}$", description="The digits typed.")]
VerificationId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]


class _Input(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A request body: no text field may hold a control character (400)."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
                # msgspec's own wording, so that `errors` names the field as for any other
                raise ValueError(f"Contains a control character - at `$.{name}`")


class StartVerification(_Input, frozen=True):
    """Send a code (or, for a pending verification of the same number and purpose, resend)."""

    to: PhoneInput
    purpose: Purpose = "login"
    channel: Literal["sms"] = "sms"
    locale: (
        Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")] | None
    ) = None
    client_ip: (
        Annotated[
            str,
            msgspec.Meta(max_length=45, description="The end user's IP as your backend saw it."),
        ]
        | None
    ) = None
    country: Country | None = None


class CheckVerification(_Input, frozen=True):
    """Check a code: by verification ``id``, or by ``to`` and ``purpose``."""

    code: Code
    id: VerificationId | None = None
    to: PhoneInput | None = None
    purpose: Purpose = "login"
    country: Country | None = None
    client_ip: Annotated[str, msgspec.Meta(max_length=45)] | None = None


class AttemptView(msgspec.Struct, frozen=True):
    """One provider tried for a message: accepted, or why not."""

    provider: str
    outcome: str
    error_code: str | None = None
    latency_ms: float = 0.0


class TimelineEvent(msgspec.Struct, frozen=True):
    """One delivery report for a message, as received."""

    status: str
    provider_status: str
    received_at: datetime
    occurred_at: datetime | None = None
    error_code: str | None = None


class MessageView(msgspec.Struct, frozen=True):
    """One SMS of a verification. ``status``: queued, sent, delivered, undelivered,
    failed, skipped (a test number), or unknown (no final report in time)."""

    id: str
    provider: str | None
    status: str
    provider_message_id: str | None = None
    error_code: str | None = None
    created_at: datetime | None = None
    attempts: list[AttemptView] = msgspec.field(default_factory=list)
    timeline: list[TimelineEvent] = msgspec.field(default_factory=list)


class VerificationView(msgspec.Struct, frozen=True):
    """A verification as the API shows it."""

    id: str
    to: str
    purpose: str
    channel: str
    status: str
    created_at: datetime
    expires_at: datetime
    resend_after: datetime | None
    attempts_remaining: int
    sends: int
    sends_remaining: int
    message: MessageView | None = None


class VerificationDetail(VerificationView, frozen=True):
    """A verification with every message it sent."""

    messages: list[MessageView] = msgspec.field(default_factory=list)


class CheckResult(msgspec.Struct, frozen=True):
    """The outcome of a check."""

    id: str
    status: str
    valid: bool
    attempts_remaining: int
