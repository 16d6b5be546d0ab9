"""Request and response bodies of the verification API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.channels import Channel
from app.ids import ID_PATTERN
from app.phone import CONTROL_CHARACTERS
from app.providers.reports import DeliveryStatus

__all__ = [
    "AttemptView",
    "Channel",
    "CheckResult",
    "CheckVerification",
    "FallbackReason",
    "MessageView",
    "StartVerification",
    "TimelineEvent",
    "VerificationDetail",
    "VerificationStatus",
    "VerificationView",
]

VerificationStatus = Literal[
    "pending", "approved", "canceled", "expired", "failed", "max_attempts_reached"
]
_STATUS = (
    "`pending` until one of: `approved` (the right code), `canceled`, `expired` (its code "
    "expired), `failed` (its first message could not be sent), `max_attempts_reached`."
)
MessageStatus = Literal[
    "queued", "sent", "delivered", "undelivered", "failed", "skipped", "unknown"
]
#: Why a fallback step went (:class:`MessageView`'s ``fallback``).
FallbackReason = Literal["no_receipt", "undelivered", "failed"]
AttemptOutcome = Literal["accepted", "retryable", "permanent", "account", "skipped"]

Purpose = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="What the code is for; a code for one purpose never approves another.",
    ),
]
RecipientInput = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=254,
        description="The phone number: E.164 (+8613800138000), or national digits together "
        "with `country`; for channel `email`, the email address.",
        examples=["+8613800138000"],
    ),
]
Country = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2 hint for `to`.")
]
Code = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,10}$", description="The digits typed.")]
VerificationId = Annotated[
    str, msgspec.Meta(pattern=ID_PATTERN, description="The verification id (`ver_…`).")
]
ClientIp = Annotated[
    str, msgspec.Meta(max_length=45, description="The end user's IP as your backend saw it.")
]


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

    to: RecipientInput
    purpose: Purpose = "login"
    channel: Annotated[
        Channel,
        msgspec.Meta(
            description="How to send the code: `sms`, `voice` (a call that reads it), "
            "`whatsapp`, `email` (`to` is then an email address). For a pending "
            "verification, another channel is a resend through it."
        ),
    ] = "sms"
    locale: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
                description="The language of the message (`en`, `zh-CN`, …); default: by "
                "country. "
                "Without a text of its own: its language's (`fr-CA` -> `fr`), else `en`.",
            ),
        ]
        | None
    ) = None
    client_ip: ClientIp | None = None
    country: Country | None = None
    custom_code: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=r"^[0-9]{4,10}$",
                description="A code of your own to send instead of a random one (4–10 "
                "digits), for apps with `custom_code_enabled` only (400 otherwise). A resend "
                "without it gets a random code.",
            ),
        ]
        | None
    ) = None


class CheckVerification(_Input, frozen=True):
    """Check a code: by verification ``id``, or by ``to`` and ``purpose``."""

    code: Code
    id: VerificationId | None = None
    to: RecipientInput | None = None
    purpose: Purpose = "login"
    country: Country | None = None
    client_ip: ClientIp | None = None


class AttemptView(msgspec.Struct, frozen=True):
    """One provider tried for a message: accepted, or why not."""

    provider: Annotated[str, msgspec.Meta(description="The provider's name in `[providers]`.")]
    outcome: Annotated[
        AttemptOutcome,
        msgspec.Meta(
            description="`accepted`, or the kind of error: `retryable`, `permanent` (the "
            "number's fault), `account` (balance, credentials), `skipped` (circuit open)."
        ),
    ]
    error_code: Annotated[
        str | None, msgspec.Meta(description="The provider's error code, as it sent it.")
    ] = None
    latency_ms: Annotated[
        float, msgspec.Meta(description="How long the provider took to answer.")
    ] = 0.0


class TimelineEvent(msgspec.Struct, frozen=True):
    """One delivery report for a message, as received."""

    status: Annotated[DeliveryStatus, msgspec.Meta(description="The reported status.")]
    provider_status: Annotated[
        str, msgspec.Meta(description="The provider's own status word or code.")
    ]
    received_at: Annotated[datetime, msgspec.Meta(description="When otpgate received it.")]
    occurred_at: Annotated[
        datetime | None,
        msgspec.Meta(description="When the provider says it happened, if it says."),
    ] = None
    error_code: Annotated[
        str | None, msgspec.Meta(description="The provider's error code, if any.")
    ] = None


class MessageView(msgspec.Struct, frozen=True):
    """One message of a verification (an SMS, a call, a WhatsApp message, an email)."""

    id: Annotated[str, msgspec.Meta(description="The message id (`msg_…`).")]
    channel: Annotated[Channel, msgspec.Meta(description="How it was sent.")]
    provider: Annotated[
        str | None,
        msgspec.Meta(description="The provider that took it (null: none did)."),
    ]
    status: Annotated[
        MessageStatus,
        msgspec.Meta(
            description="queued < sent < delivered | undelivered | failed (from the "
            "provider's reports; a late `sent` never overwrites a final status); `skipped`: a "
            "test number, nothing sent; `unknown`: no final report within "
            "`delivery_report_timeout`."
        ),
    ]
    provider_message_id: Annotated[
        str | None, msgspec.Meta(description="The provider's id for it.")
    ] = None
    error_code: Annotated[
        str | None, msgspec.Meta(description="Why it failed: the provider's error code.")
    ] = None
    created_at: Annotated[
        datetime | None, msgspec.Meta(description="When it was handed to the provider.")
    ] = None
    attempts: Annotated[
        list[AttemptView],
        msgspec.Meta(description="Every provider tried, in order (failover)."),
    ] = msgspec.field(default_factory=list)
    timeline: Annotated[
        list[TimelineEvent], msgspec.Meta(description="Its delivery reports, oldest first.")
    ] = msgspec.field(default_factory=list)
    fallback: Annotated[
        FallbackReason | None,
        msgspec.Meta(
            description="Why otpgate sent it by itself, as a step of the app's fallback "
            "plan: the message before it had no `delivered` report in time (`no_receipt`), "
            "or was reported `undelivered` or `failed`. Null: a send the client asked for."
        ),
    ] = None


class VerificationView(msgspec.Struct, frozen=True):
    """A verification as the API shows it."""

    id: Annotated[str, msgspec.Meta(description="The verification id (`ver_…`).")]
    to: Annotated[
        str,
        msgspec.Meta(
            description="The number (or email address): as the send that received it gave "
            "it (E.164) in its answer, masked (`+86138****8000`, `j***@example.com`) "
            "everywhere else."
        ),
    ]
    purpose: Annotated[str, msgspec.Meta(description="What the code is for.")]
    channel: Annotated[Channel, msgspec.Meta(description="The channel of the newest message.")]
    status: Annotated[VerificationStatus, msgspec.Meta(description=_STATUS)]
    created_at: Annotated[datetime, msgspec.Meta(description="When the first code was sent.")]
    expires_at: Annotated[datetime, msgspec.Meta(description="When the newest code expires.")]
    resend_after: Annotated[
        datetime | None,
        msgspec.Meta(description="When a resend is allowed (null: no longer pending)."),
    ]
    attempts_remaining: Annotated[
        int, msgspec.Meta(description="Checks left; a resend never restores them.")
    ]
    sends: Annotated[int, msgspec.Meta(description="Codes sent so far (first send and resends).")]
    sends_remaining: Annotated[int, msgspec.Meta(description="Resends still allowed.")]
    message: Annotated[
        MessageView | None, msgspec.Meta(description="The newest message (null: none yet).")
    ] = None


class VerificationDetail(VerificationView, frozen=True):
    """A verification with every message it sent."""

    messages: Annotated[
        list[MessageView], msgspec.Meta(description="Every message, oldest first.")
    ] = msgspec.field(default_factory=list)


class CheckResult(msgspec.Struct, frozen=True):
    """The outcome of a check."""

    id: Annotated[str, msgspec.Meta(description="The verification checked.")]
    status: Annotated[
        VerificationStatus,
        msgspec.Meta(
            description="`approved` for the right code; `pending` for a wrong one with "
            "attempts left; `max_attempts_reached` when the last attempt was wrong."
        ),
    ]
    valid: Annotated[bool, msgspec.Meta(description="Whether the code was right.")]
    attempts_remaining: Annotated[int, msgspec.Meta(description="Checks left.")]
