"""One message of a verification: its text and the parts template providers need, and
the 502 answered when no provider took it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.errors import OtpgateError
from app.providers.base import OutgoingMessage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.phone import Phone
    from app.verify.config import Policy
    from app.verify.texts import MessageTexts

__all__ = ["TEST_PROVIDER", "delivery_failed", "outgoing_message"]

#: The "provider" of a test number's messages: none is sent.
TEST_PROVIDER = "test_number"


def outgoing_message(
    texts: MessageTexts, message_id: str, phone: Phone, locale: str, code: str, policy: Policy
) -> OutgoingMessage:
    """The message to ``phone`` carrying ``code``, in ``locale``, with the app's autofill
    lines (template providers send their registered template instead)."""
    return OutgoingMessage(
        message_id=message_id,
        to=phone.e164,
        region=phone.region,
        locale=locale,
        text=policy.message(texts.text(locale), code),
        code=code,
        minutes=policy.minutes,
    )


def delivery_failed(
    verification_id: str, message: Mapping[str, Any], detail: str | None = None
) -> OtpgateError:
    """The 502 of a message no provider accepted, from the message as recorded."""
    return OtpgateError(
        "delivery_failed",
        detail or "no provider accepted the message",
        provider=message.get("provider"),
        provider_error=message.get("error_code"),
        error_kind=message.get("error_kind"),
        verification_id=verification_id,
    )
