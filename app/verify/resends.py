"""Whether a pending verification may be resent now: the cooldown and the send budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.errors import OtpgateError

if TYPE_CHECKING:
    from app.store.outcomes import Pending

__all__ = ["opted_out", "refusal", "resendable"]


def refusal(reason: str, verification_id: str, sends: int, retry_ms: float) -> OtpgateError:
    """The answer to a resend the cooldown or the send budget refuses."""
    if reason == "cooldown":
        return OtpgateError(
            "resend_cooldown",
            "a code was sent to this number moments ago",
            retry_after=retry_ms / 1000,
            verification_id=verification_id,
        )
    return OtpgateError(
        "max_sends_reached",
        f"this verification already sent {sends} codes",
        verification_id=verification_id,
    )


def resendable(pending: Pending | None, now_ms: int) -> str | None:
    """The id of the pending verification to resend (None: create one), unless its index
    already rules a resend out at ``now_ms`` (Redis' clock; the send script decides)."""
    if pending is None:
        return None
    wait_ms = pending.last_send_ms + pending.cooldown_ms - now_ms
    if wait_ms > 0:
        raise refusal("cooldown", pending.verification_id, pending.sends, wait_ms)
    if pending.sends >= pending.max_sends:
        raise refusal("max_sends", pending.verification_id, pending.sends, 0)
    return pending.verification_id


def opted_out() -> OtpgateError:
    """The refusal of a send to a number that texted a stop word to the app."""
    return OtpgateError(
        "number_opted_out",
        "the number texted a stop word to this app: a start word, or an admin, opts it in",
    )
