"""A loopback Vonage: the SMS API's ``POST /sms/json``, the Messages API's
``POST /v1/messages`` (WhatsApp templates, HTTP Basic auth) and ``GET
/account/get-balance``.

It authenticates sends as Vonage does: ``api_key`` with ``api_secret``, or a signed
request (``timestamp`` + ``sig``, the configured ``signature_method``), and answers
HTTP 200 with ``{"message-count", "messages": [...]}`` whose ``status`` is ``"0"`` or
an error code. Tests steer it through attributes: ``delay`` (seconds before
answering), ``fail_status`` (answer that 5xx), ``invalid_numbers`` (answered with
status 6, unroutable), and read ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, get, post

SIGNATURE_MAX_AGE = 300  # seconds a signed request's timestamp may be off


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def sms_answer(*messages: dict[str, str]) -> Response[Any]:
    """Vonage's answer shape, HTTP 200 whatever the outcome."""
    return Response(
        {"message-count": str(len(messages)), "messages": list(messages)}, status_code=200
    )


def rejected(status: str, error_text: str) -> Response[Any]:
    return sms_answer({"status": status, "error-text": error_text})


def expected_sig(form: dict[str, str], secret: str, method: str) -> str:
    """Vonage's ``sig``, computed here from the signing rules (not the adapter's code)."""
    pieces = []
    for name in sorted(form):
        if name == "sig":
            continue
        value = form[name]
        for reserved in "&=":
            value = value.replace(reserved, "_")
        pieces.append("&" + name + "=" + value)
    signed = "".join(pieces).encode()
    if method == "md5hash":
        return hashlib.md5(signed + secret.encode()).hexdigest()
    return hmac.new(secret.encode(), signed, getattr(hashlib, method)).hexdigest()


@dataclass
class VonageStub:
    api_key: str
    api_secret: str
    signature_secret: str | None = None
    signature_method: str = "md5hash"
    delay: float = 0.0
    fail_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    balance: float = 10.28
    requests: list[ReceivedRequest] = field(default_factory=list)
    #: the Messages API's JSON bodies, as received
    messages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._app = Litestar(
            route_handlers=[
                post("/sms/json", status_code=200)(self._send),
                post("/v1/messages", status_code=202)(self._message),
                get("/account/get-balance")(self._balance),
            ],
            openapi_config=None,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    async def _record(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.requests.append(
            ReceivedRequest(request.method, request.url.path, dict(request.headers), form)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return form

    def _auth_failure(self, form: dict[str, str]) -> Response[Any] | None:
        if form.get("api_key") != self.api_key:
            return rejected("4", "Bad Credentials")
        if "sig" not in form:
            if form.get("api_secret") != self.api_secret:
                return rejected("4", "Bad Credentials")
            return None
        if "api_secret" in form:
            return rejected("32", "Signature And API Secret Disallowed")
        if self.signature_secret is None:
            return rejected("14", "Invalid Signature")
        timestamp = form.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE:
            return rejected("14", "Invalid Signature")
        wanted = expected_sig(form, self.signature_secret, self.signature_method)
        if not hmac.compare_digest(form["sig"].lower(), wanted):
            return rejected("14", "Invalid Signature")
        return None

    async def _send(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await self._record(request)
        if self.fail_status is not None:
            return Response(
                "upstream unavailable", status_code=self.fail_status, media_type="text/plain"
            )
        if failure := self._auth_failure(form):
            return failure
        for required in ("from", "to", "text"):
            if not form.get(required):
                return rejected("2", f"Missing {required} param")
        to = form["to"]
        if not (to.isdigit() and 7 <= len(to) <= 15):
            return rejected("3", "Invalid to address")
        if to in self.invalid_numbers:
            return rejected("6", "Unroutable message - rejected")
        message = {
            "to": to,
            "message-id": f"{len(self.requests):016X}",
            "status": "0",
            "remaining-balance": "3.14159265",
            "message-price": "0.03330000",
            "network": "23410",
        }
        if "client-ref" in form:
            message["client-ref"] = form["client-ref"]
        return sms_answer(message)

    def _basic_ok(self, request: Request[Any, Any, Any]) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            credentials = base64.b64decode(encoded).decode()
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
        return scheme == "Basic" and credentials == f"{self.api_key}:{self.api_secret}"

    async def _message(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The Messages API: a WhatsApp template, or an RFC 7807 problem."""
        body = await request.body()
        self.requests.append(
            ReceivedRequest(request.method, request.url.path, dict(request.headers), {})
        )
        self.messages.append(json.loads(body or b"{}"))
        if self.fail_status is not None:
            return Response("unavailable", status_code=self.fail_status, media_type="text/plain")
        if not self._basic_ok(request):
            return _problem(401, "unauthorized", "Unauthorized", "Invalid credentials")
        sent = self.messages[-1]
        template = sent.get("template") or {}
        well_formed = (
            sent.get("message_type") == "template" and sent.get("channel") == "whatsapp"
            and str(sent.get("to", "")).isdigit() and str(sent.get("from", "")).isdigit()
            and template.get("name") and isinstance(template.get("parameters"), list)
            and (sent.get("whatsapp") or {}).get("locale")
        )  # fmt: skip
        if not well_formed:
            return _problem(422, "messages-olympus#1020", "Invalid params", "not a template")
        if sent["to"] in self.invalid_numbers:
            return _problem(422, "messages-olympus#1150", "Invalid recipient", "no WhatsApp")
        return Response({"message_uuid": str(uuid.uuid4())}, status_code=202)

    async def _balance(self, request: Request[Any, Any, Any]) -> Response[Any]:
        await self._record(request)
        if not self._basic_ok(request):
            return Response(
                {"error-code": "401", "error-code-label": "auth failed"}, status_code=401
            )
        return Response({"value": self.balance, "autoReload": False}, status_code=200)


def _problem(status: int, kind: str, title: str, detail: str) -> Response[Any]:
    body = {"type": f"https://developer.vonage.com/api-errors/{kind}", "title": title,
            "detail": detail, "instance": str(uuid.uuid4())}  # fmt: skip
    return Response(body, status_code=status, media_type="application/problem+json")
