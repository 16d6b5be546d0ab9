"""Calls that read a code through Alibaba Cloud's voice service: ``SingleCallByTts``.

Dyvmsapi (API version 2017-05-25) takes ``CalledNumber`` (mainland numbers as 11
digits), ``CalledShowNumber`` (absent in the public mode), ``TtsCode`` (the approved
TTS template), ``TtsParam`` (a JSON string of its variables, e.g. ``{"code":"123456"}``),
``PlayTimes`` and ``OutId``; the request is signed with ACS3-HMAC-SHA256 as Dysmsapi's
is. It answers ``{"Code": "OK", "Message": "OK", "RequestId": "…", "CallId":
"116012854210^102814****"}``, failures with another ``Code`` (HTTP 200 for business
errors). References: help.aliyun.com/zh/vms/developer-reference/
api-dyvmsapi-2017-05-25-singlecallbytts, its error codes (help.aliyun.com/document_detail/112502).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.aliyun.calls import acs3_request
from app.providers.aliyun.sending import classify_error, phone_number
from app.providers.base import ErrorKind, SendResult, classify_code, decode_answer, template_values
from app.providers.config import template_for

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.aliyun_voice.config import AliyunVoiceConfig
    from app.providers.base import OutgoingMessage

__all__ = ["build_request", "call_params", "parse_response"]

ACTION = "SingleCallByTts"
VERSION = "2017-05-25"


def call_params(message: OutgoingMessage, config: AliyunVoiceConfig) -> dict[str, str]:
    """The call's business parameters (``OutId`` = our message id)."""
    template = template_for(config.templates, message.locale)
    names = template.names or list(template.params)
    values = dict(zip(names, template_values(template, message), strict=True))
    params = {
        "CalledNumber": phone_number(message.to),
        "TtsCode": template.id,
        "TtsParam": msgspec.json.encode(values).decode(),
        "PlayTimes": str(config.play_times),
        "OutId": message.message_id,
    }
    if config.called_show_number is not None:
        params["CalledShowNumber"] = config.called_show_number
    return params


def build_request(
    message: OutgoingMessage, config: AliyunVoiceConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``SingleCallByTts`` request for one message."""
    credentials = (config.access_key_id, config.access_key_secret)
    params = call_params(message, config)
    return acs3_request(ACTION, VERSION, params, credentials, config.base_url, now, nonce)


# The voice product's own codes; the rest (credentials, throttling, the number) are the
# platform's, shared with SMS.
_VOICE_KINDS: dict[str, ErrorKind] = {
    "isv.TTS_TEMPLATE_ILLEGAL": "permanent",
    "isv.VOICE_FILE_ILLEGAL": "permanent",
    "isv.DISPLAY_NUMBER_ILLEGAL": "account",  # CalledShowNumber is not ours
    "isv.CALLER_NUMBER_BLACK": "account",
    "isv.CALLEE_NUMBER_BLACK": "permanent",  # the number refuses calls
    "isv.NO_AVAILABLE_NUMBER": "account",  # the public pool has no caller for it
}


class _Reply(msgspec.Struct, rename="pascal"):
    code: str | None = None
    message: str = ""
    call_id: str | None = None


def parse_response(response: httpx.Response) -> SendResult:
    """``Code == "OK"`` -> accepted with its ``CallId``; any other ``Code`` classified."""
    status = response.status_code
    reply = decode_answer(response, _Reply)
    if reply is None or reply.code is None:
        return SendResult.failed("retryable", f"http_{status}", "response without a Code")
    if status < 500 and reply.code == "OK":
        return SendResult.ok(reply.call_id)
    if status >= 500:
        return SendResult.failed("retryable", reply.code, reply.message)
    kind = classify_code(reply.code, _VOICE_KINDS, default=classify_error(reply.code))
    return SendResult.failed(kind, reply.code, reply.message)
