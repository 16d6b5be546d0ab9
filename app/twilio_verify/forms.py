"""Twilio's form parameters read into otpgate's requests: pure functions of the form.

A parameter otpgate cannot honour answers Twilio's error for it (60200 for a bad value,
60204 for a feature otpgate does not have) rather than being dropped quietly; a name
Twilio does not define is ignored, as Twilio ignores it. README's migration table lists
each one.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Literal, TypeVar

import msgspec

from app.twilio_verify.errors import TwilioError, invalid_parameter, unsupported
from app.verify.customization import Customization
from app.verify.models import Channel, CheckVerification, StartVerification

__all__ = [
    "CHANNELS",
    "CheckForm",
    "ServiceForm",
    "StartForm",
    "StatusForm",
    "check_request",
    "customization",
    "read_form",
    "start_request",
    "twilio_channel",
    "verification_status",
]

#: Twilio's channel names -> otpgate's (Twilio calls a voice call ``call``).
CHANNELS: dict[str, Channel] = {
    "sms": "sms", "call": "voice", "whatsapp": "whatsapp", "email": "email",
}  # fmt: skip
_TWILIO_CHANNEL_NAMES: dict[str, str] = {ours: theirs for theirs, ours in CHANNELS.items()}


def twilio_channel(channel: str) -> str:
    """otpgate's channel as Twilio names it (``voice`` is ``call``)."""
    return _TWILIO_CHANNEL_NAMES.get(channel, channel)


#: Parameters of features otpgate does not have: present (and not empty), they are 60204.
_UNSUPPORTED = frozenset({
    "CustomMessage", "SendDigits", "Amount", "Payee", "ChannelConfiguration", "TemplateSid",
    "TemplateCustomSubstitutions", "EnableSnaClientToken", "SnaClientToken",
    "DefaultTemplateSid",
})  # fmt: skip
_UNSUPPORTED_GROUPS = ("Push.", "Totp.", "Whatsapp.", "Passkeys.")
#: otpgate's request fields -> Twilio's parameter names, for naming a bad value.
_TWILIO_NAMES = {"to": "To", "locale": "Locale", "client_ip": "DeviceIp", "code": "Code",
                 "id": "VerificationSid", "channel": "Channel", "custom_code": "CustomCode",
                 "app_name": "CustomFriendlyName", "android_app_hash": "AppHash"}  # fmt: skip
_FIELD = re.compile(r"`\$\.([^`.\[]+)|field `([^`]+)`")

Form = TypeVar("Form", bound=msgspec.Struct)


class StartForm(msgspec.Struct, frozen=True, rename="pascal"):
    """``POST /Services/{ServiceSid}/Verifications``."""

    to: str
    channel: str
    locale: str | None = None
    custom_code: str | None = None
    custom_friendly_name: str | None = None
    app_hash: str | None = None
    rate_limits: str | None = None
    device_ip: str | None = None
    tags: str | None = None
    risk_check: Literal["enable", "disable"] | None = None


class CheckForm(msgspec.Struct, frozen=True, rename="pascal"):
    """``POST /Services/{ServiceSid}/VerificationCheck``."""

    code: str | None = None
    to: str | None = None
    verification_sid: str | None = None


class StatusForm(msgspec.Struct, frozen=True, rename="pascal"):
    """``POST /Services/{ServiceSid}/Verifications/{Sid}``."""

    status: str


