"""Cloopen / Ronglian ``SMSArrived`` pushes: JSON and XML, status, times, malformed pushes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.providers.cloopen.reports import REPLY, parse
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

PUSH_URL = "https://otp.example.com/callbacks/cloopen/tok_81c2"

# The status-report example of Ronglian's SMS push doc (JSON setting), as integrations
# quote it (providers.md §7).
DOC_JSON = b"""{"Request": {
    "action": "SMSArrived",
    "smsType": "1",
    "apiVersion": "2013-12-26",
    "content": "4121908f3d1b4edb9210f0eb4742f62c",
    "fromNum": "13912345678",
    "dateSent": "20130923010000",
    "deliverCode": "DELIVRD",
    "recvTime": "20130923010010",
    "status": "0",
    "reqId": "123",
    "smsCount": "2"
}}"""
# The XML setting's example, as an integration quotes it (content is a placeholder there).
DOC_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Request>'
    b"<action>SMSArrived</action><smsType>1</smsType><recvTime>20130923010101</recvTime>"
    b"<apiVersion>2013-12-26</apiVersion><fromNum>13912345678</fromNum>"
    b"<appendCode>12345</appendCode><content>smsMessageSid</content><status>0</status>"
    b"<dateSent>20130923010000</dateSent></Request>"
)
# An upstream (MO) message: smsType 0, content is what the user typed.
UPSTREAM_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Request><action>SMSArrived</action>'
    b"<smsType>0</smsType><recvTime>20130923010101</recvTime>"
    b"<apiVersion>2013-12-26</apiVersion><fromNum>13912345678</fromNum>"
    b"<appendCode>12345</appendCode><content>TD</content></Request>"
)


def post(body: bytes, content_type: str | None = None) -> CallbackRequest:
    headers = {} if content_type is None else {"content-type": content_type}
    return CallbackRequest(method="POST", url=PUSH_URL, headers=headers, body=body)


def json_push(**overrides: Any) -> CallbackRequest:
    fields = json.loads(DOC_JSON)["Request"] | overrides
    fields = {name: value for name, value in fields.items() if value is not None}
    return post(json.dumps({"Request": fields}).encode(), "application/json")


def test_documented_json_push_is_one_delivered_report() -> None:
    assert parse(post(DOC_JSON, "application/json;charset=utf-8")) == [
        DeliveryReport(
            provider_message_id="4121908f3d1b4edb9210f0eb4742f62c",
            status="delivered",
            provider_status="0",
            error_code=None,
            # 2013-09-23 01:00:10 in Beijing
            occurred_at=datetime(2013, 9, 22, 17, 0, 10, tzinfo=UTC),
        )
    ]


def test_documented_xml_push_is_one_delivered_report() -> None:
    assert parse(post(DOC_XML, "application/xml;charset=utf-8")) == [
        DeliveryReport(
            provider_message_id="smsMessageSid",
            status="delivered",
            provider_status="0",
            error_code=None,
            occurred_at=datetime(2013, 9, 22, 17, 1, 1, tzinfo=UTC),
        )
    ]


def test_format_is_recognised_from_the_body_without_a_content_type() -> None:
    assert parse(post(b"\n  " + DOC_XML))[0].provider_message_id == "smsMessageSid"
    assert parse(post(DOC_JSON))[0].provider_message_id == "4121908f3d1b4edb9210f0eb4742f62c"


def test_failed_receipt_is_undelivered_with_the_carrier_code() -> None:
    (only,) = parse(json_push(status="1", deliverCode="MK:0001"))
    assert (only.status, only.provider_status, only.error_code) == ("undelivered", "1", "MK:0001")


def test_failed_receipt_without_deliver_code_keeps_the_status_as_code() -> None:
    (only,) = parse(json_push(status="2", deliverCode=None))
    assert (only.status, only.error_code) == ("undelivered", "2")


def test_failed_xml_receipt() -> None:
    body = DOC_XML.replace(
        b"<status>0</status>", b"<status>1</status><deliverCode>UNDELIV</deliverCode>"
    )
    (only,) = parse(post(body, "text/xml"))
    assert (only.status, only.error_code) == ("undelivered", "UNDELIV")


def test_json_numbers_are_read_as_their_text() -> None:
    (only,) = parse(json_push(smsType=1, status=0))
    assert only.status == "delivered"


def test_report_without_recv_time_has_no_time() -> None:
    assert parse(json_push(recvTime=None))[0].occurred_at is None


def test_upstream_message_is_not_a_delivery_report() -> None:
    assert parse(post(UPSTREAM_XML, "application/xml")) == []
    assert parse(json_push(smsType="0", content="TD")) == []


def test_other_action_is_not_a_delivery_report() -> None:
    assert parse(json_push(action="TemplateAudit")) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", None),
        (b"{not json", "application/json"),
        (b'["SMSArrived"]', "application/json"),
        (b'{"action": "SMSArrived", "smsType": "1"}', "application/json"),
        (b"<Request><action>SMSArrived", "application/xml"),
        (b"<Response><statuscode>000000</statuscode></Response>", "application/xml"),
    ],
)
def test_unreadable_push_is_refused(body: bytes, content_type: str | None) -> None:
    with pytest.raises(CallbackError):
        parse(post(body, content_type))


def test_xml_with_a_dtd_is_refused_before_parsing() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Request><action>SMSArrived</action><smsType>1</smsType>"
        b"<content>&lol2;</content><status>0</status></Request>"
    )
    with pytest.raises(CallbackError, match="DTD"):
        parse(post(laughs, "application/xml"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"action": None},
        {"smsType": None},
        {"content": None},
        {"content": ""},
        {"status": None},
        {"recvTime": "2013-09-23 01:00:10"},
    ],
)
def test_status_report_missing_a_field_is_malformed(overrides: dict[str, Any]) -> None:
    with pytest.raises(CallbackError):
        parse(json_push(**overrides))


def test_reply_acknowledges_with_statuscode_000000() -> None:
    assert (
        CallbackReply(
            status_code=200,
            media_type="application/xml",
            body=(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b"<Response><statuscode>000000</statuscode></Response>"
            ),
        )
        == REPLY
    )
