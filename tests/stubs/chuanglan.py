"""A loopback Chuanglan 253: the classic JSON API of both products.

Domestic ``/msg/send/json`` and ``/msg/balance/json``, international ``/send/json`` and
``/balance/json``. The classic API has no signature, so the stub checks the account and
password in the body against its own (unknown account: 101, wrong password: 102) and
answers with HTTP 200 and 253's shapes: ``{"code", "msgId", "time", "errorMsg"}`` at
home, ``{"code", "msgid", "error"}`` abroad. Tests steer it through attributes:
``delay`` (seconds before answering), ``fail_status`` (answer that 5xx),
``invalid_numbers`` (refused as 107 at home, 108 abroad), and read ``requests``.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, post

MAINLAND_MOBILE = re.compile(r"1\d{10}")
INTERNATIONAL_MOBILE = re.compile(r"[1-9]\d{4,19}")


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


@dataclass
class ChuanglanStub:
    account: str
    password: str
    delay: float = 0.0
    fail_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    balance: str = "1000"
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._app = Litestar(
            route_handlers=[
                post("/msg/send/json")(self._domestic_send),
                post("/msg/balance/json")(self._domestic_balance),
                post("/send/json")(self._international_send),
                post("/balance/json")(self._international_balance),
            ],
            openapi_config=None,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    async def _receive(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = msgspec.json.decode(raw, type=dict[str, Any])
        except msgspec.DecodeError:
            body = {}
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(ReceivedRequest(request.url.path, headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        return body

    def _credentials_error(self, body: dict[str, Any]) -> tuple[str, str] | None:
        if not hmac.compare_digest(str(body.get("account", "")), self.account):
            return "101", "无此用户"
        if not hmac.compare_digest(str(body.get("password", "")), self.password):
            return "102", "密码错"
        return None

    def _unavailable(self) -> Response[Any] | None:
        if self.fail_status is None:
            return None
        return Response("502 Bad Gateway", status_code=self.fail_status, media_type="text/plain")

    async def _domestic_send(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await self._receive(request)
        if (unavailable := self._unavailable()) is not None:
            return unavailable

        def answer(code: str, error: str = "", msg_id: str = "") -> Response[Any]:
            reply = {"code": code, "msgId": msg_id, "time": now_stamp(), "errorMsg": error}
            return Response(reply, status_code=200)

        if refused := self._credentials_error(body):
            return answer(*refused)
        phone = str(body.get("phone", ""))
        if not MAINLAND_MOBILE.fullmatch(phone) or phone in self.invalid_numbers:
            return answer("107", "包含错误的手机号码")
        if not body.get("msg"):
            return answer("106", "消息长度错")
        return answer("0", msg_id=f"{now_stamp()}{len(self.requests):05d}")

    async def _international_send(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await self._receive(request)
        if (unavailable := self._unavailable()) is not None:
            return unavailable

        def answer(code: str, error: str = "", msgid: str = "") -> Response[Any]:
            return Response({"code": code, "error": error, "msgid": msgid}, status_code=200)

        if refused := self._credentials_error(body):
            return answer(*refused)
        mobile = str(body.get("mobile", ""))
        if not INTERNATIONAL_MOBILE.fullmatch(mobile) or mobile in self.invalid_numbers:
            return answer("108", "手机号码格式错误")
        if not body.get("msg"):
            return answer("123", "短信内容不能为空")
        return answer("0", msgid=f"{now_stamp()}{len(self.requests):05d}")

    async def _domestic_balance(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await self._receive(request)
        code, error = self._credentials_error(body) or ("0", "")
        balance = self.balance if code == "0" else ""
        reply = {"code": code, "balance": balance, "time": now_stamp(), "errorMsg": error}
        return Response(reply, status_code=200)

    async def _international_balance(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await self._receive(request)
        code, error = self._credentials_error(body) or ("0", "")
        balance = self.balance if code == "0" else ""
        return Response({"code": code, "error": error, "balance": balance}, status_code=200)
