"""The ``/twilio`` router: the Twilio-compatible controllers under Twilio's error shape.

Left out of otpgate's ``openapi.json`` on purpose: its contract is Twilio's own
published document (``twilio_verify_v2.json``), whose clients are Twilio's SDKs, and its
errors are Twilio's bodies, not otpgate's problem+json.
"""

from __future__ import annotations

from litestar import Router

from app.twilio_verify.api import PREFIX, exception_handlers
from app.twilio_verify.lists_api import AttemptsController, SafeListController
from app.twilio_verify.services_api import ServicesController

__all__ = ["twilio_router"]


def twilio_router() -> Router:
    return Router(
        path=PREFIX,
        route_handlers=[ServicesController, SafeListController, AttemptsController],
        exception_handlers=exception_handlers(),
        include_in_schema=False,
    )
