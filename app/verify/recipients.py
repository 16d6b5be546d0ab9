"""Who a code goes to: a phone number (SMS, voice, WhatsApp) or an email address."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.channels import Channel
from app.emails import is_email, mask_email, normalize_email
from app.errors import OtpgateError
from app.phone import Phone, mask_phone, normalize_phone

if TYPE_CHECKING:
    from app.store.keys import Keys

__all__ = ["Recipient", "recipient_for"]


class Recipient(msgspec.Struct, frozen=True):
    """A send's recipient on its channel: the number (``phone``) or the address."""

    channel: Channel
    #: E.164, or the email address (domain lower-cased)
    address: str
    #: what records, views and logs show
    masked: str
    phone: Phone | None = None

    @property
    def region(self) -> str:
        """The number's ISO country; ``""`` for an email address (it has none)."""
        return self.phone.region if self.phone else ""

    @property
    def calling_code(self) -> int:
        """The number's calling code (routes go by it); 0 for an email address."""
        return self.phone.calling_code if self.phone else 0

    def digest(self, keys: Keys) -> str:
        """The keyed digest that stands for the recipient in Redis."""
        return keys.number(self.address) if self.phone else keys.email(self.address)


def recipient_for(to: str, country: str | None, channel: Channel) -> Recipient:
    """``to`` read for ``channel``: an email address for ``email``, else a phone number.

    Raises:
        OtpgateError: ``invalid_email`` or ``invalid_phone``; a number with channel
            ``email``, or an address with another channel, is one of them.
    """
    if channel == "email":
        if not is_email(to):
            raise OtpgateError("invalid_email", "channel email needs an email address in `to`")
        address = normalize_email(to)
        return Recipient(channel, address, mask_email(address))
    if is_email(to):
        raise OtpgateError(
            "invalid_phone", f"channel {channel} needs a phone number; an address needs email"
        )
    phone = normalize_phone(to, country)
    return Recipient(channel, phone.e164, mask_phone(phone.e164), phone)
