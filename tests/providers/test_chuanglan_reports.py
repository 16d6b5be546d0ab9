"""Chuanglan 253 status-report pushes: transports, status words, times, malformed pushes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from app.providers.chuanglan.reports import REPLY, parse
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

PUSH_URL = "https://otp.example.com/callbacks/chuanglan/tok_3f9a"

# github.com/chuanglan-international/SMS docs/callBack.md, "3.2 回调示例" (the same URL is
# in the English englishcallBack.md); pushUrl replaced by ours.
DOC_QUERY = (
    "receiver=admin&pswd=12345&msgid=12345&reportTime=1012241002&mobile=13900210021"
    "&status=DELIVRD&notifyTime=180828114243&batchSeq=I0123456_1808281142_2188000"
)
# The domestic push as an integration logged it (253's domestic doc adds statusDesc, uid
# and length); its reportTime is a truncated "1811", which no gateway form reads.
DOMESTIC_QUERY = (
    "receiver=&pswd=&msgid=1811&reportTime=1811&mobile=1520000000&status=DELIVRD"
    "&notifyTime=181119000031&statusDesc=%E6%88%90%E5%8A%9F&length=1"
)
# docs.innopaas.com/reference/status-report-push (253's international console), GET form.
INTERNATIONAL_QUERY = (
    "batchSeq=I123645_2402010011_4450868&requestTime=240201001113&sellingPrice=0.5"
    "&receiver=&pswd=&notifyTime=240201001115&price=0.5&mobile=8613900000000"
    "&msgid=447605524811111111&reportTime=2024-02-01T00:11:15.130Z&status=DELIVRD&smsNum=1"
)
# The same page, POST JSON form.
INTERNATIONAL_JSON = b"""{
    "batchSeq": "I8393346_2506101652_35",
    "unitPrice": "0.05670",
    "countryNumber": "0086",
    "mnc": "2",
    "receiver": "account",
    "pswd": "password",
    "mnoName": "\xe4\xb8\xad\xe5\x9b\xbd\xe7\xa7\xbb\xe5\x8a\xa8",
    "notifyTime": "1749545540975",
    "fee": "0.0567",
    "mobile": "8618888888888",
    "msgid": "627239445736452096",
    "mcc": "460",
    "requestTime": "1749545538198",
    "uid": "I8393346_2506101652_35",
    "regionCode": "CN",
    "accessNumber": "508tongdao",
    "currency": "CNY",
    "status": "DELIVRD",
    "reportTime": "1749545540967",
    "smsNum": "1"
}"""
# docs/upwardPush.md: an upstream (MO) message, which 253 may push to the same URL.
UPSTREAM_QUERY = (
    "receiver=admin&pswd=12345&moTime=1208212205&mobile=13800210021&msg=hello&destcode=CHUANGLAN"
)


def get(query: str) -> CallbackRequest:
    return CallbackRequest(method="GET", url=f"{PUSH_URL}?{query}", headers={})


def report(**fields: str) -> DeliveryReport:
    (only,) = parse(get(urlencode({"msgid": "17041010383624511", **fields})))
    return only


def test_documented_get_push_is_one_delivered_report() -> None:
    assert parse(get(DOC_QUERY)) == [
        DeliveryReport(
            provider_message_id="12345",
            status="delivered",
            provider_status="DELIVRD",
            error_code=None,
            # 10-12-24 10:02 in Beijing
            occurred_at=datetime(2010, 12, 24, 2, 2, tzinfo=UTC),
        )
    ]


def test_domestic_push_with_an_unreadable_report_time_keeps_the_report() -> None:
    assert parse(get(DOMESTIC_QUERY)) == [
        DeliveryReport(
            provider_message_id="1811",
            status="delivered",
            provider_status="DELIVRD",
            error_code=None,
            occurred_at=None,
        )
    ]


def test_international_get_push_reads_an_iso_report_time_with_its_offset() -> None:
    (only,) = parse(get(INTERNATIONAL_QUERY))
    assert only.provider_message_id == "447605524811111111"
    assert only.status == "delivered"
    assert only.occurred_at == datetime(2024, 2, 1, 0, 11, 15, 130000, tzinfo=UTC)


def test_json_post_push_reads_unix_milliseconds() -> None:
    request = CallbackRequest(
        method="POST",
        url=PUSH_URL,
        headers={"content-type": "application/json"},
        body=INTERNATIONAL_JSON,
    )
    assert parse(request) == [
        DeliveryReport(
            provider_message_id="627239445736452096",
            status="delivered",
            provider_status="DELIVRD",
            error_code=None,
            occurred_at=datetime(2025, 6, 10, 8, 52, 20, 967000, tzinfo=UTC),
        )
    ]


def test_json_body_is_recognised_without_a_content_type() -> None:
    request = CallbackRequest(method="POST", url=PUSH_URL, headers={}, body=INTERNATIONAL_JSON)
    assert parse(request)[0].provider_message_id == "627239445736452096"


def test_form_post_push_reads_the_same_fields() -> None:
    request = CallbackRequest(
        method="POST",
        url=PUSH_URL,
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=DOC_QUERY.replace("DELIVRD", "UNDELIV").encode(),
    )
    assert parse(request) == [
        DeliveryReport(
            provider_message_id="12345",
            status="undelivered",
            provider_status="UNDELIV",
            error_code="UNDELIV",
            occurred_at=datetime(2010, 12, 24, 2, 2, tzinfo=UTC),
        )
    ]


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "undelivered"),
        ("EXPIRED", "undelivered"),
        ("DELETED", "undelivered"),
        ("UNKNOWN", "undelivered"),
        ("REJECTD", "undelivered"),
        ("MK:0001", "undelivered"),
        ("DB:0108", "undelivered"),
        ("SM11", "failed"),
        ("SM12", "failed"),
        ("REJECT", "failed"),
        ("MBBLACK", "failed"),
        ("DTBLACK", "failed"),
        ("VMFLUCTL", "failed"),
        ("ERR:104", "failed"),
    ],
)
def test_status_word_maps_to_ours(word: str, status: str) -> None:
    assert report(status=word, reportTime="1012241002").status == status


def test_failure_keeps_the_gateway_word_as_error_code() -> None:
    failed = report(status="MK:0001", reportTime="1012241002")
    assert (failed.provider_status, failed.error_code) == ("MK:0001", "MK:0001")


@pytest.mark.parametrize(
    ("report_time", "expected"),
    [
        ("1012241002", datetime(2010, 12, 24, 2, 2, tzinfo=UTC)),
        ("180828114243", datetime(2018, 8, 28, 3, 42, 43, tzinfo=UTC)),
        ("20240101000500", datetime(2023, 12, 31, 16, 5, tzinfo=UTC)),
        ("1749545540967", datetime(2025, 6, 10, 8, 52, 20, 967000, tzinfo=UTC)),
        ("2024-02-01 08:11:15", datetime(2024, 2, 1, 0, 11, 15, tzinfo=UTC)),
        ("2024-02-01T08:11:15+08:00", datetime(2024, 2, 1, 0, 11, 15, tzinfo=UTC)),
        ("1013241002", None),  # month 13
        ("1811", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_report_time_forms_are_beijing_time_unless_they_say_otherwise(
    report_time: str, expected: datetime | None
) -> None:
    assert report(status="DELIVRD", reportTime=report_time).occurred_at == expected


def test_report_without_report_time_has_no_time() -> None:
    assert report(status="DELIVRD").occurred_at is None


def test_upstream_message_is_not_a_delivery_report() -> None:
    assert parse(get(UPSTREAM_QUERY)) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "receiver=admin&pswd=12345",
        "msgid=12345&reportTime=1012241002",
        "status=DELIVRD&reportTime=1012241002",
        "msgid=12345&status=",
        "msgid=&status=DELIVRD",
    ],
)
def test_push_without_msgid_or_status_is_malformed(query: str) -> None:
    with pytest.raises(CallbackError):
        parse(get(query))


@pytest.mark.parametrize("body", [b"{not json", b'["msgid", "status"]', b"{}"])
def test_malformed_json_push_is_refused(body: bytes) -> None:
    request = CallbackRequest(
        method="POST", url=PUSH_URL, headers={"content-type": "application/json"}, body=body
    )
    with pytest.raises(CallbackError):
        parse(request)


def test_json_nulls_are_absent_fields() -> None:
    body = json.dumps({"msgid": "627239445736452096", "status": "DELIVRD", "uid": None}).encode()
    request = CallbackRequest(method="POST", url=PUSH_URL, headers={}, body=body)
    assert parse(request)[0].occurred_at is None


def test_reply_is_the_documented_ok_string() -> None:
    # docs/callBack.md: "成功接收请响应字符串:OK"
    assert CallbackReply(status_code=200, media_type="text/plain", body=b"OK") == REPLY
