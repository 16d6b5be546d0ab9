"""One message of a verification: its locale and its text on its channel (an SMS, from
the app's approved template or the settings' text; what a call says; an email's subject
and text), the parts template providers need, and the 502 answered when no provider
took it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.errors import OtpgateError
from app.providers.base import OutgoingMessage
from app.templates.book import ApprovedTemplate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.templates.book import TemplateBook
    from app.verify.config import Policy
    from app.verify.recipients import Recipient
    from app.verify.texts import MessageTexts

__all__ = ["TEST_PROVIDER", "Wording", "delivery_failed", "outgoing_message", "wording"]

#: The "provider" of a test number's messages: none is sent.
TEST_PROVIDER = "test_number"


class Wording(msgspec.Struct, frozen=True):
    """The locale of a send, and the app's approved template in it, if there is one."""

    locale: str
    template: ApprovedTemplate | None = None


def wording(
    texts: MessageTexts,
    book: TemplateBook | None,
    app: str,
    purpose: str,
    requested: str | None,
    region: str,
) -> Wording:
    """The locale asked for (or its language's, else ``en``) among the settings' texts and
    the app's approved templates for ``purpose``; that template, if it is one of them."""
    own = book.locales(app, purpose) if book is not None else []
    locale = texts.resolve(requested, region, own)
    return Wording(locale, book.get(app, purpose, locale) if book is not None else None)


def outgoing_message(
    texts: MessageTexts, message_id: str, to: Recipient, words: Wording, code: str, policy: Policy
) -> OutgoingMessage:
    """The message to ``to`` on its channel carrying ``code``, in ``words.locale``: an SMS
    (the approved template's text and, for template providers, its registered templates,
    else the settings' text) or a WhatsApp message, with the app's autofill lines; what a
    call says; or an email."""
    subject, template = "", words.template if to.channel == "sms" else None
    if to.channel == "voice":
        text = policy.spoken(texts.voice(words.locale), code)
    elif to.channel == "email":
        email = texts.email(words.locale)
        subject, text = policy.filled(email.subject, code), policy.filled(email.text, code)
    else:
        source = texts.text(words.locale) if template is None else template.text
        text = policy.message(source, code)
    return OutgoingMessage(
        message_id=message_id, to=to.address, region=to.region, locale=words.locale, text=text,
        code=code, minutes=policy.minutes, channel=to.channel, subject=subject,
        registered=template.registered if template is not None else {},
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
