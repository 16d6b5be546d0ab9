"""Alibaba Cloud SmsUp pushes (上行短信消息, HTTP batch push mode) -> inbound messages.
The samples are quoted from help.aliyun.com/knowledge_detail/60127 (first version of the
document, ``sequence_id`` a number) and help.aliyun.com/zh/sms/developer-reference/smsup-http
(current, ``sequence_id`` a string, no ``sign_name``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.providers.aliyun.inbound import REPLY, parse, sender
from app.providers.aliyun.reports import REPLY as REPORT_REPLY
from app.providers.reports import CallbackError, CallbackRequest, InboundMessage
from tests.providers.test_aliyun_reports import DOC_REPORT

URL = "https://otp.example.com/v1/inbound/aliyun/shop/0123456789abcdef0123456789abcdef"

DOC_SMS_UP_V1 = """[ { "phone_number" : "1381111****", "send_time" : "2017-09-01 00:00:00",
"content" : "内容", "sign_name" : "签名", "dest_code" : "1234", "sequence_id" : 1234567890 } ]"""
DOC_SMS_UP = """[
  {
    "phone_number" : "1381111****",
    "content" : "内容",
    "send_time" : "2017-09-01 00:00:00",
    "dest_code" : "1234",
    "sequence_id" : "1234567890"
  }
]"""
# 2017-09-01 00:00:00 in Beijing time.
SENT_AT = datetime(2017, 8, 31, 16, 0, tzinfo=UTC)


def push(body: str | bytes) -> CallbackRequest:
    raw = body.encode() if isinstance(body, str) else body
    return CallbackRequest("POST", URL, {"content-type": "application/json"}, raw)


@pytest.mark.parametrize("doc", [DOC_SMS_UP_V1, DOC_SMS_UP], ids=["v1", "current"])
def test_the_documented_push_is_one_inbound_message(doc: str) -> None:
    assert parse(push(doc)) == [
        InboundMessage(
            sender="+861381111****",  # the sample hides digits; the caller drops it
            text="内容",
            provider_message_id="1234567890",
            received_at=SENT_AT,
        )
    ]


def test_a_push_of_several_messages_keeps_their_order() -> None:
    entries = [{"phone_number": "13800138000", "content": "TD", "sequence_id": 1},
               {"phone_number": "13912345678", "content": "退订", "sequence_id": 2}]  # fmt: skip
    assert [(m.sender, m.text) for m in parse(push(json.dumps(entries)))] == [
        ("+8613800138000", "TD"), ("+8613912345678", "退订"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("phone_number", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        (" 13800138000 ", "+8613800138000"),
    ],
)
def test_the_sender_is_made_e164(phone_number: str, e164: str) -> None:
    assert sender(phone_number) == e164


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DOC_REPORT, id="an SmsReport push"),
        pytest.param("", id="empty body"),
        pytest.param('{"phone_number": "13800138000", "content": "TD"}', id="an object"),
        pytest.param('[{"content": "TD"}]', id="no phone_number"),
        pytest.param('[{"phone_number": "13800138000"}]', id="no content"),
        pytest.param(
            '[{"phone_number": "13800138000", "content": "TD", "send_time": "x"}]',
            id="unreadable send_time",
        ),
    ],
)
def test_malformed_push_is_a_callback_error(body: str) -> None:
    with pytest.raises(CallbackError):
        parse(push(body))


def test_the_reply_is_the_documented_acknowledgement() -> None:
    assert REPLY == REPORT_REPLY
    assert json.loads(REPLY.body) == {"code": 0, "msg": "接收成功"}
