"""A Vonage account: the fields of ``[providers.<name>]`` with ``type = "vonage"``."""

from __future__ import annotations

from typing import Literal

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["SignatureMethod", "VonageConfig"]

#: The dashboard's signature setting: ``md5hash`` is ``md5(params + secret)``, the
#: others are HMACs keyed with the secret.
SignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]


class VonageConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="vonage"
):
    """A Vonage account, the channels it serves and the sender it sends from.

    SMS sends are signed when ``signature_secret`` is set, else authenticated with
    ``api_secret``; the balance API and WhatsApp (the Messages API, HTTP Basic) always
    need ``api_secret``.
    """

    #: the account's API key.
    api_key: str
    #: the sender: a virtual number (E.164, ``+`` optional) or an alphanumeric ID.
    from_: str | None = msgspec.field(default=None, name="from")
    #: the API secret, for unsigned sends and the balance API.
    api_secret: Secret | None = None
    #: the signature secret, when the account requires signed requests.
    signature_secret: Secret | None = None
    #: the signature method chosen in the dashboard's API settings.
    signature_method: SignatureMethod = "md5hash"
    #: the REST API's origin.
    base_url: str = "https://rest.nexmo.com"
    #: what this account sends: ``sms`` (the SMS API), ``whatsapp`` (the Messages API).
    channels: list[Literal["sms", "whatsapp"]] = msgspec.field(default_factory=lambda: ["sms"])
    #: the WhatsApp Business number (default: ``from``).
    whatsapp_from: str | None = None
    #: locale -> an approved WhatsApp template (``id`` its name, ``params`` its parameters
    #: in order, ``language`` its WhatsApp locale such as ``en_US``).
    whatsapp_templates: dict[str, Template] = msgspec.field(default_factory=dict)
    #: the Messages API's origin.
    messages_base_url: str = "https://api.nexmo.com"

    def __post_init__(self) -> None:
        if self.api_secret is None and self.signature_secret is None:
            raise ValueError("vonage: set `api_secret` or `signature_secret`")
        if "sms" in self.channels and self.from_ is None:
            raise ValueError("vonage: channel sms needs `from`")
        if "whatsapp" in self.channels:
            if self.api_secret is None or (self.whatsapp_from or self.from_) is None:
                raise ValueError("vonage: channel whatsapp needs `api_secret` and a sender")
            if not self.whatsapp_templates:
                raise ValueError("vonage: channel whatsapp needs `whatsapp_templates`")