class ServiceForm(msgspec.Struct, frozen=True, rename="pascal"):
    """``POST /Services`` and ``POST /Services/{Sid}``."""

    friendly_name: str | None = None
    code_length: int | None = None
    lookup_enabled: bool = False
    psd2_enabled: bool = False
    skip_sms_to_landlines: bool | None = None
    dtmf_input_required: bool | None = None
    tts_name: str | None = None
    do_not_share_warning_enabled: bool = False
    custom_code_enabled: bool | None = None
    verify_event_subscription_enabled: bool = False

    def settings(self) -> dict[str, Any]:
        """The app settings it changes (60204 for a feature otpgate does not have)."""
        for flag in ("lookup_enabled", "psd2_enabled", "do_not_share_warning_enabled",
                     "verify_event_subscription_enabled"):  # fmt: skip
            if getattr(self, flag):
                raise unsupported(_pascal(flag))
        changed: dict[str, Any] = {}
        if self.custom_code_enabled is not None:
            changed["custom_code_enabled"] = self.custom_code_enabled
        if self.friendly_name is not None:
            if not 1 <= len(self.friendly_name) <= 32 or not self.friendly_name.isprintable():
                raise invalid_parameter("FriendlyName", "1 to 32 printable characters")
            changed["display_name"] = self.friendly_name
        if self.code_length is not None:
            if not 4 <= self.code_length <= 10:
                raise invalid_parameter("CodeLength", "4 to 10")
            changed["code_length"] = self.code_length
        return changed


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _bad_field(error: msgspec.ValidationError, names: dict[str, str] | None = None) -> str:
    match = _FIELD.search(str(error))
    field = (match[1] or match[2]) if match else ""
    return (names or {}).get(field, field) or "request"


def read_form(form: dict[str, Any], kind: type[Form]) -> Form:
    """``form`` as ``kind``: a repeated, missing or mistyped parameter is 60200 naming it,
    a parameter of a feature otpgate lacks is 60204."""
    for name, value in form.items():
        if value not in ("", None) and (
            name in _UNSUPPORTED or name.startswith(_UNSUPPORTED_GROUPS)
        ):
            raise unsupported(name)
    try:
        return msgspec.convert(form, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise invalid_parameter(_bad_field(exc), str(exc).split(" - at ")[0]) from exc


def start_request(form: StartForm) -> StartVerification:
    """The otpgate send of a Twilio start (purpose ``login``, as ``/v1``'s default)."""
    channel = CHANNELS.get(form.channel.lower())
    if channel is None:
        raise invalid_parameter("Channel", f"otpgate sends by {', '.join(CHANNELS)}")
    if form.risk_check == "disable":
        raise unsupported("RiskCheck=disable (otpgate's guards always apply)")
    if form.device_ip is not None:
        try:
            ipaddress.ip_address(form.device_ip)
        except ValueError:
            raise invalid_parameter("DeviceIp", "an IPv4 or IPv6 address") from None
    if form.rate_limits is not None:
        try:
            limits = json.loads(form.rate_limits)
        except ValueError:
            limits = None
        if not isinstance(limits, dict):
            raise invalid_parameter("RateLimits", "a JSON object")
    fields = {"to": form.to, "channel": channel, "locale": form.locale,
              "client_ip": form.device_ip, "custom_code": form.custom_code}  # fmt: skip
    return _converted({k: v for k, v in fields.items() if v is not None}, StartVerification)


def customization(form: StartForm, channel: Channel) -> Customization:
    """The start's own name (``CustomFriendlyName``, instead of the app's ``display_name``)
    and, for an SMS, Android app hash (``AppHash``, instead of ``android_app_hash``):
    60200 naming a bad one; an app hash on another channel is 60602, as Twilio answers."""
    own = Customization(form.custom_friendly_name, form.app_hash)
    if (problem := own.problem()) is not None:
        raise invalid_parameter(_TWILIO_NAMES[problem[0]], problem[1])
    if form.app_hash is not None and channel != "sms":
        raise TwilioError(60602)
    return own


def check_request(form: CheckForm, verification_id: str | None) -> CheckVerification:
    """The otpgate check of a Twilio check: by ``VerificationSid`` or by ``To``."""
    if form.code is None:
        raise invalid_parameter("Code")
    if verification_id is None and form.to is None:
        raise invalid_parameter("To", "give To or VerificationSid")
    fields = {"code": form.code, "id": verification_id, "to": None if verification_id else form.to}
    return _converted({k: v for k, v in fields.items() if v is not None}, CheckVerification)


def verification_status(form: StatusForm) -> Literal["canceled", "approved"]:
    """The status a Twilio update asks for: ``canceled`` or ``approved``."""
    if form.status not in ("canceled", "approved"):
        raise invalid_parameter("Status", "canceled or approved")
    return "approved" if form.status == "approved" else "canceled"


Request = TypeVar("Request", StartVerification, CheckVerification)


def _converted(fields: dict[str, Any], kind: type[Request]) -> Request:
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        raise invalid_parameter(_bad_field(exc, _TWILIO_NAMES)) from exc
