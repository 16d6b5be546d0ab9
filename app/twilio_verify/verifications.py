"""Twilio's Verifications and Verification Checks over otpgate's verifications: one
verification, whichever API started it (``VE…`` is its id's 128 bits).

A Twilio start is otpgate's send with purpose ``login`` (``/v1``'s default), so the
pending verification of a number is the same one through both APIs: started again, it
is a resend (the same SID, one more ``send_code_attempts`` entry), as Twilio does.
``CustomFriendlyName`` and ``AppHash`` become the verification's own name and app hash
(:mod:`app.verify.customization`), which its resends keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.errors import OtpgateError
from app.phone import normalize_phone
from app.twilio_verify import sids
from app.twilio_verify.errors import TwilioError, invalid_parameter, unsupported
from app.twilio_verify.forms import (
    check_request,
    customization,
    start_request,
    verification_status,
)
from app.twilio_verify.resources import CheckResource, VerificationResource

if TYPE_CHECKING:
    from app.settings import Settings
    from app.twilio_verify.forms import CheckForm, StartForm, StatusForm
    from app.verify.service import VerificationService

__all__ = ["TwilioVerifications"]


def _verification_id(sid: str) -> str:
    verification_id = sids.verification_id(sid)
    if verification_id is None:
        raise TwilioError(20404, f"The requested resource /Verifications/{sid} was not found")
    return verification_id


class TwilioVerifications:
    """Start, fetch, cancel, approve and check verifications of an app, Twilio's way."""

    def __init__(self, verifications: VerificationService, settings: Settings) -> None:
        self._verifications = verifications
        self._settings = settings

    async def start(self, app: str, form: StartForm, base: str) -> VerificationResource:
        if form.custom_code is not None and not self._settings.policy_for(app).custom_code_enabled:
            raise unsupported("CustomCode (the service's custom_code_enabled is false)")
        request = start_request(form)
        own = customization(form, request.channel)
        started = await self._verifications.start(app, request, own=own)
        detail = await self._verifications.get(app, started.view.id)
        # the number in clear only to the request that gave it, as /v1 does
        return msgspec.structs.replace(
            VerificationResource.of(app, detail, base), to=started.view.to
        )

    async def fetch(self, app: str, sid: str, base: str) -> VerificationResource:
        detail = await self._verifications.get(app, _verification_id(sid))
        return VerificationResource.of(app, detail, base)

    async def update(self, app: str, sid: str, form: StatusForm, base: str) -> VerificationResource:
        """Cancel or approve a pending verification; a finished one is 20404, as Twilio's
        finished verifications are gone (two approvals racing: one wins, one is 20404)."""
        status = verification_status(form)
        verification_id = _verification_id(sid)
        if status == "approved":
            detail = await self._verifications.approve(app, verification_id)
            return VerificationResource.of(app, detail, base)
        try:  # the script's answer, not a read before it: of two racing cancels one wins
            detail = await self._verifications.cancel(app, verification_id, again=False)
        except OtpgateError as exc:
            if exc.code not in {"verification_expired", "verification_not_pending"}:
                raise
            now = exc.extra.get("verification_status") or "expired"
            raise TwilioError(
                20404, f"The requested resource /Verifications/{sid} is {now}"
            ) from exc
        return VerificationResource.of(app, detail, base)

    async def check(self, app: str, form: CheckForm) -> CheckResource:
        verification_id = None
        if form.verification_sid is not None:
            verification_id = sids.verification_id(form.verification_sid)
            if verification_id is None:
                raise invalid_parameter("VerificationSid")
        result = await self._verifications.check(app, check_request(form, verification_id))
        view = await self._verifications.get(app, result.id)
        to = normalize_phone(form.to).e164 if verification_id is None and form.to else view.to
        return CheckResource.of(app, result, view, to)
