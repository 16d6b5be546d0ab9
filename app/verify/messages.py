"""One message of a verification: its text on its channel (an SMS, what a call says, an
email's subject and text) and the parts template providers need, and the 502 answered
when no provider took it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.errors import OtpgateError
from app.providers.base import OutgoingMessage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.verify.config import Policy
    from app.verify.recipients import Recipient
    from app.verify.texts import MessageTexts

__all__ = ["TEST_PROVIDER", "delivery_failed", "outgoing_message"]

#: The "provider" of a test number's messages: none is sent.
TEST_PROVIDER = "test_number"


def outgoing_message(
    texts: MessageTexts, message_id: str, to: Recipient, locale: str, code: str, policy: Policy
) -> OutgoingMessage:
    """The message to ``to`` on its channel carrying ``code``, in ``locale``: an SMS (or a
    WhatsApp message, which template providers send as their template) with the app's
    autofill lines, what a call says, or an email."""
    subject = ""
    if to.channel == "voice":
        text = policy.spoken(texts.voice(locale), code)
    elif to.channel == "email":
        email = texts.email(locale)
        subject, text = policy.filled(email.subject, code), policy.filled(email.text, code)
    else:
        text = policy.message(texts.text(locale), code)
    return OutgoingMessage(
        message_id=message_id, to=to.address, region=to.region, locale=locale, text=text,
        code=code, minutes=policy.minutes, channel=to.channel, subject=subject,
    )  # fmt: skip


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
