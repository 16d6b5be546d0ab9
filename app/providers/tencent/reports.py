"""Tencent Cloud SMS status callbacks (短信下发状态通知).

Tencent ``POST``s JSON to the callback URL set in the console: an **array**, one object
per message, and one callback may carry many::

    [{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
      "mobile": "13xxxxxxxxx", "report_status": "SUCCESS", "errmsg": "DELIVRD",
      "description": "用户短信送达成功", "sid": "xxxxxxx"}]

``sid`` is the ``SerialNo`` that ``SendSms`` answered (our provider message id); ``errmsg``
is the receipt status code (回执状态错误码), ``description`` its text. The expected
answer is ``{"result": 0, "errmsg": "OK"}``. References:
cloud.tencent.com/document/product/382/5807, tencentcloud.com/document/api/382/43547.

Status mapping (``report_status`` is SUCCESS or FAIL, nothing else is documented):

=============  ===============
report_status  status
=============  ===============
SUCCESS        ``delivered``
FAIL           ``undelivered``
=============  ===============

``provider_status`` is ``errmsg`` (``DELIVRD``, or the carrier's code such as
``MK:0001``), falling back on ``report_status`` when ``errmsg`` is empty; a failed
report's ``errmsg`` is also its ``error_code``. ``user_receive_time`` is Beijing time
without a zone; it becomes ``occurred_at`` in UTC.

Tencent does not sign callbacks: the caller authenticates them by the random token in the
callback URL's path, so there is no ``verify``. A reply-SMS callback (短信回复, a single
JSON object with ``text``/``sign``/``time``) is not a delivery report: it yields ``[]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.providers.beijing import SPACED, beijing_time
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

if TYPE_CHECKING:
    from app.providers.reports import DeliveryStatus

__all__ = ["REPLY", "parse"]

REPLY = CallbackReply(
    status_code=200, media_type="application/json", body=b'{"result":0,"errmsg":"OK"}'
)

_STATUSES: dict[str, DeliveryStatus] = {"SUCCESS": "delivered", "FAIL": "undelivered"}


class _StatusReport(msgspec.Struct):
    sid: str | None = None
    report_status: str | None = None
    errmsg: str = ""
    user_receive_time: str | None = None


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The delivery reports in one status callback (a JSON array of reports)."""
    try:
        body = msgspec.json.decode(request.body, type=list[_StatusReport] | dict[str, Any])
    except msgspec.DecodeError as exc:
        raise CallbackError(f"not a Tencent status callback: {exc}") from exc
    if isinstance(body, dict):  # a reply-SMS callback, not a delivery report
        return []
    return [
        _delivery_report(entry)
        for entry in body
        if entry.sid is not None or entry.report_status is not None
    ]


def _delivery_report(entry: _StatusReport) -> DeliveryReport:
    if not entry.sid or entry.report_status is None:
        raise CallbackError("a status report lacks sid or report_status")
    status = _STATUSES.get(entry.report_status)
    if status is None:
        raise CallbackError(f"unknown report_status {entry.report_status!r}")
    return DeliveryReport(
        provider_message_id=entry.sid,
        status=status,
        provider_status=entry.errmsg or entry.report_status,
        error_code=(entry.errmsg or None) if status != "delivered" else None,
        occurred_at=beijing_time(entry.user_receive_time, SPACED, "user_receive_time"),
    )
