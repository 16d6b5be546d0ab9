"""A loopback Huawei Message & SMS: ``POST /sms/batchSendSms/v1``.

It authenticates requests itself, from Huawei's rules (not with the adapter's code):

* X-WSSE: ``Authorization: WSSE realm="SDP",profile="UsernameToken",type="Appkey"`` and
  ``PasswordDigest == Base64(hex(SHA-256(Nonce + Created + app_secret)))``, ``Created``
  within 24 hours;
* SDK-HMAC-SHA256: the signature recomputed over the headers the request lists as
  signed, the path and query it arrived with and ``X-Sdk-Content-Sha256`` (or the
  body's SHA-256); ``X-Sdk-Date`` within 15 minutes.

It answers in Huawei's shapes: ``{"code": "000000", "result": [{..., "smsMsgId",
"status": "000000"}]}``, or an HTTP error with ``{"code": "E…", "description"}``.
Tests steer it through attributes: ``delay`` (seconds before answering),
``fail_status`` (answer that 5xx), ``invalid_numbers`` (refused with ``E000503``, as a
number that is not one is), and read ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from litestar import Litestar, Request, Response, post

WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
AKSK = re.compile(
    r"SDK-HMAC-SHA256 Access=(?P<access>[^,]+), SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
WSSE_FIELD = re.compile(r'(\w+)="([^"]*)"')
# Only digits and '+' may appear in `to`; anything else refuses the whole request.
NUMBER = re.compile(r"\+\d{1,20}")


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


class Refusal(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(code)
        self.response = Response({"code": code, "description": description}, status_code=status)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class HuaweiStub:
    app_key: str
    app_secret: str
    delay: float = 0.0
    fail_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._app = Litestar(
            route_handlers=[post("/sms/batchSendSms/v1")(self._batch_send_sms)],
            openapi_config=None,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    def _check_wsse(self, headers: dict[str, str]) -> None:
        if headers.get("authorization") != WSSE_AUTHORIZATION:
            raise Refusal(401, "E000004", "The value of realm in Authorization must be SDP.")
        token = headers.get("x-wsse", "")
        if not token.startswith("UsernameToken "):
            raise Refusal(401, "E000020", "X-WSSE is not contained in the HTTP header.")
        fields = dict(WSSE_FIELD.findall(token))
        for name, code in (("Username", "E000021"), ("Nonce", "E000022"), ("Created", "E000023")):
            if name not in fields:
                raise Refusal(401, code, f"{name} is not contained in X-WSSE.")
        if fields["Username"] != self.app_key:
            raise Refusal(401, "E000102", "Invalid app_key.")
        created = datetime.strptime(fields["Created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - created) > timedelta(hours=24):
            raise Refusal(401, "E000110", "The time is out of range.")
        hex_digest = sha256_hex((fields["Nonce"] + fields["Created"] + self.app_secret).encode())
        expected = base64.b64encode(hex_digest.encode()).decode()
        if not hmac.compare_digest(fields.get("PasswordDigest", ""), expected):
            raise Refusal(401, "E000101", "Authentication failed.")

    def _check_aksk(self, request: Request[Any, Any, Any], body: bytes) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        match = AKSK.fullmatch(headers.get("authorization", ""))
        if match is None:
            raise Refusal(401, "E000001", "Authorization is not contained in the HTTP header.")
        if match["access"] != self.app_key:
            raise Refusal(401, "E000102", "Invalid app_key.")
        sdk_date = headers.get("x-sdk-date", "")
        signed = match["signed"].split(";")
        if "x-sdk-date" not in signed or any(name not in headers for name in signed):
            raise Refusal(401, "E000101", "Authentication failed.")
        signed_at = datetime.strptime(sdk_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - signed_at) > timedelta(minutes=15):
            raise Refusal(401, "E000110", "The time is out of range.")
        segments = unquote(request.url.path).split("/")
        uri = "/".join(quote(segment, safe="~") for segment in segments).rstrip("/") + "/"
        pairs = sorted(parse_qsl(request.url.query, keep_blank_values=True))
        query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
        header_block = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
        payload_hash = headers.get("x-sdk-content-sha256") or sha256_hex(body)
        canonical = "\n".join(
            [request.method, uri, query, header_block, ";".join(signed), payload_hash]
        )
        to_sign = f"SDK-HMAC-SHA256\n{sdk_date}\n{sha256_hex(canonical.encode())}"
        key = self.app_secret.encode()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(match["signature"], expected):
            raise Refusal(401, "E000101", "Authentication failed.")

    async def _batch_send_sms(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        self.requests.append(ReceivedRequest(request.method, request.url.path, headers, form))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_status is not None:
            return Response(
                {"code": "E000000", "description": "System error."},
                status_code=self.fail_status,
            )
        try:
            if headers.get("authorization", "").startswith("SDK-HMAC-SHA256"):
                self._check_aksk(request, body)
            else:
                self._check_wsse(headers)
            return self._send(form)
        except Refusal as refusal:
            return refusal.response

    def _send(self, form: dict[str, str]) -> Response[Any]:
        to = form.get("to", "")
        if not form.get("from") or not form.get("templateId"):
            raise Refusal(400, "E000503", "Parameter format error.")
        if not NUMBER.fullmatch(to) or to in self.invalid_numbers:
            raise Refusal(400, "E000503", "Parameter format error.")
        number = {
            "originTo": to,
            "createTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "from": form["from"],
            "smsMsgId": f"{uuid.UUID(int=len(self.requests))}_{len(self.requests)}",
            "status": "000000",
        }
        reply = {"code": "000000", "description": "Success", "result": [number]}
        return Response(reply, status_code=200)
