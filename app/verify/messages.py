"""One message of a verification: its locale and text (the app's approved template, else
the settings' text), the parts template providers need, and the 502 answered when no
provider took it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.errors import OtpgateError
from app.providers.base import OutgoingMessage
from app.templates.book import ApprovedTemplate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.phone import Phone
    from app.templates.book import TemplateBook
    from app.verify.config import Policy
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
    texts: MessageTexts, message_id: str, phone: Phone, words: Wording, code: str, policy: Policy
) -> OutgoingMessage:
    """The message to ``phone`` carrying ``code``: the approved template's text and, for
    template providers, its registered templates, else the settings' text; with the app's
    autofill lines either way."""
    template = words.template
    source = texts.text(words.locale) if template is None else template.text
    return OutgoingMessage(
        message_id=message_id,
        to=phone.e164,
        region=phone.region,
        locale=words.locale,
        text=policy.message(source, code),
        code=code,
        minutes=policy.minutes,
        registered=template.registered if template is not None else {},
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
