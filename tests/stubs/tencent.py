"""A loopback Tencent Cloud SMS (2021-01-11) endpoint (``SendSms``, ``AddSmsTemplate``,
``DescribeSmsTemplateList``) that checks TC3 signatures, and, as
``TencentStub(service="vms")``, VMS ``SendTtsVoice`` (2020-09-02).

The TC3-HMAC-SHA256 verification is its own code, written from Tencent's "Signature v3"
document: it never imports the adapter, so a test against it is not the adapter
checking itself.

Tests steer it through attributes: ``delay`` (seconds before answering),
``server_error`` (an HTTP 5xx status to answer with), ``invalid_numbers`` (numbers
answered with ``InvalidParameterValue.IncorrectPhoneNumber``), ``template_error`` (a
``(Code, Message)`` every template call is refused with), and :meth:`TencentStub.review`
(the reviewers' verdict). ``requests`` records what it received, ``templates`` what was
registered (``TemplateId`` -> its fields and ``StatusCode``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, MediaType, Request, Response, post

SECRET_ID = "AKIDstubsecretid0000000000000000000"
SECRET_KEY = "stub-secret-key-not-real"
SMS_SDK_APP_ID = "1400000000"
_E164 = re.compile(r"\+\d{6,15}")
_MAX_CLOCK_SKEW_S = 5 * 60
_ACTIONS = {"SendSms", "AddSmsTemplate", "DescribeSmsTemplateList"}
_TEMPLATE_FIELDS = ("TemplateName", "TemplateContent", "SmsType", "International", "Remark")


@dataclass
class ReceivedRequest:
    headers: dict[str, str]
    body: dict[str, Any]


def _reply(response: dict[str, Any]) -> Response[Any]:
    # Tencent Cloud API 3.0 answers errors with HTTP 200 too.
    return Response({"Response": {**response, "RequestId": str(uuid.uuid4())}}, status_code=200)


def _error(code: str, message: str) -> Response[Any]:
    return _reply({"Error": {"Code": code, "Message": message}})


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


class TencentStub:
    """An ASGI app: ``serve(TencentStub())`` runs it on loopback."""

    def __init__(
        self,
        secret_id: str = SECRET_ID,
        secret_key: str = SECRET_KEY,
        sms_sdk_app_id: str = SMS_SDK_APP_ID,
        service: str = "sms",
    ) -> None:
        self.service = service
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sms_sdk_app_id = sms_sdk_app_id
        self.delay = 0.0
        self.server_error: int | None = None
        self.invalid_numbers: set[str] = set()
        self.template_error: tuple[str, str] | None = None
        self.templates: dict[int, dict[str, Any]] = {}
        self.requests: list[ReceivedRequest] = []

        @post("/", status_code=200)
        async def api(request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._handle(request)

        self._app = Litestar(route_handlers=[api], openapi_config=None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    async def _handle(self, request: Request[Any, Any, Any]) -> Response[Any]:
        payload = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            body = json.loads(payload)
        except ValueError:
            return _error("FailedOperation.JsonParseFail", "Failed to parse the request body.")
        self.requests.append(ReceivedRequest(headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.server_error:
            return Response(
                "<html>502 Bad Gateway</html>",
                status_code=self.server_error,
                media_type=MediaType.HTML,
            )
        refusal = self._check(headers, payload)
        if refusal is not None:
            return refusal
        if self.service == "vms":
            return self._call(body)
        action = headers.get("x-tc-action")
        if action == "SendSms":
            return self._send(body)
        if self.template_error:
            return _error(*self.template_error)
        return self._add(body) if action == "AddSmsTemplate" else self._describe(body)

    def review(self, template_id: int, status: int, reply: str = "") -> None:
        """The reviewers' verdict: StatusCode 0 approved, -1 rejected (``reply`` says why)."""
        self.templates[template_id].update(StatusCode=status, ReviewReply=reply)

    def _add(self, body: dict[str, Any]) -> Response[Any]:
        if any(body.get(name) in (None, "") for name in _TEMPLATE_FIELDS):
            return _error("MissingParameter", "A required template parameter is missing.")
        template_id = 1110 + len(self.templates)
        fields = {name: body[name] for name in _TEMPLATE_FIELDS}
        self.templates[template_id] = {**fields, "StatusCode": 1, "ReviewReply": ""}
        return _reply({"AddTemplateStatus": {"TemplateId": str(template_id)}})

    def _describe(self, body: dict[str, Any]) -> Response[Any]:
        ids = body.get("TemplateIdSet")
        if body.get("International") not in (0, 1) or not isinstance(ids, list):
            return _error("MissingParameter", "International and TemplateIdSet are required.")
        if not all(isinstance(i, int) for i in ids):
            return _error("InvalidParameterValue", "TemplateIdSet holds integers.")
        found = [{"TemplateId": i, **self.templates[i]} for i in ids if i in self.templates]
        statuses = [
            {key: t[key] for key in ("TemplateId", "TemplateName", "International", "StatusCode",
                                     "ReviewReply", "TemplateContent")} | {"CreateTime": 1617379200}
            for t in found
        ]  # fmt: skip
        return _reply({"DescribeTemplateStatusSet": statuses})

    def _check(self, headers: dict[str, str], payload: bytes) -> Response[Any] | None:
        actions, version = (
            (_ACTIONS, "2021-01-11") if self.service == "sms" else ({"SendTtsVoice"}, "2020-09-02")
        )
        if headers.get("x-tc-action") not in actions or headers.get("x-tc-version") != version:
            return _error("InvalidAction", "The action or version is not valid.")
        if not headers.get("x-tc-region"):
            return _error(
                "MissingParameter", "The request is missing a required parameter `Region`."
            )
        algorithm, _, rest = headers.get("authorization", "").partition(" ")
        parts = dict(part.split("=", 1) for part in rest.split(", ") if "=" in part)
        if (
            algorithm != "TC3-HMAC-SHA256"
            or {"Credential", "SignedHeaders", "Signature"} - parts.keys()
        ):
            return _error("AuthFailure.InvalidAuthorization", "Authorization is not valid.")
        secret_id, date, service, terminator = [*parts["Credential"].split("/"), "", "", ""][:4]
        if secret_id != self.secret_id:
            return _error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > _MAX_CLOCK_SKEW_S:
            return _error("AuthFailure.SignatureExpire", "Signature expired.")
        signed = parts["SignedHeaders"].split(";")
        utc_date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        scope_ok = (date, service, terminator) == (utc_date, self.service, "tc3_request")
        if not scope_ok or not {"content-type", "host"} <= set(signed):
            return _error("AuthFailure.SignatureFailure", "The credential scope is not valid.")
        canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in sorted(signed))
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                canonical_headers,
                ";".join(sorted(signed)),
                hashlib.sha256(payload).hexdigest(),
            ]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/{self.service}/tc3_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _hmac(
            _hmac(_hmac(f"TC3{self.secret_key}".encode(), date), self.service), "tc3_request"
        )
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts["Signature"]):
            return _error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        return None

    def _call(self, body: dict[str, Any]) -> Response[Any]:
        """``SendTtsVoice``: one E.164 number, a template and its parameters."""
        if body.get("VoiceSdkAppid") != self.sms_sdk_app_id:
            return _error("UnauthorizedOperation.SdkAppidVerifyFail", "VoiceSdkAppid verify fail.")
        number = body.get("CalledNumber", "")
        if not _E164.fullmatch(number) or number in self.invalid_numbers:
            return _error("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format")
        params = body.get("TemplateParamSet")
        if not body.get("TemplateId") or not isinstance(params, list):
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved")
        call_id = f"12582bce-4e27-4ba1-9a49-{len(self.requests):012d}"
        context = body.get("SessionContext", "")
        return _reply({"SendStatus": {"CallId": call_id, "SessionContext": context}})

    def _send(self, body: dict[str, Any]) -> Response[Any]:
        if body.get("SmsSdkAppId") != self.sms_sdk_app_id:
            return _error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail.")
        if not body.get("PhoneNumberSet"):
            return _error("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty.")
        return _reply({"SendStatusSet": [self._status(n, body) for n in body["PhoneNumberSet"]]})

    def _status(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        context = body.get("SessionContext", "")
        if not _E164.fullmatch(number) or number in self.invalid_numbers:
            return {
                "SerialNo": "",
                "PhoneNumber": number,
                "Fee": 0,
                "SessionContext": context,
                "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                "Message": "incorrect number format",
                "IsoCode": "",
            }
        return {
            "SerialNo": f"2645:{len(self.requests):010d}",
            "PhoneNumber": number,
            "Fee": 1,
            "SessionContext": context,
            "Code": "Ok",
            "Message": "send success",
            "IsoCode": "CN" if number.startswith("+86") else "",
        }
