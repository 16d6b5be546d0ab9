"""One signed call of Tencent Cloud's SMS API 3.0 (version 2021-01-11).

Every action (``SendSms``, ``AddSmsTemplate``, ``DescribeSmsTemplateList``) is ``POST /``
with a JSON body; the action, version, timestamp and region travel in ``X-TC-*``
headers, the TC3 signature in ``Authorization``. A request-level error is
``Response.Error`` (with HTTP 200), whatever the action.

Reference: cloud.tencent.com/document/api/382/52071 (TC3-HMAC-SHA256), 382/52068
(common parameters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from app.providers.tencent.signing import tc3_authorization

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.tencent.config import TencentConfig

__all__ = ["CONTENT_TYPE", "SERVICE", "VERSION", "ApiError", "signed_call"]

SERVICE = "sms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"


class ApiError(msgspec.Struct, rename="pascal"):
    """``Response.Error``: the request as a whole was refused."""

    code: str
    message: str = ""


def signed_call(
    action: str, fields: dict[str, Any], config: TencentConfig, now: datetime
) -> httpx.Request:
    """The request of ``action`` with the JSON body ``fields``, signed with TC3.

    TC3 has no nonce; the timestamp is ``now`` in whole seconds.
    """
    url = config.base_url.rstrip("/") + "/"
    timestamp = int(now.timestamp())
    payload = msgspec.json.encode(fields)
    signed_headers = {"content-type": CONTENT_TYPE, "host": httpx.URL(url).netloc.decode("ascii")}
    authorization = tc3_authorization(
        config.secret_id, config.secret_key, timestamp, SERVICE, signed_headers, payload
    )
    headers = {
        **signed_headers,
        "authorization": authorization,
        "x-tc-action": action,
        "x-tc-version": VERSION,
        "x-tc-timestamp": str(timestamp),
        "x-tc-region": config.region,
    }
    return httpx.Request("POST", url, headers=headers, content=payload)
