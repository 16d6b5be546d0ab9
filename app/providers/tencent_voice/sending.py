"""Calls that read a code through Tencent Cloud's voice messages: VMS ``SendTtsVoice``.

``POST /`` (API version 2020-09-02, service ``vms``) with a JSON body of ``TemplateId``,
``TemplateParamSet``, ``CalledNumber`` (E.164 with ``+``), ``VoiceSdkAppid``,
``PlayTimes`` and ``SessionContext``, signed with TC3-HMAC-SHA256 as SMS is. A number
in a parameter is read as a whole ("one hundred twenty-three") unless its digits are
separated by commas, so the code goes as ``1,2,3,4,5,6``. It answers
``{"Response": {"SendStatus": {"CallId": "…", "SessionContext": "…"}, "RequestId": "…"}}``
or ``Response.Error`` (HTTP 200 both). References: cloud.tencent.com/document/api/1128/51558
(SendTtsVoice), cloud.tencent.com/document/api/382/18155 (how numbers are read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from app.providers.base import SendResult, decode_answer
from app.providers.config import template_for
from app.providers.tencent.sending import classify_error
from app.providers.tencent.signing import tc3_authorization

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.tencent_voice.config import TencentVoiceConfig

__all__ = ["build_request", "parse_response", "spoken_digits"]

SERVICE = "vms"
ACTION = "SendTtsVoice"
VERSION = "2020-09-02"
CONTENT_TYPE = "application/json; charset=utf-8"


def spoken_digits(code: str) -> str:
    """``123456`` -> ``1,2,3,4,5,6``: read digit by digit, not as one number."""
    return ",".join(code)


def _body(message: OutgoingMessage, config: TencentVoiceConfig) -> bytes:
    template = template_for(config.templates, message.locale)
    values = [
        spoken_digits(message.code) if param == "code" else str(message.minutes)
        for param in template.params
    ]
    fields: dict[str, Any] = {
        "TemplateId": template.id,
        "TemplateParamSet": values,
        "CalledNumber": message.to,
        "VoiceSdkAppid": config.voice_sdk_app_id,
        "PlayTimes": config.play_times,
        "SessionContext": message.message_id,
    }
    return msgspec.json.encode(fields)


def build_request(
    message: OutgoingMessage, config: TencentVoiceConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SendTtsVoice`` request; TC3 has no nonce (``nonce`` is unused)."""
    url = config.base_url.rstrip("/") + "/"
    timestamp = int(now.timestamp())
    payload = _body(message, config)
    signed = {"content-type": CONTENT_TYPE, "host": httpx.URL(url).netloc.decode("ascii")}
    authorization = tc3_authorization(
        config.secret_id, config.secret_key, timestamp, SERVICE, signed, payload
    )
    headers = {
        **signed,
        "authorization": authorization,
        "x-tc-action": ACTION,
        "x-tc-version": VERSION,
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": config.region,
    }
    return httpx.Request("POST", url, headers=headers, content=payload)


class _Error(msgspec.Struct, rename="pascal"):
    code: str
    message: str = ""


class _SendStatus(msgspec.Struct, rename="pascal"):
    call_id: str | None = None


class _Body(msgspec.Struct, rename="pascal"):
    error: _Error | None = None
    send_status: _SendStatus | None = None


class _Envelope(msgspec.Struct, rename="pascal"):
    response: _Body


def parse_response(response: httpx.Response) -> SendResult:
    """``SendStatus.CallId`` -> accepted; ``Error.Code`` classified as for SMS."""
    status = response.status_code
    envelope = decode_answer(response, _Envelope)
    if envelope is None:
        return SendResult.failed("retryable", f"http_{status}", "unparseable response body")
    body = envelope.response
    if body.error is not None:
        kind = "retryable" if status >= 500 else classify_error(body.error.code)
        return SendResult.failed(kind, body.error.code, body.error.message)
    if status >= 500 or body.send_status is None or not body.send_status.call_id:
        return SendResult.failed("retryable", f"http_{status}", "response without a CallId")
    return SendResult.ok(body.send_status.call_id)
