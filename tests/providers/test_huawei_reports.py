"""Huawei MSGSMS status reports -> delivery reports: the per-message form push
(support.huaweicloud.com/api-msgsms/sms_05_0003.html), the batch JSON push (sms_05_0063)
and the status codes (sms_05_0051)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import msgspec
import pytest

from app.providers.huawei import HuaweiConfig, aksk_authorization
from app.providers.huawei import reports as huawei
from app.providers.huawei.reports import REPLY, delivery_status, parse, signs, verify
from app.providers.reports import CallbackError, CallbackRequest, DeliveryReport

URL = "https://otp.example.com/callbacks/huawei/Hq8s2LmN4pR6tV0x"
FORM = "application/x-www-form-urlencoded"

# The documented sample bodies, verbatim (sms_05_0003 code samples: success_body and
# failed_body; sms_05_0051: the message example, with orgCode).
DOC_SUCCESS_BODY = (
    "sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2"
    "&smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=DELIVRD"
)
DOC_FAILED_BODY = (
    "sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2"
    "&smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=E200027"
)
DOC_ERROR_CODES_BODY = (
    "sequence=1&total=1&orgCode=000&updateTime=2018-04-13T06%3A31%3A46Z&source=2"
    "&smsMsgId=b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6&status=DELIVRD"
)

# Built from the sms_05_0063 field table (same fields as the form, in statusReportList).
BATCH = {
    "statusReportList": [
        {
            "smsMsgId": "d6e3cdd0-522b-4692-8304-a07553cdf591_8539659",
            "total": "1",
            "sequence": "1",
            "status": "DELIVRD",
            "source": "2",
            "updateTime": "2024-05-06T00:30:07Z",
        },
        {
            "smsMsgId": "d6e3cdd0-522b-4692-8304-a07553cdf591_8539660",
            "total": "1",
            "sequence": "1",
            "status": "MK:0001",
            "statusDesc": "空号",
            "source": "2",
            "updateTime": "2024-05-06T00:30:09Z",
        },
        {
            "smsMsgId": "d6e3cdd0-522b-4692-8304-a07553cdf591_8539661",
            "status": "MILIMIT",
            "source": "1",
        },
    ]
}


def form_push(body: str, content_type: str = FORM) -> CallbackRequest:
    return CallbackRequest(
        method="POST", url=URL, headers={"content-type": content_type}, body=body.encode()
    )


def json_push(body: object, content_type: str = "application/json") -> CallbackRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": content_type} if content_type else {}
    return CallbackRequest(method="POST", url=URL, headers=headers, body=raw)


def test_documented_delivered_form_is_one_report_in_utc() -> None:
    assert parse(form_push(DOC_SUCCESS_BODY)) == [
        DeliveryReport(
            provider_message_id="2ea20735-f856-4376-afbf-570bd70a46ee_11840135",
            status="delivered",
            provider_status="DELIVRD",
            error_code=None,
            occurred_at=datetime(2018, 10, 31, 8, 43, 41, tzinfo=UTC),
        )
    ]


def test_documented_platform_error_is_failed_and_keeps_the_status() -> None:
    assert parse(form_push(DOC_FAILED_BODY)) == [
        DeliveryReport(
            provider_message_id="2ea20735-f856-4376-afbf-570bd70a46ee_11840135",
            status="failed",
            provider_status="E200027",
            error_code="E200027",
            occurred_at=datetime(2018, 10, 31, 8, 43, 41, tzinfo=UTC),
        )
    ]


def test_documented_form_with_extra_fields_and_charset_is_read() -> None:
    request = form_push(DOC_ERROR_CODES_BODY, f"{FORM};charset=UTF-8")
    assert parse(request) == [
        DeliveryReport(
            provider_message_id="b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6",
            status="delivered",
            provider_status="DELIVRD",
            occurred_at=datetime(2018, 4, 13, 6, 31, 46, tzinfo=UTC),
        )
    ]


def test_report_the_platform_made_up_has_no_update_time() -> None:
    body = urlencode({"smsMsgId": "abc_1", "status": "EXPIRED", "source": "1"})
    assert parse(form_push(body)) == [
        DeliveryReport(
            provider_message_id="abc_1",
            status="undelivered",
            provider_status="EXPIRED",
            error_code="EXPIRED",
            occurred_at=None,
        )
    ]


def test_batch_push_carries_many_reports_in_order() -> None:
    assert parse(json_push(BATCH)) == [
        DeliveryReport(
            provider_message_id="d6e3cdd0-522b-4692-8304-a07553cdf591_8539659",
            status="delivered",
            provider_status="DELIVRD",
            occurred_at=datetime(2024, 5, 6, 0, 30, 7, tzinfo=UTC),
        ),
        DeliveryReport(
            provider_message_id="d6e3cdd0-522b-4692-8304-a07553cdf591_8539660",
            status="undelivered",
            provider_status="MK:0001",
            error_code="MK:0001",
            occurred_at=datetime(2024, 5, 6, 0, 30, 9, tzinfo=UTC),
        ),
        DeliveryReport(
            provider_message_id="d6e3cdd0-522b-4692-8304-a07553cdf591_8539661",
            status="failed",
            provider_status="MILIMIT",
            error_code="MILIMIT",
            occurred_at=None,
        ),
    ]


def test_batch_is_recognised_by_its_body_when_the_content_type_is_missing() -> None:
    assert len(parse(json_push(BATCH, content_type=""))) == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("DELIVRD", "delivered"),
        ("ACCEPTD", "sent"),
        ("UNKNOWN", "sent"),
        ("UNDELIV", "undelivered"),
        ("EXPIRED", "undelivered"),
        ("DELETED", "undelivered"),
        ("REJECTD", "undelivered"),
        ("MK:0001", "undelivered"),
        ("DB:0141", "undelivered"),
        ("E200018", "failed"),
        ("E200038", "failed"),
        ("MILIMIT", "failed"),
        ("LIMIT", "failed"),
        ("BEYONDN", "failed"),
        ("CTLIMIT", "failed"),
        ("KEYWORD", "failed"),
        ("BLACK", "failed"),
        ("TDBLACK", "failed"),
        ("TSBLACK", "failed"),
        ("MBBLACK", "failed"),
    ],
)
def test_status_mapping(status: str, expected: str) -> None:
    assert delivery_status(status) == expected
    (only,) = parse(form_push(urlencode({"smsMsgId": "m_1", "status": status})))
    assert (only.status, only.provider_status) == (expected, status)
    assert only.error_code == (status if expected in ("undelivered", "failed") else None)


def test_inbound_sms_form_is_not_a_status_report() -> None:
    # Huawei's inbound SMS push (接收上行短信): smsMsgId, from, to, body, createTime.
    body = urlencode(
        {
            "smsMsgId": "9692b5be-c427-4525-8e73-cf4a6ac5b3f7_3",
            "from": "+8615123456789",
            "to": "10690400999304584",
            "body": "TD",
            "createTime": "2018-02-12T15:30:20Z",
        }
    )
    assert parse(form_push(body)) == []


def test_json_object_without_status_report_list_is_not_a_status_report() -> None:
    assert parse(json_push({"smsMsgId": "m_1", "from": "+8615123456789", "body": "TD"})) == []


def test_empty_status_report_list_has_no_reports() -> None:
    assert parse(json_push({"statusReportList": []})) == []


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(form_push(""), id="empty form"),
        pytest.param(form_push("status=DELIVRD&source=2"), id="form without smsMsgId"),
        pytest.param(form_push("smsMsgId=m_1&status="), id="form with empty status"),
        pytest.param(
            form_push("smsMsgId=m_1&status=DELIVRD&updateTime=2018-10-31+16%3A43%3A41"),
            id="form with Beijing-style time",
        ),
        pytest.param(json_push(b'{"statusReportList": [{'), id="truncated json"),
        pytest.param(json_push(b"[]"), id="json array"),
        pytest.param(json_push({"statusReportList": {"smsMsgId": "m_1"}}), id="list not a list"),
        pytest.param(
            json_push({"statusReportList": [{"smsMsgId": "m_1"}]}), id="entry without status"
        ),
        pytest.param(
            json_push({"statusReportList": [{"status": "DELIVRD"}]}), id="entry without id"
        ),
        pytest.param(
            json_push({"statusReportList": [{"smsMsgId": 7, "status": "DELIVRD"}]}),
            id="numeric smsMsgId",
        ),
        pytest.param(
            json_push(
                {"statusReportList": [{"smsMsgId": "m_1", "status": "DELIVRD", "updateTime": 1}]}
            ),
            id="numeric updateTime",
        ),
    ],
)
def test_malformed_push_is_a_callback_error(request_: CallbackRequest) -> None:
    with pytest.raises(CallbackError):
        parse(request_)


def test_reply_is_a_bare_200() -> None:
    assert (REPLY.status_code, REPLY.body) == (200, b"")


def test_unsigned_reports_are_left_to_the_url_token_by_default() -> None:
    default = HuaweiConfig(app_key="k", app_secret="s", sender="c", templates={})
    assert not huawei.signs(default)


# --- AK/SK-signed status reports (the console's option) ------------------------------


SIGNED_CONFIG = HuaweiConfig(
    app_key="app-key-1", app_secret="app-secret-1", sender="csms1", templates={},
    signed_callbacks=True,
)  # fmt: skip
SIGNED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def _signed_report(
    body: bytes = DOC_SUCCESS_BODY.encode(), secret: str = "app-secret-1",
    at: datetime = SIGNED_AT, key: str = "app-key-1",
) -> CallbackRequest:  # fmt: skip
    headers = {
        "Content-Type": FORM,
        "Host": "otp.example.com",
        "X-Sdk-Date": at.strftime("%Y%m%dT%H%M%SZ"),
    }
    authorization = aksk_authorization(
        key, secret, "POST", "/callbacks/huawei/Hq8s2LmN4pR6tV0x", [], headers,
        hashlib.sha256(body).hexdigest(),
    )  # fmt: skip
    lowered = {name.lower(): value for name, value in headers.items()}
    return CallbackRequest("POST", URL, {**lowered, "authorization": authorization}, body)


def test_signed_reports_verify_only_when_the_console_option_is_on() -> None:
    assert signs(SIGNED_CONFIG)
    assert not signs(msgspec.structs.replace(SIGNED_CONFIG, signed_callbacks=False))


def test_a_report_signed_with_the_apps_aksk_verifies() -> None:
    assert verify(_signed_report(), SIGNED_CONFIG, SIGNED_AT)


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(_signed_report(secret="another-secret"), id="wrong secret"),
        pytest.param(_signed_report(key="another-key"), id="another app"),
        pytest.param(
            msgspec.structs.replace(_signed_report(), body=DOC_FAILED_BODY.encode()),
            id="tampered body",
        ),
        pytest.param(msgspec.structs.replace(_signed_report(), headers={}), id="unsigned"),
    ],
)
def test_a_forged_or_unsigned_report_fails(request_: CallbackRequest) -> None:
    assert not verify(request_, SIGNED_CONFIG, SIGNED_AT)


def test_a_stale_signed_report_fails() -> None:
    assert not verify(_signed_report(), SIGNED_CONFIG, SIGNED_AT + timedelta(minutes=16))
