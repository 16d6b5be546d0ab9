"""Tencent Cloud SMS status callbacks (短信下发状态通知) -> delivery reports, and the reply
Tencent expects. Payloads quoted from cloud.tencent.com/document/product/382/5807 and
tencentcloud.com/document/api/382/43547 unless marked as built from their field table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.providers.reports import CallbackError, CallbackRequest, DeliveryReport
from app.providers.tencent import reports as tencent
from app.providers.tencent.reports import REPLY, parse

URL = "https://otp.example.com/callbacks/tencent/Qm4v7ZrT1bX9cK2w"

# The documented sample, verbatim (请求示例).
DOC_CALLBACK = """[
    {
        "user_receive_time": "2015-10-17 08:03:04",
        "nationcode": "86",
        "mobile": "13xxxxxxxxx",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "xxxxxxx"
    }
]"""

# Built from the field table: a failed delivery, with the carrier's receipt code.
FAILED = {
    "user_receive_time": "2024-05-06 08:30:07",
    "nationcode": "86",
    "mobile": "13800138000",
    "report_status": "FAIL",
    "errmsg": "MK:0001",
    "description": "空号",
    "sid": "2019:538884*********",
}

# The documented reply-SMS callback (短信回复, 382/5809), verbatim: not a delivery report.
DOC_REPLY_SMS = """{
    "extend": "扩展码",
    "mobile": "13xxxxxxxxx",
    "nationcode": "86",
    "sign": "短信签名",
    "text": "用户回复的内容",
    "time": 1457336869
}"""


def callback(body: str | bytes) -> CallbackRequest:
    raw = body.encode() if isinstance(body, str) else body
    return CallbackRequest(
        method="POST", url=URL, headers={"content-type": "application/json"}, body=raw
    )


def failed(**changes: object) -> str:
    return json.dumps([{**FAILED, **changes}], ensure_ascii=False)


def test_documented_sample_is_one_delivered_report_in_utc() -> None:
    assert parse(callback(DOC_CALLBACK)) == [
        DeliveryReport(
            provider_message_id="xxxxxxx",
            status="delivered",
            provider_status="DELIVRD",
            error_code=None,
            # 08:03:04 in Beijing is 00:03:04 UTC.
            occurred_at=datetime(2015, 10, 17, 0, 3, 4, tzinfo=UTC),
        )
    ]


def test_fail_is_undelivered_and_keeps_errmsg_as_the_error_code() -> None:
    assert parse(callback(failed())) == [
        DeliveryReport(
            provider_message_id="2019:538884*********",
            status="undelivered",
            provider_status="MK:0001",
            error_code="MK:0001",
            occurred_at=datetime(2024, 5, 6, 0, 30, 7, tzinfo=UTC),
        )
    ]


def test_fail_without_errmsg_keeps_report_status_and_has_no_error_code() -> None:
    (only,) = parse(callback(failed(errmsg="")))
    assert (only.status, only.provider_status, only.error_code) == ("undelivered", "FAIL", None)


def test_receive_time_before_8am_beijing_falls_on_the_previous_utc_day() -> None:
    (only,) = parse(callback(failed(user_receive_time="2024-03-01 07:15:00")))
    assert only.occurred_at == datetime(2024, 2, 29, 23, 15, 0, tzinfo=UTC)
    assert only.occurred_at is not None
    assert only.occurred_at.utcoffset() == timedelta(0)


def test_one_callback_carries_many_reports_in_order() -> None:
    entries = [
        {**FAILED, "sid": "s1", "report_status": "SUCCESS", "errmsg": "DELIVRD"},
        {**FAILED, "sid": "s2"},
        {**FAILED, "sid": "s3", "report_status": "SUCCESS", "errmsg": "DELIVRD"},
    ]
    reports = parse(callback(json.dumps(entries)))
    assert [(r.provider_message_id, r.status, r.error_code) for r in reports] == [
        ("s1", "delivered", None),
        ("s2", "undelivered", "MK:0001"),
        ("s3", "delivered", None),
    ]


def test_empty_receive_time_leaves_occurred_at_unknown() -> None:
    (only,) = parse(callback(failed(user_receive_time="")))
    assert only.occurred_at is None


def test_reply_sms_callback_is_not_a_delivery_report() -> None:
    assert parse(callback(DOC_REPLY_SMS)) == []


def test_array_entries_without_sid_or_report_status_are_skipped() -> None:
    body = json.dumps([{"mobile": "13800138000", "text": "TD"}, FAILED])
    assert [r.provider_message_id for r in parse(callback(body))] == ["2019:538884*********"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty body"),
        pytest.param(b"sid=1&report_status=SUCCESS", id="form body"),
        pytest.param(b'[{"sid": "1", "report_status": "SUCCESS"', id="truncated json"),
        pytest.param(b"[1, 2]", id="array of numbers"),
        pytest.param(b'"SUCCESS"', id="bare string"),
        pytest.param(failed(report_status="DELIVERED").encode(), id="unknown report_status"),
        pytest.param(failed(report_status="success").encode(), id="lower-case status"),
        pytest.param(failed(report_status=None).encode(), id="no report_status"),
        pytest.param(failed(sid=None).encode(), id="no sid"),
        pytest.param(failed(sid="").encode(), id="empty sid"),
        pytest.param(failed(sid=538884).encode(), id="sid as a number"),
        pytest.param(failed(user_receive_time="1457336869").encode(), id="unix time"),
    ],
)
def test_malformed_callback_is_a_callback_error(body: bytes) -> None:
    with pytest.raises(CallbackError):
        parse(callback(body))


def test_reply_is_the_documented_acknowledgement() -> None:
    assert REPLY.status_code == 200
    assert REPLY.media_type == "application/json"
    assert REPLY.body == b'{"result":0,"errmsg":"OK"}'


def test_tencent_callbacks_are_unsigned_so_there_is_no_verify() -> None:
    assert not hasattr(tencent, "verify")
