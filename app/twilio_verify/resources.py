"""Twilio Verify v2's resources, field for field as Twilio's OpenAPI document names
them (``twilio_verify_v2.json``), built from otpgate's views: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from app.twilio_verify import sids
from app.twilio_verify.forms import twilio_channel

if TYPE_CHECKING:
    from app.verify.models import CheckResult, VerificationDetail, VerificationView

__all__ = [
    "AttemptResource",
    "CheckResource",
    "SafeListResource",
    "ServiceResource",
    "Summary",
    "VerificationResource",
    "twilio_time",
]

#: A service's sub-resources, each under its URL (Twilio's ``links``).
_SERVICE_LINKS = {
    "verification_checks": "VerificationCheck", "verifications": "Verifications",
    "rate_limits": "RateLimits", "messaging_configurations": "MessagingConfigurations",
    "entities": "Entities", "webhooks": "Webhooks", "access_tokens": "AccessTokens",
}  # fmt: skip


def twilio_time(moment: datetime | float | None) -> str | None:
    """ISO 8601 in UTC to the second, as Twilio writes it (``2015-07-30T20:00:00Z``)."""
    if moment is None or moment == 0:
        return None
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServiceResource(msgspec.Struct, frozen=True):
    """A Verification Service: an otpgate app."""

    sid: str
    account_sid: str
    friendly_name: str
    code_length: int
    lookup_enabled: bool
    psd2_enabled: bool
    skip_sms_to_landlines: bool
    dtmf_input_required: bool
    tts_name: str | None
    do_not_share_warning_enabled: bool
    custom_code_enabled: bool
    push: dict[str, Any]
    totp: dict[str, Any]
    default_template_sid: str | None
    whatsapp: dict[str, Any]
    passkeys: dict[str, Any]
    verify_event_subscription_enabled: bool
    date_created: str | None
    date_updated: str | None
    url: str
    links: dict[str, str]

    @classmethod
    def of(
        cls,
        app: str,
        *,
        friendly_name: str,
        code_length: int,
        custom_codes: bool,
        landlines_refused: bool,
        created_at: float,
        updated_at: float,
        base: str,
    ) -> ServiceResource:
        sid = sids.service_sid(app)
        url = f"{base}/v2/Services/{sid}"
        return cls(
            sid=sid, account_sid=sids.account_sid(app), friendly_name=friendly_name,
            code_length=code_length, lookup_enabled=False, psd2_enabled=False,
            skip_sms_to_landlines=landlines_refused, dtmf_input_required=False, tts_name=None,
            do_not_share_warning_enabled=False, custom_code_enabled=custom_codes,
            push={"include_date": False, "apn_credential_sid": None, "fcm_credential_sid": None},
            totp={"issuer": None, "time_step": None, "code_length": None, "skew": None},
            default_template_sid=None, whatsapp={"msg_service_sid": None, "from": None},
            passkeys={"relying_party": {"id": None, "name": None, "origins": None},
                      "authenticator_attachment": None, "discoverable_credentials": None,
                      "user_verification": None},
            verify_event_subscription_enabled=False, date_created=twilio_time(created_at),
            date_updated=twilio_time(updated_at or created_at), url=url,
            links={name: f"{url}/{path}" for name, path in _SERVICE_LINKS.items()},
        )  # fmt: skip


class VerificationResource(msgspec.Struct, frozen=True):
    """A Verification."""

    sid: str
    service_sid: str
    account_sid: str
    to: str
    channel: str
    status: str
    valid: bool
    lookup: dict[str, Any]
    amount: None
    payee: None
    send_code_attempts: list[dict[str, Any]]
    date_created: str | None
    date_updated: str | None
    sna: None
    url: str

    @classmethod
    def of(cls, app: str, view: VerificationDetail, base: str) -> VerificationResource:
        sid = sids.verification_sid(view.id) or ""
        service = sids.service_sid(app)
        messages = view.messages
        attempts = [
            {"time": twilio_time(message.created_at),
             "channel": twilio_channel(message.channel),
             "attempt_sid": sids.attempt_sid(view.id, number)}
            for number, message in enumerate(messages, start=1)
        ]  # fmt: skip
        newest = messages[-1].created_at if messages else None
        return cls(
            sid=sid, service_sid=service, account_sid=sids.account_sid(app), to=view.to,
            channel=twilio_channel(view.channel), status=view.status,
            valid=view.status == "approved",
            lookup={}, amount=None, payee=None, send_code_attempts=attempts,
            date_created=twilio_time(view.created_at),
            date_updated=twilio_time(newest or view.created_at), sna=None,
            url=f"{base}/v2/Services/{service}/Verifications/{sid}",
        )  # fmt: skip


class CheckResource(msgspec.Struct, frozen=True):
    """A Verification Check: the outcome of one code."""

    sid: str
    service_sid: str
    account_sid: str
    to: str
    channel: str
    status: str
    valid: bool
    amount: None
    payee: None
    date_created: str | None
    date_updated: str | None
    sna_attempts_error_codes: list[Any]

    @classmethod
    def of(cls, app: str, result: CheckResult, view: VerificationView, to: str) -> CheckResource:
        now = twilio_time(datetime.now(UTC))
        return cls(
            sid=sids.verification_sid(result.id) or "", service_sid=sids.service_sid(app),
            account_sid=sids.account_sid(app), to=to,
            channel=twilio_channel(view.channel), status=result.status,
            valid=result.valid, amount=None, payee=None,
            date_created=twilio_time(view.created_at), date_updated=now,
            sna_attempts_error_codes=[],
        )  # fmt: skip


class SafeListResource(msgspec.Struct, frozen=True):
    """A number on the safe list (the key's app's safe numbers)."""

    sid: str
    phone_number: str
    url: str


class AttemptResource(msgspec.Struct, frozen=True):
    """A Verification Attempt: one message of a verification."""

    sid: str
    account_sid: str
    service_sid: str
    verification_sid: str
    date_created: str | None
    date_updated: str | None
    conversion_status: str
    channel: str
    price: dict[str, Any] | None
    channel_data: dict[str, Any]
    url: str


class Summary(msgspec.Struct, frozen=True):
    """A Verification Attempts Summary."""

    total_attempts: int
    total_converted: int
    total_unconverted: int
    conversion_rate_percentage: str | None
    url: str
