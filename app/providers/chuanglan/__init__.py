"""Chuanglan 253 (创蓝): sending through the classic JSON SMS API (domestic or
international), status reports to the account's pushUrl, and the account balance."""

from __future__ import annotations

from app.providers.adapter import Adapter, BalanceApi, Reports
from app.providers.base import Balance
from app.providers.chuanglan.balance import build_balance_request, parse_balance
from app.providers.chuanglan.config import ChuanglanConfig
from app.providers.chuanglan.reports import REPLY, parse
from app.providers.chuanglan.sending import (
    UnsupportedNumberError,
    build_request,
    classify_error,
    message_text,
    parse_international_response,
    parse_response,
    phone_number,
    response_parser,
)

__all__ = [
    "ADAPTER",
    "Balance",
    "ChuanglanConfig",
    "UnsupportedNumberError",
    "build_balance_request",
    "build_request",
    "classify_error",
    "create",
    "message_text",
    "parse_balance",
    "parse_international_response",
    "parse_response",
    "phone_number",
]

ADAPTER = Adapter(
    type="chuanglan",
    config=ChuanglanConfig,
    build_request=build_request,
    parse_response=parse_response,
    parse_response_for=response_parser,
    reports=Reports(parse=parse, reply=REPLY),
    balance=BalanceApi(build=build_balance_request, parse=parse_balance),
)
create = ADAPTER.create
