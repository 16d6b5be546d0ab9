"""A Huawei Cloud Message & SMS application: the fields of ``[providers.<name>]`` with
``type = "huawei"``."""

from __future__ import annotations

from typing import Literal

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["HuaweiConfig"]


class HuaweiConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="huawei"
):
    """A Message & SMS application, its channel and its templates."""

    #: the application's key (``Username`` in X-WSSE, ``Access`` in AK/SK).
    app_key: str
    #: the application's secret; only ever used as a signing key.
    app_secret: Secret
    #: the channel number (通道号) the templates belong to: the ``from`` field.
    sender: str
    #: locale -> template registered on that channel (variables filled by position).
    templates: dict[str, Template]
    #: the sign name (签名名称), sent as ``signature``; general templates need it.
    sign_name: str | None = None
    #: ``wsse`` (X-WSSE UsernameToken) or ``aksk`` (API Gateway SDK-HMAC-SHA256).
    auth: Literal["wsse", "aksk"] = "wsse"
    #: where Huawei posts status reports (``statusCallback``); none if unset.
    status_callback_url: str | None = None
    #: Huawei signs its status reports with this app's AK/SK (an option in its console);
    #: then otpgate refuses unsigned ones.
    signed_callbacks: bool = False
    #: the application's access address (APP接入地址) from the console.
    base_url: str = "https://smsapi.cn-north-4.myhuaweicloud.com"
