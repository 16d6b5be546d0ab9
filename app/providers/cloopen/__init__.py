"""Cloopen / Ronglian (容联云通讯): template SMS through REST API 2013-12-26, its
``SMSArrived`` status pushes (JSON or XML), and the main account's balance."""

from __future__ import annotations

from app.providers.adapter import Adapter, BalanceApi, Reports
from app.providers.base import Balance
from app.providers.cloopen.balance import build_balance_request, parse_balance
from app.providers.cloopen.config import CloopenConfig
from app.providers.cloopen.reports import REPLY, parse
from app.providers.cloopen.sending import build_request, parse_response, recipient
from app.providers.cloopen.signing import authorization, beijing_timestamp, sig

__all__ = [
    "ADAPTER",
    "Balance",
    "CloopenConfig",
    "authorization",
    "beijing_timestamp",
    "build_balance_request",
    "build_request",
    "create",
    "parse_balance",
    "parse_response",
    "recipient",
    "sig",
]

ADAPTER = Adapter(
    type="cloopen",
    config=CloopenConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY),
    balance=BalanceApi(build=build_balance_request, parse=parse_balance),
)
create = ADAPTER.create
