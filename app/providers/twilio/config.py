"""A Twilio account: the fields of ``[providers.<name>]`` with ``type = "twilio"``."""

from __future__ import annotations

import msgspec

from app.sensitive import Secret

__all__ = ["TwilioConfig"]


class TwilioConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="twilio"
):
    """A Twilio account and the sender it sends from.

    Exactly one of ``from_`` and ``messaging_service_sid`` is set; ``auth_token`` or the
    ``api_key_sid``/``api_key_secret`` pair authenticates.
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

    def __post_init__(self) -> None:
        if (self.from_ is None) == (self.messaging_service_sid is None):
            raise ValueError("twilio: set exactly one of `from` and `messaging_service_sid`")
        has_api_key = self.api_key_sid is not None and self.api_key_secret is not None
        if self.auth_token is None and not has_api_key:
            raise ValueError("twilio: set `auth_token`, or `api_key_sid` and `api_key_secret`")
