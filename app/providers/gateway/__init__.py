"""The ``http`` provider: an in-house SMS gateway that speaks otpgate's own contract for
sends and delivery reports, both signed with ``Otpgate-Signature`` (``app.signatures``).

The package is ``gateway`` so that its name is not ``http`` or ``httpx``; its accounts'
``type`` stays ``http``.
"""

from __future__ import annotations

from app.providers.adapter import Adapter, Reports
from app.providers.gateway.config import HttpGatewayConfig
from app.providers.gateway.reports import REPLY, parse, verify
from app.providers.gateway.sending import build_request, parse_response
from app.signatures import SIGNATURE_HEADER, sign, signature_header, verify_signature

__all__ = [
    "ADAPTER",
    "SIGNATURE_HEADER",
    "HttpGatewayConfig",
    "build_request",
    "create",
    "parse_response",
    "sign",
    "signature_header",
    "verify_signature",
]

ADAPTER = Adapter(
    type="http",
    config=HttpGatewayConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY, verify=verify),
)
create = ADAPTER.create
