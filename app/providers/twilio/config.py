"""A Twilio account: the fields of ``[providers.<name>]`` with ``type = "twilio"``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["TwilioConfig"]


class TwilioConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="twilio"
):
    """A Twilio account, the channels it serves and the senders it sends from.

    Exactly one of ``from_`` and ``messaging_service_sid`` is set; ``auth_token`` or the
    ``api_key_sid``/``api_key_secret`` pair authenticates. ``voice`` calls through the
    Calls API from ``voice_from`` (default ``from``); ``whatsapp`` sends approved Content
    templates (``whatsapp_templates``) from ``whatsapp_from`` (default ``from``, or the
    Messaging Service).
    """

    #: the account's SID (``AC…``); part of every URL.
    account_sid: str
    #: the account's Auth Token: Basic auth password, and the key of webhook signatures.
    auth_token: Secret | None = None
    #: an API key (``SK…``) to authenticate with instead of the Auth Token.
    api_key_sid: str | None = None
    #: that API key's secret.
    api_key_secret: Secret | None = None
    #: the sender: a Twilio number in E.164 or an alphanumeric sender ID (``From``).
    from_: str | None = msgspec.field(default=None, name="from")
    #: a Messaging Service (``MG…``) that picks the sender instead (``MessagingServiceSid``).
    messaging_service_sid: str | None = None
    #: where Twilio posts delivery status changes (``StatusCallback``); none if unset.
    status_callback_url: str | None = None
    #: the REST API's origin.
    base_url: str = "https://api.twilio.com"
    #: what this account sends: ``sms``, ``voice`` (calls), ``whatsapp``.
    channels: list[Literal["sms", "voice", "whatsapp"]] = msgspec.field(
        default_factory=lambda: ["sms"]
    )
    #: the caller ID of calls, a voice-capable Twilio number (default: ``from``).
    voice_from: str | None = None
    #: how many times a call says the code (with a pause between).
    voice_repeat: Annotated[int, msgspec.Meta(ge=1, le=5)] = 2
    #: ``<Say voice=…>``, e.g. ``Polly.Joanna`` (none: Twilio's default voice).
    voice_name: str | None = None
    #: locale -> ``<Say language=…>`` where the default (``en`` -> ``en-US``) will not do.
    voice_languages: dict[str, str] = msgspec.field(default_factory=dict)
    #: the WhatsApp sender in E.164 (default: ``from``, or the Messaging Service's).
    whatsapp_from: str | None = None
    #: locale -> an approved Content template (``id`` its ``HX…`` ContentSid, ``params``
    #: what fills its variables ``1``, ``2``…).
    whatsapp_templates: dict[str, Template] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.from_ is None) == (self.messaging_service_sid is None):
            raise ValueError("twilio: set exactly one of `from` and `messaging_service_sid`")
        if "voice" in self.channels and (self.voice_from or self.from_) is None:
            raise ValueError("twilio: channel voice needs `voice_from` (or `from`)")
        if "whatsapp" in self.channels and not self.whatsapp_templates:
            raise ValueError("twilio: channel whatsapp needs `whatsapp_templates`")
        has_api_key = self.api_key_sid is not None and self.api_key_secret is not None
        if self.auth_token is None and not has_api_key:
            raise ValueError("twilio: set `auth_token`, or `api_key_sid` and `api_key_secret`")
