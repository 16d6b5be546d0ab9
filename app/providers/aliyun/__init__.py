"""Alibaba Cloud SMS (Dysmsapi ``SendSms``, API version 2017-05-25), its ``SmsReport``
delivery reports, ``SmsUp`` inbound messages and its template review (``AddSmsTemplate``,
``QuerySmsTemplate``); Alibaba has no balance API for SMS."""

from __future__ import annotations

from app.providers.adapter import Adapter, Inbound, Reports
from app.providers.aliyun import inbound
from app.providers.aliyun.config import AliyunConfig
from app.providers.aliyun.reports import REPLY, parse
from app.providers.aliyun.sending import (
    build_request,
    classify_error,
    parse_response,
    phone_number,
)
from app.providers.aliyun.signing import (
    acs3_authorization,
    acs3_canonical_request,
    acs3_signature,
    acs3_string_to_sign,
    percent_encode,
    rpc_signature,
    rpc_string_to_sign,
)
from app.providers.aliyun.templates import REVIEW

__all__ = [
    "ADAPTER",
    "AliyunConfig",
    "acs3_authorization",
    "acs3_canonical_request",
    "acs3_signature",
    "acs3_string_to_sign",
    "build_request",
    "classify_error",
    "create",
    "parse_response",
    "percent_encode",
    "phone_number",
    "rpc_signature",
    "rpc_string_to_sign",
]

ADAPTER = Adapter(
    type="aliyun",
    config=AliyunConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY),
    review=REVIEW,
    inbound=Inbound(parse=inbound.parse, reply=inbound.REPLY),
)
create = ADAPTER.create
