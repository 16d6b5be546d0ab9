"""Twilio Programmable Messaging: sending through the 2010-04-01 REST API, status
callbacks and incoming messages checked by ``X-Twilio-Signature``, and the account
balance."""

from __future__ import annotations

from app.providers.base import Adapter, Balance, BalanceApi, Inbound, Reports
from app.providers.twilio import inbound
from app.providers.twilio.balance import build_balance_request, parse_balance
from app.providers.twilio.config import TwilioConfig
from app.providers.twilio.reports import REPLY, parse, verify
from app.providers.twilio.sending import build_request, parse_response
from app.providers.twilio.signing import twilio_body_hash, twilio_signature

__all__ = [
    "ADAPTER",
    "Balance",
    "TwilioConfig",
    "build_balance_request",
    "build_request",
    "create",
    "parse_balance",
    "parse_response",
    "twilio_body_hash",
    "twilio_signature",
]

ADAPTER = Adapter(
    type="twilio",
    config=TwilioConfig,
    build_request=build_request,
    parse_response=parse_response,
    reports=Reports(parse=parse, reply=REPLY, verify=verify),
    inbound=Inbound(parse=inbound.parse, reply=inbound.REPLY, verify=verify),
    balance=BalanceApi(build=build_balance_request, parse=parse_balance),
)
create = ADAPTER.create
