"""``/twilio/v2/Services``: services, verifications and checks, Twilio's way. Thin
handlers: read the form, find the service's app, call :class:`TwilioVerify`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter

from app.apps.keys import ApiKey
from app.twilio_verify.api import base_url, twilio_scope
from app.twilio_verify.forms import CheckForm, ServiceForm, StartForm, StatusForm, read_form
from app.twilio_verify.pages import Meta, PageQuery, read_query
from app.twilio_verify.resources import CheckResource, ServiceResource, VerificationResource
from app.twilio_verify.service import TwilioVerify

__all__ = ["ServicesController"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Twilio = NamedDependency[TwilioVerify]
Caller = Request[ApiKey, str, Any]
Sid = Annotated[str, PathParameter(description="A Twilio SID.")]
VerificationSid = Annotated[str, PathParameter(description="`VE…`, or otpgate's `ver_…`.")]
PhoneNumber = Annotated[str, PathParameter(description="E.164.")]
_READ = twilio_scope("verify", "read")


class ServicePage(msgspec.Struct, frozen=True):
    services: list[ServiceResource]
    meta: Meta


class ServicesController(Controller):
    path = "/v2/Services"
    signature_types = [ApiKey, TwilioVerify]

    @post("/", guards=[twilio_scope("operator")], status_code=201)
    async def create_service(self, data: Form, request: Caller, twilio: Twilio) -> ServiceResource:
        form = read_form(data, ServiceForm)
        return await twilio.services.create(request.user, form, base_url(request))

    @get("/", guards=[twilio_scope("admin")])
    async def list_services(self, request: Caller, twilio: Twilio) -> ServicePage:
        query = read_query(dict(request.query_params), PageQuery)
        return ServicePage(*twilio.services.listed(request.user, query, base_url(request)))

    @get("/{sid:str}", guards=[_READ])
    async def fetch_service(self, sid: Sid, request: Caller, twilio: Twilio) -> ServiceResource:
        app = twilio.services.app_of(request.user, sid)
        return twilio.services.resource(app, base_url(request))

    @post("/{sid:str}", guards=[twilio_scope("admin")], status_code=200)
    async def update_service(
        self, sid: Sid, data: Form, request: Caller, twilio: Twilio
    ) -> ServiceResource:
        form = read_form(data, ServiceForm)
        return await twilio.services.update(request.user, sid, form, base_url(request))

    @delete("/{sid:str}", guards=[twilio_scope("operator")], status_code=204)
    async def delete_service(self, sid: Sid, request: Caller, twilio: Twilio) -> None:
        await twilio.services.disable(request.user, sid)

    @post("/{sid:str}/Verifications", guards=[twilio_scope("verify")], status_code=201)
    async def start(
        self, sid: Sid, data: Form, request: Caller, twilio: Twilio
    ) -> VerificationResource:
        app = twilio.services.app_of(request.user, sid)
        return await twilio.verifications.start(app, read_form(data, StartForm), base_url(request))

    @get("/{sid:str}/Verifications/{verification:str}", guards=[_READ])
    async def fetch(
        self,
        sid: Sid,
        verification: VerificationSid,
        request: Caller,
        twilio: Twilio,
    ) -> VerificationResource:
        app = twilio.services.app_of(request.user, sid)
        return await twilio.verifications.fetch(app, verification, base_url(request))

    @post(
        "/{sid:str}/Verifications/{verification:str}",
        guards=[twilio_scope("verify")],
        status_code=200,
    )
    async def update(
        self,
        sid: Sid,
        verification: VerificationSid,
        data: Form,
        request: Caller,
        twilio: Twilio,
    ) -> VerificationResource:
        app, form = twilio.services.app_of(request.user, sid), read_form(data, StatusForm)
        return await twilio.verifications.update(app, verification, form, base_url(request))

    @post("/{sid:str}/VerificationCheck", guards=[twilio_scope("verify")], status_code=200)
    async def check(self, sid: Sid, data: Form, request: Caller, twilio: Twilio) -> CheckResource:
        app = twilio.services.app_of(request.user, sid)
        return await twilio.verifications.check(app, read_form(data, CheckForm))
