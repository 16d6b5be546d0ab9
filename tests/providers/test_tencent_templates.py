"""Tencent Cloud template review: the AddSmsTemplate and DescribeSmsTemplateList requests,
their answers pinned to Tencent's documented examples, the verification-code rules, and
the review against the verifying stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.providers.review import (
    ReviewAnswer,
    ReviewClient,
    ReviewFailure,
    RuleContext,
    TemplateDraft,
    Translation,
)
from app.providers.tencent.templates import (
    REVIEW,
    build_query,
    build_submit,
    parse_query,
    parse_submit,
    rules,
    translate_draft,
)
from tests.providers.test_tencent import make_config
from tests.stubs.loopback import serve
from tests.stubs.tencent import TencentStub

NOW = datetime(2024, 5, 1, 8, 30, 0, tzinfo=UTC)
DRAFT = TemplateDraft(
    name="otpgate shop login zh-CN",
    text="{app_name}：您的验证码为{code}，{minutes}分钟内有效。",
    app_name="小店",
    remark="otpgate verification code of 小店 (login, zh-CN)",
)
CONTEXT = RuleContext(code_length=6, minutes=5, app_name="小店", sign_name="小店")
REQUEST_ID = "f36e4f00-605e-49b1-ad0d-bfaba81c7325"


def reply(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body, ensure_ascii=False).encode())


def test_a_draft_becomes_numbered_variables_with_the_app_name_as_text() -> None:
    assert translate_draft(DRAFT) == Translation(
        "小店：您的验证码为{1}，{2}分钟内有效。", ["code", "minutes"], None
    )


def test_the_submit_is_a_signed_add_sms_template_of_a_mainland_verification_template() -> None:
    request = build_submit(DRAFT, make_config(), NOW, "unused")
    assert request.headers["x-tc-action"] == "AddSmsTemplate"
    assert request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=")
    assert json.loads(request.content) == {
        "TemplateName": "otpgate shop login zh-CN",
        "TemplateContent": "小店：您的验证码为{1}，{2}分钟内有效。",
        "SmsType": 3,
        "International": 0,
        "Remark": "otpgate verification code of 小店 (login, zh-CN)",
    }


def test_the_query_asks_for_one_template_id_as_an_integer() -> None:
    request = build_query("1110", make_config(), NOW, "unused")
    assert request.headers["x-tc-action"] == "DescribeSmsTemplateList"
    assert json.loads(request.content) == {"International": 0, "TemplateIdSet": [1110]}


# --- answers, pinned to the examples of Tencent's API pages ------------------------------


@pytest.mark.parametrize("template_id", ["1110", 1110])  # the examples show both
def test_the_documented_add_answer_is_submitted_with_its_template_id(
    template_id: str | int,
) -> None:
    documented = {
        "Response": {"AddTemplateStatus": {"TemplateId": template_id}, "RequestId": REQUEST_ID}
    }
    assert parse_submit(reply(documented)) == ReviewAnswer("submitted", "1110")


DESCRIBED = {
    "Response": {
        "DescribeTemplateStatusSet": [
            {
                "TemplateName": "验证码",
                "TemplateId": 1110,
                "International": 0,
                "ReviewReply": "",
                "CreateTime": 1617379200,
                "TemplateContent": "您的验证码是{1}",
                "StatusCode": 0,
            },
            {
                "TemplateName": "通知",
                "TemplateId": 1111,
                "International": 0,
                "ReviewReply": "",
                "CreateTime": 1617508800,
                "TemplateContent": "请尽快参加{1}会议",
                "StatusCode": 0,
            },
        ],
        "RequestId": REQUEST_ID,
    }
}


def test_the_documented_describe_answer_is_approved_for_the_template_asked_for() -> None:
    assert parse_query(reply(DESCRIBED), "1111") == ReviewAnswer("approved", "1111")


@pytest.mark.parametrize(
    ("status", "review_reply", "expected"),
    [
        (1, "", ReviewAnswer("submitted", "1110")),
        (2, "", ReviewAnswer("submitted", "1110")),  # approved, not yet in force: not sendable
        (-1, "签名与模板内容不符", ReviewAnswer("rejected", "1110", "签名与模板内容不符")),
    ],
)
def test_each_status_code_reads_as_its_review_state(
    status: int, review_reply: str, expected: ReviewAnswer
) -> None:
    first = {
        **DESCRIBED["Response"]["DescribeTemplateStatusSet"][0],  # type: ignore[index]
        "StatusCode": status,
        "ReviewReply": review_reply,
    }
    body = {"Response": {"DescribeTemplateStatusSet": [first], "RequestId": REQUEST_ID}}
    assert parse_query(reply(body), "1110") == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            reply({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                          "Message": "The provided credentials could not be "
                                                     "validated."},
                                "RequestId": REQUEST_ID}}),
            ReviewFailure("AuthFailure.SignatureFailure",
                          "The provided credentials could not be validated."),
        ),
        (httpx.Response(502, text="<html>502 Bad Gateway</html>"),
         ReviewFailure("http_502", "<html>502 Bad Gateway</html>")),
        (reply({"Response": {"RequestId": REQUEST_ID}}),
         ReviewFailure("unparseable", "an answer without a numeric TemplateId")),
    ],
)  # fmt: skip
def test_refusals_and_unreadable_answers_are_failures(
    response: httpx.Response, expected: ReviewFailure
) -> None:
    assert parse_submit(response) == expected


def test_a_template_missing_from_the_answer_is_a_failure() -> None:
    answer = parse_query(reply(DESCRIBED), "4242")
    assert answer == ReviewFailure("FailedOperation.TemplateIdNotExist", "no template 4242")


# --- rules ------------------------------------------------------------------------------


def test_a_plain_verification_template_keeps_every_rule() -> None:
    assert rules(DRAFT.text, CONTEXT) == []


@pytest.mark.parametrize(
    ("text", "code_length", "fragment"),
    [
        ("您的验证码为{code}", 8, "at most 6 digits"),
        ("验证码{code}" + "好" * 488, 6, "with the signature"),  # 4+6+488 + 【小店】 = 502
        ("【小店】验证码{code}", 6, "【】"),
        ("验证码{{1}}：{code}", 6, "literal braces"),
        ("{code}", 6, "variables only"),
    ],
)
def test_each_documented_rule_is_enforced(text: str, code_length: int, fragment: str) -> None:
    context = RuleContext(code_length=code_length, minutes=5, app_name="小店", sign_name="小店")
    problems = rules(text, context)
    assert any(fragment in problem for problem in problems), problems


# --- against the verifying stub ---------------------------------------------------------


@pytest.fixture
def stub() -> TencentStub:
    return TencentStub()


@pytest.fixture
def stub_url(stub: TencentStub) -> Iterator[str]:
    with serve(stub) as url:
        yield url


async def test_a_template_is_registered_then_follows_the_reviewers(
    stub: TencentStub, stub_url: str
) -> None:
    async with httpx.AsyncClient() as http:
        client = ReviewClient(REVIEW, make_config(base_url=stub_url), http)
        submitted = await client.submit(DRAFT)
        assert submitted == ReviewAnswer("submitted", "1110")
        assert stub.templates[1110]["TemplateContent"] == "小店：您的验证码为{1}，{2}分钟内有效。"
        assert await client.query("1110") == submitted
        stub.review(1110, 0)
        assert await client.query("1110") == ReviewAnswer("approved", "1110")
        stub.review(1110, -1, "模板内容含营销信息")
        rejected = await client.query("1110")
    assert rejected == ReviewAnswer("rejected", "1110", "模板内容含营销信息")


async def test_a_refusal_of_the_stub_is_a_failure_with_its_code(
    stub: TencentStub, stub_url: str
) -> None:
    stub.template_error = ("FailedOperation.TemplateNumberLimit", "模板个数达到最大值")
    async with httpx.AsyncClient() as http:
        answer = await ReviewClient(REVIEW, make_config(base_url=stub_url), http).submit(DRAFT)
    assert answer == ReviewFailure("FailedOperation.TemplateNumberLimit", "模板个数达到最大值")
