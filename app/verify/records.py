"""Verifications as the store reads them, and the store's results, as API views.

Pure functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import msgspec

from app.verify.models import (
    AttemptView,
    MessageView,
    TimelineEvent,
    VerificationDetail,
    VerificationView,
)

if TYPE_CHECKING:
    from app.store.outcomes import Sent
    from app.store.records import StoredVerification
    from app.verify.models import Channel, VerificationStatus

__all__ = ["detail_from_record", "message_view", "utc", "view_from_send"]


def utc(ms: int | str) -> datetime:
    """Milliseconds since the epoch (as the scripts store them) as an aware datetime."""
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def message_view(
    data: dict[str, Any], now_ms: float | None = None, report_timeout_ms: float = 0
) -> MessageView:
    """A message as the store read it, or as the service just built it.

    Read at ``now_ms``, a message still not final ``report_timeout_ms`` after it was
    sent reads as ``unknown``.
    """
    created = data.get("created_at")
    status = data["status"]
    if (
        now_ms is not None
        and status in {"queued", "sent"}
        and created is not None
        and now_ms - created > report_timeout_ms
    ):
        status = "unknown"
    timeline = [
        TimelineEvent(
            status=event["status"],
            provider_status=event["provider_status"],
            received_at=utc(event["received_at"]),
            occurred_at=utc(event["occurred_at"]) if event.get("occurred_at") else None,
            error_code=event.get("error_code"),
        )
        for event in data.get("timeline") or []
    ]
    return MessageView(
        id=data["id"],
        channel=data.get("channel", "sms"),
        provider=data["provider"],
        status=status,
        provider_message_id=data.get("provider_message_id"),
        error_code=data.get("error_code"),
        created_at=utc(created) if created is not None else None,
        attempts=msgspec.convert(data.get("attempts") or [], list[AttemptView]),
        timeline=timeline,
        fallback=data.get("fallback"),
    )


def view_from_send(
    sent: Sent, to: str, purpose: str, channel: Channel, message: MessageView | None = None
) -> VerificationView:
    """The 201 of a send the store accepted (``to`` as the request gave it)."""
    return VerificationView(
        id=sent.verification_id,
        to=to,
        purpose=purpose,
        channel=channel,
        status="pending",
        created_at=utc(sent.now_ms),
        expires_at=utc(sent.expires_ms),
        resend_after=utc(sent.last_send_ms + sent.cooldown_ms),
        attempts_remaining=sent.max_attempts - sent.attempts,
        sends=sent.sends,
        sends_remaining=sent.max_sends - sent.sends,
        message=message,
    )


def detail_from_record(
    record: StoredVerification, now_ms: float, report_timeout_ms: float
) -> VerificationDetail:
    """The view of a record read at ``now_ms``; a pending one past its expiry is expired."""
    status = record.status
    if status == "pending" and record.expires_ms <= now_ms:
        status = "expired"
    messages = [message_view(message, now_ms, report_timeout_ms) for message in record.messages]
    pending = status == "pending"
    return VerificationDetail(
        id=record.id,
        to=record.masked_to,
        purpose=record.purpose,
        channel=cast("Channel", record.channel),
        status=cast("VerificationStatus", status),
        created_at=utc(record.created_ms),
        expires_at=utc(record.expires_ms),
        resend_after=utc(record.last_send_ms + record.cooldown_ms) if pending else None,
        attempts_remaining=record.max_attempts - record.attempts if pending else 0,
        sends=record.sends,
        sends_remaining=record.max_sends - record.sends if pending else 0,
        message=messages[-1] if messages else None,
        messages=messages,
    )
