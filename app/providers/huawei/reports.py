"""Huawei Cloud Message & SMS (MSGSMS) status reports, in both of their transports.

* **Per message** (接收状态报告, to the ``statusCallback`` given at send time): ``POST``
  ``application/x-www-form-urlencoded``, one report per request, e.g.
  ``sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=DELIVRD``.
  Reference: support.huaweicloud.com/api-msgsms/sms_05_0003.html.
* **Batch** (批量接收状态报告, to the application's batch address when no
  ``statusCallback`` was sent): ``POST`` ``application/json``
  ``{"statusReportList": [{...the same fields...}]}``, up to 50 per push.
  Reference: support.huaweicloud.com/api-msgsms/sms_05_0063.html.

Fields read: ``smsMsgId`` (what ``batchSendSms`` answered: our provider message id),
``status`` and ``updateTime`` (UTC, ``yyyy-MM-ddTHH:mm:ssZ``; absent when the platform
made the report up itself because the SMSC sent none). A long message split in parts
gets one report per part (``total``/``sequence``), each reported as it comes. Huawei
asks only for an HTTP 200.

Status mapping (``status`` is kept as ``provider_status``, and as ``error_code`` when
the message was neither delivered nor is still on its way):

* ``DELIVRD`` -> ``delivered``.
* ``ACCEPTD`` (短信已接收) and ``UNKNOWN`` -> ``sent``: they say neither that the
  message arrived nor that it was lost, so a later report can still settle it (statuses
  only move forward).
* ``UNDELIV``, ``EXPIRED``, ``DELETED``, ``REJECTD`` and the carriers' codes (``MK:0001``,
  ``DB:0141``, ...: anything not listed here) -> ``undelivered``: the network tried and
  gave up.
* ``E2000xx`` (Huawei's own channel, gateway and template checks) and the supplier
  platform's refusals (``MILIMIT``, ``LIMIT``, ``BEYONDN``, ``CTLIMIT``, ``KEYWORD``,
  ``BLACK``, ``TDBLACK``, ``TSBLACK``, ``MBBLACK``) -> ``failed``: the message never
  reached a carrier.

Status codes: support.huaweicloud.com/api-msgsms/sms_05_0051.html.

Pushes are not signed by default (免鉴权); the caller authenticates them by the random
token in the callback URL's path, so there is no ``verify``. A form without ``status``
(an inbound SMS: ``smsMsgId``/``from``/``to``/``body``) and a JSON object without
``statusReportList`` are not status reports: they yield ``[]``.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import msgspec

from app.providers.huawei.signing import (
    AKSK_ALGORITHM,
    UNSIGNED_PAYLOAD,
    aksk_signature,
    aksk_string_to_sign,
    canonical_request,
)
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport
from app.providers.signing import sha256_hex

if TYPE_CHECKING:
    from app.providers.huawei.config import HuaweiConfig
    from app.providers.reports import DeliveryStatus

__all__ = ["REPLY", "delivery_status", "parse", "signs", "verify"]

REPLY = CallbackReply(status_code=200, media_type="text/plain", body=b"")

_STATUSES: dict[str, DeliveryStatus] = {
    "DELIVRD": "delivered",
    "ACCEPTD": "sent",
    "UNKNOWN": "sent",
    "UNDELIV": "undelivered",
    "EXPIRED": "undelivered",
    "DELETED": "undelivered",
    "REJECTD": "undelivered",
    # The supplier platform refused to pass the message on (sms_05_0051, 供应商平台).
    "MILIMIT": "failed",
    "LIMIT": "failed",
    "BEYONDN": "failed",
    "CTLIMIT": "failed",
    "KEYWORD": "failed",
    "BLACK": "failed",
    "TDBLACK": "failed",
    "TSBLACK": "failed",
    "MBBLACK": "failed",
}
_PLATFORM_ERROR = re.compile(r"E\d{6}")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class _StatusReport(msgspec.Struct):
    sms_msg_id: str | None = msgspec.field(default=None, name="smsMsgId")
    status: str | None = None
    update_time: str | None = msgspec.field(default=None, name="updateTime")


class _Batch(msgspec.Struct):
    status_report_list: list[_StatusReport] | None = msgspec.field(
        default=None, name="statusReportList"
    )


def delivery_status(status: str) -> DeliveryStatus:
    """Our status for one of Huawei's ``status`` values (see the module's table)."""
    if status in _STATUSES:
        return _STATUSES[status]
    if _PLATFORM_ERROR.fullmatch(status):
        return "failed"
    return "undelivered"


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The delivery reports in one push: a form (one report) or a JSON batch."""
    if request.is_json:
        return _parse_batch(request.body)
    fields = request.params()
    if not fields:
        raise CallbackError("an empty Huawei status report")
    if "status" not in fields:  # an inbound SMS, not a status report
        return []
    report = _StatusReport(
        sms_msg_id=fields.get("smsMsgId"),
        status=fields["status"],
        update_time=fields.get("updateTime"),
    )
    return [_delivery_report(report)]


