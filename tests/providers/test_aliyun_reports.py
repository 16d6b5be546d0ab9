"""Alibaba Cloud SmsReport pushes (HTTP batch push mode) -> delivery reports, and the reply
Alibaba expects. Payloads quoted from help.aliyun.com/zh/sms/developer-reference/smsreport-2
(document_detail/101867) unless marked as built from its field table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.providers.aliyun import reports as aliyun
from app.providers.aliyun.reports import REPLY, parse
from app.providers.reports import CallbackError, CallbackRequest, DeliveryReport

URL = "https://otp.example.com/callbacks/aliyun/8Jc2kq0sTn3WvYxZ"

# The documented sample, verbatim (SmsReport, 参数示例).
DOC_REPORT = """[
  {
    "phone_number" : "1381111****",
    "send_time" : "2017-01-01 00:00:00",
    "report_time" : "2017-01-01 00:00:00",
    "success" : true,
    "err_code" : "DELIVERED",
    "err_msg" : "用户接收成功",
    "sms_size" : "1",
    "biz_id" : "12345********",
    "out_id" : "67890**"
  }
]"""

# Built from the field table: a failed report, with a carrier receipt code.
FAILED_REPORT = {
    "phone_number": "13800138000",
    "send_time": "2024-05-06 08:30:00",
    "report_time": "2024-05-06 08:30:07",
    "success": False,
    "err_code": "MK:0001",
    "err_msg": "用户不存在",
    "sms_size": "1",
    "biz_id": "9006197469364984^0",
    "out_id": "msg_01HX7Q2Z",
}

# The documented SmsUp (inbound SMS) sample, verbatim: same transport, not a status report.
# help.aliyun.com/zh/sms/developer-reference/smsup-http
DOC_SMS_UP = """[
  {
    "phone_number" : "1381111****",
    "content" : "内容",
    "send_time" : "2017-09-01 00:00:00",
    "dest_code" : "1234",
    "sequence_id" : "1234567890"
  }
]"""


def push(body: str | bytes) -> CallbackRequest:
    raw = body.encode() if isinstance(body, str) else body
    return CallbackRequest(
        method="POST", url=URL, headers={"content-type": "application/json"}, body=raw
    )


def report(**changes: object) -> str:
    return json.dumps([{**FAILED_REPORT, **changes}], ensure_ascii=False)


def test_documented_sample_is_one_delivered_report_at_beijing_midnight() -> None:
    assert parse(push(DOC_REPORT)) == [
        DeliveryReport(
            provider_message_id="12345********",
            status="delivered",
            provider_status="DELIVERED",
            error_code=None,
            # 2017-01-01 00:00:00 in Beijing is 16:00 UTC the day before.
            occurred_at=datetime(2016, 12, 31, 16, 0, 0, tzinfo=UTC),
        )
    ]


def test_failed_report_is_undelivered_and_keeps_err_code() -> None:
    assert parse(push(report())) == [
        DeliveryReport(
            provider_message_id="9006197469364984^0",
            status="undelivered",
            provider_status="MK:0001",
            error_code="MK:0001",
            occurred_at=datetime(2024, 5, 6, 0, 30, 7, tzinfo=UTC),
        )
    ]


def test_report_time_is_read_as_beijing_time_and_returned_in_utc() -> None:
    (only,) = parse(push(report(report_time="2024-01-01 07:59:59")))
    assert only.occurred_at == datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert only.occurred_at is not None
    assert only.occurred_at.utcoffset() == timedelta(0)


def test_one_push_carries_many_reports_in_order() -> None:
    delivered = {**FAILED_REPORT, "success": True, "err_code": "DELIVERED", "biz_id": "a^0"}
    failed = {**FAILED_REPORT, "biz_id": "b^0"}
    again = {**FAILED_REPORT, "success": True, "err_code": "DELIVERED", "biz_id": "c^0"}
    reports = parse(push(json.dumps([delivered, failed, again])))
    assert [(r.provider_message_id, r.status, r.error_code) for r in reports] == [
        ("a^0", "delivered", None),
        ("b^0", "undelivered", "MK:0001"),
        ("c^0", "delivered", None),
    ]


def test_report_without_report_time_has_no_occurred_at() -> None:
    entry = {key: value for key, value in FAILED_REPORT.items() if key != "report_time"}
    (only,) = parse(push(json.dumps([entry])))
    assert only.occurred_at is None
    (blank,) = parse(push(report(report_time="")))
    assert blank.occurred_at is None


def test_inbound_sms_push_is_not_a_delivery_report() -> None:
    assert parse(push(DOC_SMS_UP)) == []


def test_empty_array_has_no_reports() -> None:
    assert parse(push("[]")) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty body"),
        pytest.param(b"phone_number=1381111&success=true", id="form body"),
        pytest.param(b'[{"biz_id": "1^0", "success": true', id="truncated json"),
        pytest.param(DOC_REPORT.strip()[1:-1].encode(), id="object, not array"),
        pytest.param(b'["12345^0"]', id="array of strings"),
        pytest.param(report(success="true").encode(), id="success as a string"),
        pytest.param(report(biz_id=12345).encode(), id="biz_id as a number"),
        pytest.param(report(biz_id=None).encode(), id="no biz_id"),
        pytest.param(report(biz_id="").encode(), id="empty biz_id"),
        pytest.param(report(success=None).encode(), id="no success"),
        pytest.param(report(err_code=None).encode(), id="no err_code"),
        pytest.param(report(report_time="2024-05-06T08:30:07Z").encode(), id="iso time"),
        pytest.param(report(report_time="2024-13-06 08:30:07").encode(), id="month 13"),
    ],
)
def test_malformed_push_is_a_callback_error(body: bytes) -> None:
    with pytest.raises(CallbackError):
        parse(push(body))


def test_one_malformed_entry_rejects_the_whole_push() -> None:
    body = json.dumps([FAILED_REPORT, {**FAILED_REPORT, "err_code": None}])
    with pytest.raises(CallbackError):
        parse(push(body))


def test_reply_is_the_documented_acknowledgement() -> None:
    assert REPLY.status_code == 200
    assert REPLY.media_type == "application/json"
    assert REPLY.body == b'{"code":0,"msg":"\xe6\x8e\xa5\xe6\x94\xb6\xe6\x88\x90\xe5\x8a\x9f"}'
    assert json.loads(REPLY.body) == {"code": 0, "msg": "接收成功"}


def test_alibaba_pushes_are_unsigned_so_there_is_no_verify() -> None:
    assert not hasattr(aliyun, "verify")
