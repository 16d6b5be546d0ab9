"""Alibaba Cloud SMS status reports: ``SmsReport`` in HTTP batch push mode (HTTP批量推送模式).

Alibaba ``POST``s ``application/json`` (UTF-8) to the receiving address set in the console
(回执消息配置): a JSON **array**, one object per message, and one push may carry many::

    [{"phone_number": "1381111****", "send_time": "2017-01-01 00:00:00",
      "report_time": "2017-01-01 00:00:00", "success": true, "err_code": "DELIVERED",
      "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "12345********",
      "out_id": "67890**"}]

``biz_id`` is the ``BizId`` that ``SendSms`` answered (our provider message id),
``out_id`` echoes our ``OutId``. The platform expects HTTP 200 with
``{"code": 0, "msg": "接收成功"}`` (it only checks that ``code`` is a number); otherwise it
pushes again after 1, 5 and 10 minutes, then gives up. Reports are not idempotent: the
same one may arrive twice. Reference: help.aliyun.com/document_detail/101867
(help.aliyun.com/zh/sms/developer-reference/smsreport-2).

Status mapping (the report says only whether the handset got the message; ``err_code``,
the status report code, is kept as ``provider_status``):

* ``success: true`` (``err_code`` ``DELIVERED``) -> ``delivered``.
* ``success: false`` (``err_code`` the receipt code, e.g. a carrier's ``MK:0001``) ->
  ``undelivered``: the report cannot tell a carrier's refusal from a platform's, and
  both are final.

``err_code`` of a failed report is also the ``error_code``. ``report_time`` (the status
report's time) is Beijing time without a zone; it becomes ``occurred_at`` in UTC.

Alibaba does not sign these pushes: the caller authenticates them by the random token in
the callback URL's path, so there is no ``verify``. Objects that are not status reports
(an ``SmsUp`` inbound message has neither ``biz_id`` nor ``success``) are skipped. The
international product's report (``To``/``Status``/``MessageId``, for
``SendMessageToGlobe``) is a different format that ``SendSms`` never produces.
"""

from __future__ import annotations

import msgspec

from app.providers.beijing import SPACED, beijing_time
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

__all__ = ["REPLY", "parse"]

REPLY = CallbackReply(
    status_code=200,
    media_type="application/json",
    body='{"code":0,"msg":"接收成功"}'.encode(),
)


class _SmsReport(msgspec.Struct):
    biz_id: str | None = None
    success: bool | None = None
    err_code: str | None = None
    report_time: str | None = None


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The delivery reports in one ``SmsReport`` push (a JSON array of reports)."""
    try:
        entries = msgspec.json.decode(request.body, type=list[_SmsReport])
    except msgspec.DecodeError as exc:
        raise CallbackError(f"not an Alibaba SmsReport array: {exc}") from exc
    return [
        _delivery_report(entry)
        for entry in entries
        if entry.biz_id is not None or entry.success is not None
    ]


def _delivery_report(entry: _SmsReport) -> DeliveryReport:
    if not entry.biz_id or entry.success is None or not entry.err_code:
        raise CallbackError("an SmsReport entry lacks biz_id, success or err_code")
    return DeliveryReport(
        provider_message_id=entry.biz_id,
        status="delivered" if entry.success else "undelivered",
        provider_status=entry.err_code,
        error_code=None if entry.success else entry.err_code,
        occurred_at=beijing_time(entry.report_time, SPACED, "report_time"),
    )
