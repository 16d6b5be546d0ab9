"""Tencent Cloud voice messages (VMS ``SendTtsVoice``, 2020-09-02, TC3-HMAC-SHA256): a
call that plays an approved voice template with the code. No delivery reports are
taken."""

from __future__ import annotations

from app.providers.adapter import Adapter
from app.providers.tencent_voice.config import TencentVoiceConfig
from app.providers.tencent_voice.sending import build_request, parse_response, spoken_digits

__all__ = [
    "ADAPTER", "TencentVoiceConfig", "build_request", "create", "parse_response", "spoken_digits",
]  # fmt: skip

ADAPTER = Adapter(
    type="tencent_voice",
    config=TencentVoiceConfig,
    channel="voice",
    build_request=build_request,
    parse_response=parse_response,
)
create = ADAPTER.create
