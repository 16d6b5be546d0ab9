"""A Tencent Cloud SMS account: the fields of ``[providers.<name>]`` with ``type = "tencent"``."""

from __future__ import annotations

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["TencentConfig"]


class TencentConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="tencent"
):
    """A Tencent Cloud account's SMS settings.

    Attributes:
        secret_id: the API key's SecretId (``AKID…``).
        secret_key: the API key's SecretKey that signs each request.
        sms_sdk_app_id: the SMS application's SdkAppId (e.g. ``1400006666``).
        sign_name: the approved signature text; required for mainland China numbers,
            ``None`` to send none (international templates).
        templates: locale -> the approved template (``id`` is its TemplateId; the
            variables ``{1}``, ``{2}``… are filled by position from ``params``).
        region: the ``X-TC-Region`` (``ap-guangzhou``, ``ap-beijing`` or ``ap-nanjing``).
        base_url: the API endpoint.
    """

    secret_id: str
    secret_key: Secret
    sms_sdk_app_id: str
    templates: dict[str, Template]
    sign_name: str | None = None
    region: str = "ap-guangzhou"
    base_url: str = "https://sms.tencentcloudapi.com"
