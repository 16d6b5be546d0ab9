"""The channels a code goes by: SMS (the default), a voice call, WhatsApp, email.

A leaf: settings, providers and the verification API share these names.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CHANNELS", "PHONE_CHANNELS", "Channel", "OtherChannel", "PhoneChannel"]

Channel = Literal["sms", "voice", "whatsapp", "email"]
#: The channels that reach a phone number (``email`` reaches an email address).
PhoneChannel = Literal["sms", "voice", "whatsapp"]
#: The channels besides SMS, each with routes of its own (``[channel_routes.<channel>]``).
OtherChannel = Literal["voice", "whatsapp", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "voice", "whatsapp", "email")
PHONE_CHANNELS: frozenset[str] = frozenset({"sms", "voice", "whatsapp"})
