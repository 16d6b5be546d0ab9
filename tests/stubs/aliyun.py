"""A loopback Alibaba Cloud Dysmsapi endpoint (``SendSms``, ``AddSmsTemplate``,
``QuerySmsTemplate``, and Dyvmsapi's ``SingleCallByTts``) that checks signatures as
Alibaba does.

It verifies both V3 (``ACS3-HMAC-SHA256`` Authorization header) and V1 (RPC ``Signature``
parameter) with its own code, written from Alibaba's signature documents: it never
imports the adapter, so a test against it is not the adapter checking itself.

Tests steer it through attributes: ``delay`` (seconds before answering),
``server_error`` (an HTTP 5xx status to answer with), ``invalid_numbers`` (numbers
answered with ``isv.MOBILE_NUMBER_ILLEGAL``), ``template_error`` (a ``(Code, Message)``
every template call is refused with), and :meth:`AliyunStub.review` (the reviewers'
verdict on a registered template). ``requests`` records what it received, ``templates``
what was registered (``TemplateCode`` -> its fields and ``TemplateStatus``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from litestar import Litestar, Request, Response, post

ACCESS_KEY_ID = "LTAI-stub-key-id"
ACCESS_KEY_SECRET = "stub-secret-not-real"
# Digits only: Alibaba wants no '+' (mainland as 11 digits, else country code + number).
_NUMBER = re.compile(r"\d{6,15}")
_MAX_CLOCK_SKEW_S = 15 * 60
_ACTIONS = {"SendSms", "AddSmsTemplate", "QuerySmsTemplate", "SingleCallByTts"}
_TEMPLATE_FIELDS = ("TemplateType", "TemplateName", "TemplateContent", "Remark")


@dataclass
class ReceivedRequest:
    method: str
    headers: dict[str, str]
    params: dict[str, str]  # query (V3) or form (V1), decoded
    body: bytes


def _enc(value: str) -> str:
    return quote(value, safe="~")


def _sorted_query(params: dict[str, str]) -> str:
    return "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))


def _error(status: int, code: str, message: str) -> Response[Any]:
    body = {"RequestId": str(uuid.uuid4()), "HostId": "dysmsapi.aliyuncs.com"}
    return Response({**body, "Code": code, "Message": message}, status_code=status)


class AliyunStub:
    """An ASGI app: ``serve(AliyunStub())`` runs it on loopback."""

    def __init__(
        self, access_key_id: str = ACCESS_KEY_ID, access_key_secret: str = ACCESS_KEY_SECRET
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.delay = 0.0
        self.server_error: int | None = None
        self.invalid_numbers: set[str] = set()
        self.template_error: tuple[str, str] | None = None
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[ReceivedRequest] = []
        self._nonces: set[str] = set()

        @post("/", status_code=200)
        async def send_sms(request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._handle(request)

        self._app = Litestar(route_handlers=[send_sms], openapi_config=None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    async def _handle(self, request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        query = dict(parse_qsl(request.scope["query_string"].decode("ascii"), True))
        v3 = headers.get("authorization", "").startswith("ACS3-HMAC-SHA256 ")
        params = query if v3 else dict(parse_qsl(body.decode("utf-8"), True))
        self.requests.append(ReceivedRequest(request.method, headers, params, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.server_error:
            return _error(self.server_error, "ServiceUnavailable", "The request has failed.")
        if v3:
            refusal = self._check_v3(request.method, headers, query, body)
        else:
            refusal = self._check_v1(request.method, params)
        action = headers.get("x-acs-action") if v3 else params.get("Action")
        if refusal:
            return refusal
        if action == "SingleCallByTts":
            return self._call(params)
        if action == "SendSms":
            return self._send(params)
        if self.template_error:
            return _error(200, *self.template_error)
        return self._add(params) if action == "AddSmsTemplate" else self._query(params)

    def review(self, code: str, status: int, reason: str = "无审批备注") -> None:
        """The reviewers' verdict on template ``code``: 1 approved, 2 rejected (``reason``)."""
        self.templates[code].update(TemplateStatus=status, Reason=reason)

    def _add(self, params: dict[str, str]) -> Response[Any]:
        if any(not params.get(name) for name in _TEMPLATE_FIELDS):
            return _error(200, "isv.INVALID_PARAMETERS", "参数异常")
        code = f"SMS_{152550005 + len(self.templates)}"
        fields = {name: params[name] for name in _TEMPLATE_FIELDS}
        self.templates[code] = {**fields, "TemplateStatus": 0, "Reason": "无审批备注"}
        ok = {"Code": "OK", "Message": "OK", "RequestId": str(uuid.uuid4())}
        return Response({**ok, "TemplateCode": code})

    def _query(self, params: dict[str, str]) -> Response[Any]:
        code = params.get("TemplateCode", "")
        if code not in self.templates:
            return _error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不存在")
        found = self.templates[code]
        ok = {"Code": "OK", "Message": "OK", "RequestId": str(uuid.uuid4())}
        return Response({**ok, **found, "TemplateCode": code, "TemplateType": 0})

    def _check_v3(
        self, method: str, headers: dict[str, str], query: dict[str, str], body: bytes
    ) -> Response[Any] | None:
        parts = dict(
            part.split("=", 1) for part in headers["authorization"].split(" ", 1)[1].split(",")
        )
        if parts.get("Credential") != self.access_key_id:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = parts.get("SignedHeaders", "").split(";")
        must_sign = {"host", "content-type"} | {h for h in headers if h.startswith("x-acs-")}
        if not (must_sign & headers.keys()) <= set(signed):
            return _error(400, "IncompleteSignature", "The request signature is not complete.")
        action, version = headers.get("x-acs-action"), headers.get("x-acs-version")
        if action not in _ACTIONS or version != "2017-05-25":
            return _error(400, "InvalidAction.NotFound", "Specified api is not found.")
        payload_hash = hashlib.sha256(body).hexdigest()
        if headers.get("x-acs-content-sha256") != payload_hash:
            return _error(400, "ContentSHA256NotMatched", "The body hash does not match.")
        refusal = self._check_replay(
            headers.get("x-acs-date"), headers.get("x-acs-signature-nonce")
        )
        if refusal:
            return refusal
        canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in sorted(signed))
        canonical = "\n".join(
            [
                method,
                "/",
                _sorted_query(query),
                canonical_headers,
                ";".join(sorted(signed)),
                payload_hash,
            ]
        )
        string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(
            self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return _error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        return None

    def _check_v1(self, method: str, params: dict[str, str]) -> Response[Any] | None:
        signed = {k: v for k, v in params.items() if k != "Signature"}
        if "Signature" not in params or signed.get("SignatureMethod") != "HMAC-SHA1":
            return _error(400, "IncompleteSignature", "The request signature is not complete.")
        if signed.get("AccessKeyId") != self.access_key_id:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if signed.get("Action") not in _ACTIONS or signed.get("Version") != "2017-05-25":
            return _error(400, "InvalidAction.NotFound", "Specified api is not found.")
        refusal = self._check_replay(signed.get("Timestamp"), signed.get("SignatureNonce"))
        if refusal:
            return refusal
        string_to_sign = f"{method}&{_enc('/')}&{_enc(_sorted_query(signed))}"
        key = f"{self.access_key_secret}&".encode()
        expected = b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, params["Signature"]):
            return _error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        return None

    def _check_replay(self, timestamp: str | None, nonce: str | None) -> Response[Any] | None:
        try:
            sent = datetime.strptime(timestamp or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(time.time() - sent.timestamp()) > _MAX_CLOCK_SKEW_S:
            return _error(400, "InvalidTimeStamp.Expired", "Specified time stamp is expired.")
        if not nonce or nonce in self._nonces:
            return _error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(nonce)
        return None

    def _call(self, params: dict[str, str]) -> Response[Any]:
        """``SingleCallByTts``: one number, a TTS template and its variables as JSON."""
        request_id = str(uuid.uuid4())
        number = params.get("CalledNumber", "")
        if not _NUMBER.fullmatch(number) or number in self.invalid_numbers:
            return Response({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "号码格式非法",
                             "RequestId": request_id})  # fmt: skip
        try:
            values = json.loads(params.get("TtsParam", "{}"))
        except ValueError:
            values = None
        if not params.get("TtsCode") or not isinstance(values, dict):
            return Response({"Code": "isv.TTS_TEMPLATE_ILLEGAL", "Message": "模板不合法",
                             "RequestId": request_id})  # fmt: skip
        call_id = f"116012854210^{len(self.requests):09d}"
        return Response({"Code": "OK", "Message": "OK", "RequestId": request_id, "CallId": call_id})

    def _send(self, params: dict[str, str]) -> Response[Any]:
        request_id = str(uuid.uuid4())
        number = params.get("PhoneNumbers", "")
        if not _NUMBER.fullmatch(number) or number in self.invalid_numbers:
            return Response(
                {
                    "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                    "Message": "非法手机号",
                    "RequestId": request_id,
                }
            )
        try:
            values = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            values = None
        if not isinstance(values, dict):
            return Response(
                {
                    "Code": "isv.INVALID_JSON_PARAM",
                    "Message": "JSON参数不合法",
                    "RequestId": request_id,
                }
            )
        biz_id = f"{len(self.requests):06d}^0"
        return Response({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id})
