"""A loopback stand-in for Cloopen's (Ronglian's) REST API: TemplateSMS and AccountInfo.

It checks each request the way Cloopen does, with its own code (not the adapter's):
the ``Authorization`` header must be Base64 of ``<accountSid>:<yyyyMMddHHmmss>``, that
timestamp no more than 24 h old, and ``sig`` the uppercase MD5 of sid + token +
timestamp. It answers with Cloopen's JSON shapes and status codes (HTTP 200 for
business errors). Tests steer it through attributes:

- ``delay``: seconds to wait before answering;
- ``fail_with_status``: answer with this HTTP status (e.g. 503) and an HTML page;
- ``invalid_numbers``: recipients refused with ``160042`` 号码格式有误 (so is any
  ``to`` that is neither 11 mainland digits nor ``00``-prefixed);
- ``out_of_balance``: refuse sends with ``111142`` 主账户余额不足;
- ``balance``: what ``AccountInfo`` reports.

A wrong auth token (in the adapter's config) is refused with ``111109`` Sig校验失败.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from litestar import Litestar, Request, Response, get, post

ACCOUNT_SID = "8aaf0708abcdef0123456789abcdef01"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
APP_ID = "8a216da8000000000000000000000a99"

_BEIJING = timezone(timedelta(hours=8))
_TIMESTAMP = re.compile(r"\d{14}")
_RECIPIENT = re.compile(r"1\d{10}|00[1-9]\d{6,14}")
_PREFIX = "/2013-12-26/Accounts/{account_sid:str}"


@dataclass
class Received:
    """One request as the stub saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class CloopenStub:
    """The fake Cloopen; ``app`` is what :func:`tests.stubs.loopback.serve` runs."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    app_id: str = APP_ID
    delay: float = 0.0
    fail_with_status: int | None = None
    invalid_numbers: set[str] = field(default_factory=set)
    out_of_balance: bool = False
    balance: str = "128.50"
    received: list[Received] = field(default_factory=list)

    @property
    def app(self) -> Litestar:
        @post(_PREFIX + "/SMS/TemplateSMS", status_code=200)
        async def template_sms(request: Request) -> Response[Any]:
            return await self._answer(request, self._send)

        @get(_PREFIX + "/AccountInfo")
        async def account_info(request: Request) -> Response[Any]:
            return await self._answer(request, self._account_info)

        return Litestar([template_sms, account_info])

    async def _answer(
        self, request: Request, handle: Callable[[Any], Response[Any]]
    ) -> Response[Any]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.received.append(
            Received(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                body=body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with_status is not None:
            return Response(
                "<html><body>502 Bad Gateway</body></html>",
                status_code=self.fail_with_status,
                media_type="text/html",
            )
        refusal = self._authenticate(request, request.path_params["account_sid"])
        if refusal is not None:
            return _status(*refusal)
        return handle(body)

    def _authenticate(self, request: Request, account_sid: str) -> tuple[str, str] | None:
        header = request.headers.get("authorization")
        if not header:
            return "111101", "请求包头Authorization参数为空"
        try:
            decoded = base64.b64decode(header, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "111102", "请求包头Authorization参数Base64解码失败"
        sid, colon, stamp = decoded.partition(":")
        if not colon:
            return "111103", "请求包头Authorization参数解码后格式有误"
        if sid != account_sid:
            return "111107", "请求包头Authorization参数中账户ID跟请求地址中的账户ID不一致"
        if not _TIMESTAMP.fullmatch(stamp):
            return "111113", "请求包头Authorization参数中时间戳格式有误"
        sent_at = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=_BEIJING)
        if abs(datetime.now(UTC) - sent_at) > timedelta(hours=24):
            return "111106", "请求包头Authorization参数解码后时间戳过期"
        if account_sid != self.account_sid:
            return "111141", "主账户不存在"
        given = request.query_params.get("sig")
        if not given:
            return "111108", "请求地址Sig参数为空"
        expected = hashlib.md5(f"{self.account_sid}{self.auth_token}{stamp}".encode())
        if given != expected.hexdigest().upper():
            return "111109", "请求地址Sig校验失败"
        return None

    def _send(self, body: Any) -> Response[Any]:
        if not isinstance(body, dict) or not {"to", "appId", "templateId"} <= body.keys():
            return _status("160031", "参数解析失败")
        if body["appId"] != self.app_id:
            return _status("111181", "应用不存在")
        if self.out_of_balance:
            return _status("111142", "主账户余额不足")
        to = body["to"]
        if to in self.invalid_numbers or not _RECIPIENT.fullmatch(to):
            return _status("160042", "号码格式有误")
        created = datetime.now(_BEIJING).strftime("%Y%m%d%H%M%S")
        return Response(
            {
                "statusCode": "000000",
                "templateSMS": {"dateCreated": created, "smsMessageSid": uuid.uuid4().hex},
            }
        )

    def _account_info(self, body: Any) -> Response[Any]:
        return Response(
            {
                "statusCode": "000000",
                "Account": {
                    "friendlyName": "otpgate-test",
                    "type": "0",
                    "status": "1",
                    "balance": self.balance,
                },
            }
        )


def _status(code: str, message: str) -> Response[Any]:
    return Response({"statusCode": code, "statusMsg": message})
