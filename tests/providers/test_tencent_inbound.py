"""Tencent Cloud SMS reply callbacks (短信回复) -> inbound messages. The sample is quoted
from cloud.tencent.com/document/product/382/5809 (tencentcloud.com/document/api/382/43548)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.providers.reports import CallbackError, CallbackRequest, InboundMessage
from app.providers.tencent.inbound import REPLY, parse
from app.providers.tencent.reports import REPLY as REPORT_REPLY
from tests.providers.test_tencent_reports import DOC_CALLBACK, DOC_REPLY_SMS

URL = "https://otp.example.com/v1/inbound/tencent/shop/0123456789abcdef0123456789abcdef"


def callback(body: str | bytes) -> CallbackRequest:
    raw = body.encode() if isinstance(body, str) else body
    return CallbackRequest("POST", URL, {"content-type": "application/json"}, raw)


def test_the_documented_reply_is_one_inbound_message() -> None:
    assert parse(callback(DOC_REPLY_SMS)) == [
        InboundMessage(
            sender="+8613xxxxxxxxx",  # the sample hides the digits; the caller drops it
            text="用户回复的内容",
            received_at=datetime(2016, 3, 7, 7, 47, 49, tzinfo=UTC),
        )
    ]


def test_a_reply_of_a_real_number() -> None:
    body = json.loads(DOC_REPLY_SMS) | {"mobile": "13800138000", "text": "退订"}
    [message] = parse(callback(json.dumps(body)))
    assert (message.sender, message.text) == ("+8613800138000", "退订")


def test_a_reply_without_time_has_no_received_at() -> None:
    body = {k: v for k, v in json.loads(DOC_REPLY_SMS).items() if k != "time"}
    assert parse(callback(json.dumps(body)))[0].received_at is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DOC_CALLBACK, id="a status callback (an array)"),
        pytest.param("", id="empty body"),
        pytest.param('{"mobile": "13800138000", "nationcode": "86"}', id="no text"),
        pytest.param('{"mobile": "", "nationcode": "86", "text": "TD"}', id="empty mobile"),
        pytest.param('{"mobile": "1", "nationcode": "+86", "text": "TD"}', id="bad nationcode"),
        pytest.param('{"mobile": 138, "nationcode": "86", "text": "TD"}', id="mobile a number"),
        pytest.param(
            '{"mobile": "1", "nationcode": "86", "text": "TD", "time": 99999999999999}',
            id="time beyond the calendar",
        ),
    ],
)
def test_malformed_reply_callback_is_a_callback_error(body: str) -> None:
    with pytest.raises(CallbackError):
        parse(callback(body))


def test_the_reply_is_the_documented_acknowledgement() -> None:
    assert REPLY == REPORT_REPLY
    assert REPLY.body == b'{"result":0,"errmsg":"OK"}'
