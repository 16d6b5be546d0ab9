"""A loopback in-house SMS gateway speaking the ``http`` provider's contract.

It checks ``Otpgate-Signature`` with its own code (not the adapter's): exactly one
``t``, at least one ``v1``, ``t`` within 5 minutes of now, and some ``v1`` equal to the
hex HMAC-SHA256 of ``"<t>.<raw body>"`` under its secret. A repeated
``Idempotency-Key`` gets the first answer's id back, as the contract asks. Tests steer
it through attributes:

- ``delay``: seconds to wait before answering;
- ``hold``: an event; until it is set, every request (counted in ``received`` first)
  waits without an answer, like a gateway that hangs while the caller dies;
- ``fail_with_status``: answer with this status (e.g. 503) and a JSON error;
- ``invalid_numbers``: recipients refused with 422 ``invalid_number`` / ``permanent``;
- ``out_of_credit``: refuse with 402 ``no_credit`` / ``account``.

A request signed with another secret is refused with 401 ``bad_signature`` /
``account``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post

SECRET = "whsec_test_not_a_real_secret"
PATH = "/v1/messages"
_TOLERANCE_SECONDS = 300


@dataclass
class Received:
    """One request as the stub saw it."""

    headers: dict[str, str]
    raw: bytes
    body: Any


@dataclass
class HttpGatewayStub:
    """The fake gateway; ``app`` is what :func:`tests.stubs.loopback.serve` runs."""

    secret: str = SECRET
    delay: float = 0.0
    hold: threading.Event | None = None
    fail_with_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    out_of_credit: bool = False
    received: list[Received] = field(default_factory=list)
    ids_by_key: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> Litestar:
        @post(PATH)
        async def send(request: Request) -> Response[Any]:
            return await self._answer(request)

        return Litestar([send])

    async def _answer(self, request: Request) -> Response[Any]:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.received.append(Received(headers=dict(request.headers), raw=raw, body=body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold is not None:  # set from the test's thread
            await asyncio.to_thread(self.hold.wait)
        if self.fail_with_status is not None:
            return _error(self.fail_with_status, "unavailable", None, "the gateway is down")
        if not self._signed(request.headers.get("otpgate-signature", ""), raw):
            return _error(401, "bad_signature", "account", "signature does not verify")
        if not isinstance(body, dict) or not {"id", "to", "text"} <= body.keys():
            return _error(400, "bad_request", "permanent", "id, to and text are required")
        key = request.headers.get("idempotency-key")
        if key in self.ids_by_key:
            return Response({"id": self.ids_by_key[key]}, status_code=200)
        if self.out_of_credit:
            return _error(402, "no_credit", "account", "the gateway's credit is exhausted")
        if body["to"] in self.invalid_numbers:
            return _error(422, "invalid_number", "permanent", "not a mobile number")
        gateway_id = "gw_" + uuid.uuid4().hex
        if key:
            self.ids_by_key[key] = gateway_id
        return Response({"id": gateway_id}, status_code=202)

    def _signed(self, header: str, raw: bytes) -> bool:
        fields: dict[str, list[str]] = {}
        for part in header.split(","):
            name, _, value = part.partition("=")
            fields.setdefault(name.strip(), []).append(value)
        stamps, signatures = fields.get("t", []), fields.get("v1", [])
        if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
            return False
        if abs(time.time() - int(stamps[0])) > _TOLERANCE_SECONDS:
            return False
        mac = hmac.new(self.secret.encode(), stamps[0].encode() + b"." + raw, hashlib.sha256)
        expected = mac.hexdigest().encode()
        return any(hmac.compare_digest(expected, given.encode()) for given in signatures)


def _error(status: int, code: str, kind: str | None, message: str) -> Response[Any]:
    error = {"code": code, "message": message} | ({"kind": kind} if kind else {})
    return Response({"error": error}, status_code=status)
