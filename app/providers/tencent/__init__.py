"""Tencent Cloud SMS (``SendSms``, API version 2021-01-11, signed with TC3-HMAC-SHA256),
its status callbacks, its reply callbacks and its template review (``AddSmsTemplate``,
``DescribeSmsTemplateList``); the SMS API has no balance call."""

from __future__ import annotations

from app.providers.adapter import Adapter, Inbound, Reports
from app.providers.tencent import inbound
from app.providers.tencent.config import TencentConfig
from app.providers.tencent.reports import REPLY, parse
from app.providers.tencent.sending import build_request, classify_error, parse_response
from app.providers.tencent.signing import (
    tc3_authorization,
    tc3_canonical_request,
    tc3_credential_scope,
    tc3_signature,
    tc3_signing_key,
    tc3_string_to_sign,
)
from app.providers.tencent.templates import REVIEW

__all__ = [
    "ADAPTER",
    "TencentConfig",
    "build_request",
    "classify_error",
    "create",
    "parse_response",
    "tc3_authorization",
    "tc3_canonical_request",
    "tc3_credential_scope",
    "tc3_signature",
    "tc3_signing_key",
    "tc3_string_to_sign",
]

ADAPTER = Adapter(
    type="tencent",
    config=TencentConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY),
    review=REVIEW,
    inbound=Inbound(parse=inbound.parse, reply=inbound.REPLY),
)
create = ADAPTER.create
