"""A Tencent Cloud voice account: ``[providers.<name>]`` with ``type = "tencent_voice"``."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["TencentVoiceConfig"]


class TencentVoiceConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="tencent_voice"
):
    """A Tencent Cloud account's voice messages (VMS ``SendTtsVoice``).

    Attributes:
        secret_id: the API key's SecretId (``AKID…``).
        secret_key: the API key's SecretKey that signs each request (TC3).
        voice_sdk_app_id: the voice application's SdkAppid (e.g. ``1400006666``).
        templates: locale -> the approved voice template (``id`` its TemplateId; its
            variables by position from ``params``).
        play_times: how many times the call plays the template (1-3).
        region: the ``X-TC-Region``.
        base_url: the VMS endpoint.
    """

    CHANNEL: ClassVar[str] = "voice"

    secret_id: str
    secret_key: Secret
    voice_sdk_app_id: str
    templates: dict[str, Template]
    play_times: Annotated[int, msgspec.Meta(ge=1, le=3)] = 2
    region: str = "ap-guangzhou"
    base_url: str = "https://vms.tencentcloudapi.com"
