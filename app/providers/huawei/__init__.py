"""Huawei Cloud Message & SMS (MSGSMS): template SMS through ``batchSendSms``, signed by
X-WSSE or AK/SK, and its status reports (signed, when the console says so); no balance
call."""

from __future__ import annotations

from app.providers.adapter import Adapter, Reports
from app.providers.huawei.config import HuaweiConfig
from app.providers.huawei.reports import REPLY, parse, signs, verify
from app.providers.huawei.sending import build_request, classify_error, parse_response
from app.providers.huawei.signing import (
    AKSK_ALGORITHM,
    UNSIGNED_PAYLOAD,
    WSSE_AUTHORIZATION,
    aksk_authorization,
    aksk_signature,
    aksk_string_to_sign,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    signed_header_names,
    wsse_headers,
    wsse_password_digest,
)

__all__ = [
    "ADAPTER",
    "AKSK_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "WSSE_AUTHORIZATION",
    "HuaweiConfig",
    "aksk_authorization",
    "aksk_signature",
    "aksk_string_to_sign",
    "build_request",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "classify_error",
    "create",
    "parse_response",
    "signed_header_names",
    "wsse_headers",
    "wsse_password_digest",
]

ADAPTER = Adapter(
    type="huawei",
    config=HuaweiConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY, verify=verify, signs=signs),
)
create = ADAPTER.create
