"""``/twilio/v2/SafeList/Numbers`` and ``/twilio/v2/Attempts``: the key's app's safe
numbers, its newest sends and their summary, Twilio's way."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter

from app.apps.keys import ApiKey
from app.twilio_verify.api import base_url, twilio_scope
from app.twilio_verify.forms import read_form
from app.twilio_verify.pages import AttemptsQuery, Meta, SummaryQuery, read_query
from app.twilio_verify.resources import AttemptResource, SafeListResource, Summary
from app.twilio_verify.service import TwilioVerify

__all__ = ["AttemptsController", "SafeListController"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Twilio = NamedDependency[TwilioVerify]
Caller = Request[ApiKey, str, Any]
Sid = Annotated[str, PathParameter(description="A Twilio SID.")]
VerificationSid = Annotated[str, PathParameter(description="`VE…`, or otpgate's `ver_…`.")]
PhoneNumber = Annotated[str, PathParameter(description="E.164.")]


class SafeNumber(msgspec.Struct, frozen=True, rename="pascal"):
    phone_number: str


class AttemptPage(msgspec.Struct, frozen=True):
    attempts: list[AttemptResource]
    meta: Meta


class SafeListController(Controller):
    path = "/v2/SafeList/Numbers"
    signature_types = [ApiKey, TwilioVerify]

    @post("/", guards=[twilio_scope("admin")], status_code=201)
    async def add(self, data: Form, request: Caller, twilio: Twilio) -> SafeListResource:
        number = read_form(data, SafeNumber).phone_number
        return await twilio.safelist.add(
            request.user.app, number, request.user.id, base_url(request)
        )

    @get("/{number:str}", guards=[twilio_scope("read")])
    async def fetch(self, number: PhoneNumber, request: Caller, twilio: Twilio) -> SafeListResource:
        return await twilio.safelist.fetch(request.user.app, number, base_url(request))

    @delete("/{number:str}", guards=[twilio_scope("admin")], status_code=204)
    async def remove(self, number: PhoneNumber, request: Caller, twilio: Twilio) -> None:
        await twilio.safelist.remove(request.user.app, number, request.user.id)


class AttemptsController(Controller):
    path = "/v2/Attempts"
    signature_types = [ApiKey, TwilioVerify]
    guards = [twilio_scope("read")]

    @get("/")
    async def list_attempts(self, request: Caller, twilio: Twilio) -> AttemptPage:
        raw = dict(request.query_params)
        query: AttemptsQuery = read_query(raw, AttemptsQuery)
        app = _app(request.user, query.verify_service_sid, twilio)
        filters = {k: v for k, v in raw.items() if k not in ("Page", "PageSize", "PageToken")}
        return AttemptPage(*await twilio.insights.attempts(app, query, base_url(request), filters))

    @get("/Summary")
    async def summary(self, request: Caller, twilio: Twilio) -> Summary:
        query: SummaryQuery = read_query(dict(request.query_params), SummaryQuery)
        app = _app(request.user, query.verify_service_sid, twilio)
        return await twilio.insights.summary(app, query, base_url(request))

    @get("/{sid:str}")
    async def fetch(self, sid: Sid, request: Caller, twilio: Twilio) -> AttemptResource:
        return await twilio.insights.attempt(request.user.app, sid, base_url(request))


def _app(record: ApiKey, service_sid: str | None, twilio: TwilioVerify) -> str:
    """The app whose attempts to read: ``VerifyServiceSid``'s, else the key's own."""
    return record.app if service_sid is None else twilio.services.app_of(record, service_sid)
