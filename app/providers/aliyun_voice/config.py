"""An Alibaba Cloud voice account: ``[providers.<name>]`` with ``type = "aliyun_voice"``."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["AliyunVoiceConfig"]


class AliyunVoiceConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="aliyun_voice"
):
    """An Alibaba Cloud account's voice service (Dyvmsapi ``SingleCallByTts``).

    Attributes:
        access_key_id: the AccessKey ID (of a RAM user allowed ``dyvms:SingleCallByTts``).
        access_key_secret: the AccessKey secret that signs each request (ACS3).
        templates: locale -> the approved TTS template (``id`` its TtsCode, ``names``
            its ``${variables}``).
        called_show_number: the number the call shows (专属模式); none: the public pool.
        play_times: how many times the call plays the template (1-3).
        base_url: the Dyvmsapi endpoint.
    """

    CHANNEL: ClassVar[str] = "voice"

    access_key_id: str
    access_key_secret: Secret
    templates: dict[str, Template]
    called_show_number: str | None = None
    play_times: Annotated[int, msgspec.Meta(ge=1, le=3)] = 2
    base_url: str = "https://dyvmsapi.aliyuncs.com"
