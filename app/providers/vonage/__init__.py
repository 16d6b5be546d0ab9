"""Vonage (Nexmo): SMS through the SMS API's ``/sms/json`` (signed or with the API
secret), WhatsApp templates through the Messages API, SMS delivery receipts and inbound
messages (signed when the account has a signature secret), and the account balance."""

from __future__ import annotations

from app.providers.adapter import Adapter, BalanceApi, ChannelSend, Inbound, Reports
from app.providers.base import Balance
from app.providers.vonage import inbound
from app.providers.vonage.balance import build_balance_request, parse_balance
from app.providers.vonage.config import SignatureMethod, VonageConfig
from app.providers.vonage.reports import REPLY, parse, signs, verify
from app.providers.vonage.sending import build_request, parse_response
from app.providers.vonage.signing import signature, string_to_sign
from app.providers.vonage.whatsapp import build_whatsapp_request, parse_whatsapp_response

__all__ = [
    "ADAPTER",
    "Balance",
    "SignatureMethod",
    "VonageConfig",
    "build_balance_request",
    "build_request",
    "build_whatsapp_request",
    "create",
    "parse_balance",
    "parse_response",
    "parse_whatsapp_response",
    "signature",
    "string_to_sign",
]

ADAPTER = Adapter(
    type="vonage",
    config=VonageConfig,
    build_request=build_request,
    parse_response=parse_response,
    more_channels={
        "whatsapp": ChannelSend(
            build_request=build_whatsapp_request, parse_response=parse_whatsapp_response
        )
    },
    reports=Reports(parse=parse, reply=REPLY, verify=verify, signs=signs),
    inbound=Inbound(parse=inbound.parse, reply=inbound.REPLY, verify=verify, signs=signs),
    balance=BalanceApi(build=build_balance_request, parse=parse_balance),
)
create = ADAPTER.create