def _parse_batch(body: bytes) -> list[DeliveryReport]:
    try:
        batch = msgspec.json.decode(body, type=_Batch)
    except msgspec.DecodeError as exc:
        raise CallbackError(f"not a Huawei statusReportList: {exc}") from exc
    if batch.status_report_list is None:
        return []
    return [_delivery_report(entry) for entry in batch.status_report_list]


def _delivery_report(entry: _StatusReport) -> DeliveryReport:
    if not entry.sms_msg_id or not entry.status:
        raise CallbackError("a status report lacks smsMsgId or status")
    status = delivery_status(entry.status)
    return DeliveryReport(
        provider_message_id=entry.sms_msg_id,
        status=status,
        provider_status=entry.status,
        error_code=entry.status if status in ("undelivered", "failed") else None,
        occurred_at=_utc_time(entry.update_time),
    )


def _utc_time(value: str | None) -> datetime | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` (UTC) -> an aware datetime."""
    if not value:
        return None
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise CallbackError(f"unreadable updateTime {value!r}") from exc


_AUTHORIZATION = re.compile(
    rf"^{AKSK_ALGORITHM}\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)$"
)
_MAX_CLOCK_SKEW = timedelta(minutes=15)


def signs(config: HuaweiConfig) -> bool:
    """Only when the console's signed status reports are on (``signed_callbacks``)."""
    return config.signed_callbacks


def verify(request: CallbackRequest, config: HuaweiConfig, now: datetime) -> bool:
    """Whether an AK/SK-signed status report (SDK-HMAC-SHA256) is this app's and fresh.

    The canonical request is rebuilt from the headers the report says it signed, with
    the adapter's own signer; ``X-Sdk-Date`` must be within 15 minutes of ``now``.
    """
    match = _AUTHORIZATION.match(request.headers.get("authorization", "").strip())
    if match is None or not hmac.compare_digest(match[1].encode(), config.app_key.encode()):
        return False
    names = match[2].lower().split(";")
    signed = {name: request.headers.get(name) for name in names}
    sdk_date = signed.get("x-sdk-date")
    if sdk_date is None or any(value is None for value in signed.values()):
        return False
    try:
        signed_at = datetime.strptime(sdk_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return False
    if abs(now - signed_at) > _MAX_CLOCK_SKEW:
        return False
    claimed = request.headers.get("x-sdk-content-sha256")
    payload_hash = UNSIGNED_PAYLOAD if claimed == UNSIGNED_PAYLOAD else sha256_hex(request.body)
    parts = urlsplit(request.url)
    canonical = canonical_request(
        request.method, parts.path, parse_qsl(parts.query, keep_blank_values=True),
        {name: value for name, value in signed.items() if value is not None}, payload_hash,
    )  # fmt: skip
    expected = aksk_signature(config.app_secret, aksk_string_to_sign(canonical, sdk_date))
    return hmac.compare_digest(expected.encode(), match[3].lower().encode())
