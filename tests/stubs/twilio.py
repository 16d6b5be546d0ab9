"""A loopback Twilio: ``Messages.json`` (SMS and WhatsApp), ``Calls.json`` and
``Balance.json`` of the 2010-04-01 REST API.

It checks HTTP Basic auth itself (the account's Auth Token, or an API key pair) and
answers with Twilio's own JSON shapes: 201 with a Message or Call resource, or an error
``{"code", "message", "more_info", "status"}``. A WhatsApp message must name a Content
template (``ContentSid``, ``ContentVariables`` a JSON object); a call's ``Twiml`` must be
well-formed TwiML (``said`` reads what its ``<Say>`` verbs say). Tests steer it through attributes:
``delay`` (seconds before answering), ``fail_status`` (answer that 5xx),
``invalid_numbers`` (answered with error 21211), and read ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def twilio_error(status: int, code: int, message: str) -> Response[Any]:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(body, status_code=status)


@dataclass
class TwilioStub:
    account_sid: str
    auth_token: str
    #: API key SID -> secret, also accepted as Basic credentials.
    api_keys: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fail_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    balance: str = "12.34"
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._app = Litestar(
            route_handlers=[
                post("/2010-04-01/Accounts/{account:str}/Messages.json")(self._messages),
                post("/2010-04-01/Accounts/{account:str}/Calls.json")(self._calls),
                get("/2010-04-01/Accounts/{account:str}/Balance.json")(self._balance),
            ],
            openapi_config=None,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    def _authenticated(self, request: Request[Any, Any, Any], account: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic" or account != self.account_sid:
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if user == self.account_sid:
            return password == self.auth_token
        return user in self.api_keys and password == self.api_keys[user]

    async def _record(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.requests.append(
            ReceivedRequest(request.method, request.url.path, dict(request.headers), form)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return form

    async def _messages(
        self, request: Request[Any, Any, Any], account: FromPath[str]
    ) -> Response[Any]:
        form = await self._record(request)
        if self.fail_status is not None:
            return Response(
                "upstream unavailable", status_code=self.fail_status, media_type="text/plain"
            )
        if not self._authenticated(request, account):
            return twilio_error(401, 20003, "Authenticate")
        to = form.get("To", "")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' is required.")
        if to.startswith("whatsapp:"):
            to = to.removeprefix("whatsapp:")
            refusal = _whatsapp_refusal(form)
            if refusal is not None:
                return refusal
        elif not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        sid = f"SM{len(self.requests):032x}"
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return Response(message, status_code=201)

    async def _calls(
        self, request: Request[Any, Any, Any], account: FromPath[str]
    ) -> Response[Any]:
        form = await self._record(request)
        if self.fail_status is not None:
            return Response("unavailable", status_code=self.fail_status, media_type="text/plain")
        if not self._authenticated(request, account):
            return twilio_error(401, 20003, "Authenticate")
        to, twiml = form.get("To", ""), form.get("Twiml", "")
        if not form.get("From"):
            return twilio_error(400, 21213, "Caller phone number is required")
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError:
            return twilio_error(400, 21229, "Twiml is not valid TwiML")
        if root.tag != "Response" or not root.findall("Say"):
            return twilio_error(400, 21229, "Twiml is not valid TwiML")
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            return twilio_error(400, 21217, f"Phone number {to} does not appear to be valid")
        sid = f"CA{len(self.requests):032x}"
        call = {"sid": sid, "account_sid": self.account_sid, "to": to,
                "from": form["From"], "status": "queued"}  # fmt: skip
        return Response(call, status_code=201)

    async def _balance(
        self, request: Request[Any, Any, Any], account: FromPath[str]
    ) -> Response[Any]:
        await self._record(request)
        if not self._authenticated(request, account):
            return twilio_error(401, 20003, "Authenticate")
        body = {"account_sid": self.account_sid, "balance": self.balance, "currency": "USD"}
        return Response(body, status_code=200)


def _whatsapp_refusal(form: dict[str, str]) -> Response[Any] | None:
    """Twilio's answer to a WhatsApp message that is not a Content template, if it is not."""
    if not form.get("From", "whatsapp:").startswith("whatsapp:"):
        return twilio_error(400, 63007, "Twilio could not find a Channel with the From address")
    if not form.get("ContentSid", "").startswith("HX"):
        return twilio_error(400, 63016, "Failed to send freeform message outside the window")
    try:
        variables = json.loads(form.get("ContentVariables", "{}"))
    except ValueError:
        variables = None
    if not isinstance(variables, dict):
        return twilio_error(400, 21656, "The ContentVariables Parameter is invalid")
    return None


def said(twiml: str) -> list[str]:
    """What each ``<Say>`` of a TwiML document says, in order."""
    return [say.text or "" for say in ET.fromstring(twiml).iter("Say")]
