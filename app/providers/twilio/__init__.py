"""Twilio: SMS and WhatsApp templates through Programmable Messaging, calls that read the
code through the Calls API (all the 2010-04-01 REST API), status callbacks and incoming
messages checked by ``X-Twilio-Signature``, and the account balance."""

from __future__ import annotations

from app.providers.adapter import Adapter, BalanceApi, ChannelSend, Inbound, Reports
from app.providers.base import Balance
from app.providers.twilio import inbound
from app.providers.twilio.balance import build_balance_request, parse_balance
from app.providers.twilio.config import TwilioConfig
from app.providers.twilio.reports import REPLY, parse, verify
from app.providers.twilio.sending import build_request, parse_response
from app.providers.twilio.signing import twilio_body_hash, twilio_signature
from app.providers.twilio.voice import build_call_request, say_language, twiml
from app.providers.twilio.whatsapp import build_whatsapp_request

__all__ = [
    "ADAPTER",
    "Balance",
    "TwilioConfig",
    "build_balance_request",
    "build_call_request",
    "build_request",
    "build_whatsapp_request",
    "create",
    "parse_balance",
    "parse_response",
    "say_language",
    "twilio_body_hash",
    "twilio_signature",
    "twiml",
]

ADAPTER = Adapter(
    type="twilio",
    config=TwilioConfig,
    build_request=build_request,
    parse_response=parse_response,
    more_channels={
        "voice": ChannelSend(build_request=build_call_request, parse_response=parse_response),
        "whatsapp": ChannelSend(
            build_request=build_whatsapp_request, parse_response=parse_response
        ),
    },
    reports=Reports(parse=parse, reply=REPLY, verify=verify),
    inbound=Inbound(parse=inbound.parse, reply=inbound.REPLY, verify=verify),
    balance=BalanceApi(build=build_balance_request, parse=parse_balance),
)
create = ADAPTER.create
