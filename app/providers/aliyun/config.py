"""An Alibaba Cloud SMS account: the fields of ``[providers.<name>]`` with ``type = "aliyun"``."""

from __future__ import annotations

from typing import Literal

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["AliyunConfig"]


class AliyunConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="aliyun"
):
    """An Alibaba Cloud account's SMS settings.

    Attributes:
        access_key_id: the AccessKey ID (of a RAM user allowed ``dysmsapi:SendSms``).
        access_key_secret: the AccessKey secret that signs each request.
        sign_name: the approved SMS signature (签名) text, e.g. ``阿里云短信测试``.
        templates: locale -> the approved template (``id`` is its TemplateCode,
            ``names`` its ``${variable}`` names; without ``names`` the variables are
            called ``code`` and ``minutes``).
        signature_version: ``v3`` (ACS3-HMAC-SHA256 header) or ``v1`` (RPC HMAC-SHA1).
        base_url: the Dysmsapi endpoint, e.g. ``https://dysmsapi.ap-southeast-1.aliyuncs.com``.
    """

    access_key_id: str
    access_key_secret: Secret
    sign_name: str
    templates: dict[str, Template]
    signature_version: Literal["v3", "v1"] = "v3"
    base_url: str = "https://dysmsapi.aliyuncs.com"
