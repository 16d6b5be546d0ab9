"""Alibaba Cloud voice (Dyvmsapi ``SingleCallByTts``, 2017-05-25): a call that plays an
approved TTS template with the code. No delivery reports are taken (the call receipt
is a message-queue subscription, not an HTTP push)."""

from __future__ import annotations

from app.providers.adapter import Adapter
from app.providers.aliyun_voice.config import AliyunVoiceConfig
from app.providers.aliyun_voice.sending import build_request, call_params, parse_response

__all__ = [
    "ADAPTER",
    "AliyunVoiceConfig",
    "build_request",
    "call_params",
    "create",
    "parse_response",
]

ADAPTER = Adapter(
    type="aliyun_voice",
    config=AliyunVoiceConfig,
    channel="voice",
    build_request=build_request,
    parse_response=parse_response,
)
create = ADAPTER.create
