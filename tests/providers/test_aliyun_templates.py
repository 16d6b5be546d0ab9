"""Alibaba Cloud template review: the AddSmsTemplate and QuerySmsTemplate requests, their
answers pinned to Alibaba's documented examples, the verification-code rules, and the
review against the verifying stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.providers.aliyun.templates import (
    REVIEW,
    build_query,
    build_submit,
    parse_query,
    parse_submit,
    rules,
    translate_draft,
)
from app.providers.review import (
    ReviewAnswer,
    ReviewClient,
    ReviewFailure,
    RuleContext,
    TemplateDraft,
    Translation,
)
from tests.providers.test_aliyun import make_config
from tests.stubs.aliyun import AliyunStub
from tests.stubs.loopback import closed_port_url, serve

NOW = datetime(2024, 5, 1, 8, 30, 0, tzinfo=UTC)
DRAFT = TemplateDraft(
    name="otpgate shop login zh-CN",
    text="{app_name}的验证码为{code}，请勿泄露。",
    app_name="小店",
    remark="otpgate verification code of 小店 (login, zh-CN)",
)
CONTEXT = RuleContext(code_length=6, minutes=5, app_name="小店")


def reply(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body, ensure_ascii=False).encode())


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


def test_a_draft_becomes_alibaba_syntax_with_the_app_name_as_text() -> None:
    assert translate_draft(DRAFT) == Translation(
        "小店的验证码为${code}，请勿泄露。", ["code"], ["code"]
    )


def test_the_submit_is_a_signed_add_sms_template_of_a_verification_code_template() -> None:
    request = build_submit(DRAFT, make_config(), NOW, "nonce-1")
    assert request.method == "POST"
    assert request.headers["x-acs-action"] == "AddSmsTemplate"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=")
    assert query_of(request) == {
        "TemplateType": "0",
        "TemplateName": "otpgate shop login zh-CN",
        "TemplateContent": "小店的验证码为${code}，请勿泄露。",
        "Remark": "otpgate verification code of 小店 (login, zh-CN)",
    }


def test_the_query_asks_for_one_template_code_and_v1_signs_it_in_the_form() -> None:
    request = build_query("SMS_152550005", make_config(signature_version="v1"), NOW, "n-2")
    form = dict(parse_qsl(request.content.decode()))
    assert form["Action"] == "QuerySmsTemplate" and form["TemplateCode"] == "SMS_152550005"
    assert form["SignatureMethod"] == "HMAC-SHA1" and form["Signature"]


# --- answers, pinned to the examples of Alibaba's AddSmsTemplate and QuerySmsTemplate pages


def test_the_documented_add_answer_is_submitted_with_its_template_code() -> None:
    documented = {
        "Message": "OK",
        "RequestId": "2184201F-BFB3-446B-B1F2-C746B7BF0657",
        "TemplateCode": "SMS_152550005",
        "Code": "OK",
    }
    assert parse_submit(reply(200, documented)) == ReviewAnswer("submitted", "SMS_152550005")


QUERY_EXAMPLE = {
    "TemplateType": 1,
    "TemplateContent": "亲爱的会员！阿里云短信服务祝您新年快乐！",
    "TemplateName": "阿里云短信测试模板",
    "Message": "OK",
    "RequestId": "0A974B78-02BF-4C79-ADF3-90CFBA1B55B1",
    "TemplateCode": "SMS_167035184",
    "CreateDate": "2019-06-04 11:42:17",
    "Code": "OK",
    "TemplateStatus": 1,
    "Reason": "非验证码类型短信，请选择短信通知类型为推广短信。",
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (1, ReviewAnswer("approved", "SMS_167035184")),
        (0, ReviewAnswer("submitted", "SMS_167035184")),
        (2, ReviewAnswer("rejected", "SMS_167035184", QUERY_EXAMPLE["Reason"])),  # type: ignore[arg-type]
    ],
)
def test_the_documented_query_answer_reads_as_its_template_status(
    status: int, expected: ReviewAnswer
) -> None:
    answer = parse_query(reply(200, {**QUERY_EXAMPLE, "TemplateStatus": status}), "SMS_167035184")
    assert answer == expected


def test_a_canceled_template_is_rejected_and_says_so() -> None:
    body = {**QUERY_EXAMPLE, "TemplateStatus": 10, "Reason": ""}
    assert parse_query(reply(200, body), "SMS_1") == ReviewAnswer(
        "rejected", "SMS_167035184", "canceled at Alibaba Cloud"
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (  # business refusals are HTTP 200 with Code != OK
            reply(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"}),
            ReviewFailure("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"),
        ),
        (  # the gateway refuses with 4xx and the same body
            reply(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature…"}),
            ReviewFailure("SignatureDoesNotMatch", "Specified signature…"),
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"),
         ReviewFailure("http_502", "<html>bad gateway</html>")),
        (reply(200, {"Code": "OK", "Message": "OK"}),
         ReviewFailure("unparseable", "an answer without a TemplateCode")),
    ],
)  # fmt: skip
def test_refusals_and_unreadable_answers_are_failures(
    response: httpx.Response, expected: ReviewFailure
) -> None:
    assert parse_submit(response) == expected


def test_a_query_answer_with_an_unknown_status_is_a_failure_not_a_guess() -> None:
    answer = parse_query(reply(200, {**QUERY_EXAMPLE, "TemplateStatus": 7}), "SMS_1")
    assert answer == ReviewFailure("unparseable", "TemplateStatus 7")


# --- rules ------------------------------------------------------------------------------


def test_a_plain_verification_template_keeps_every_rule() -> None:
    assert rules("{app_name}的验证码为{code}，请勿泄露。", CONTEXT) == []


@pytest.mark.parametrize(
    ("text", "code_length", "fragment"),
    [
        ("验证码{code}，{minutes}分钟内有效", 6, "one variable"),
        ("验证码{code}", 8, "4-6 characters"),
        ("验证码{code}" + "好" * 495, 6, "at most 500"),
        ("【小店】验证码{code}", 6, "【】"),
        ("[小店]验证码{code}", 6, "【】"),
        ("验证码{code}，详见 https://example.com", 6, "no link"),
        ("Your code is {code}", 6, "验证码, 注册码, 校验码 or 动态码"),
    ],
)
def test_each_documented_rule_is_enforced(text: str, code_length: int, fragment: str) -> None:
    context = RuleContext(code_length=code_length, minutes=5, app_name="小店")
    problems = rules(text, context)
    assert any(fragment in problem for problem in problems), problems


# --- against the verifying stub ---------------------------------------------------------


@pytest.fixture
def stub() -> AliyunStub:
    return AliyunStub()


@pytest.fixture
def stub_url(stub: AliyunStub) -> Iterator[str]:
    with serve(stub) as url:
        yield url


@pytest.mark.parametrize("version", ["v3", "v1"])
async def test_a_template_is_registered_then_follows_the_reviewers(
    stub: AliyunStub, stub_url: str, version: str
) -> None:
    config = make_config(base_url=stub_url, signature_version=version)
    async with httpx.AsyncClient() as http:
        client = ReviewClient(REVIEW, config, http)
        submitted = await client.submit(DRAFT)
        assert submitted == ReviewAnswer("submitted", "SMS_152550005")
        assert (
            stub.templates["SMS_152550005"]["TemplateContent"]
            == "小店的验证码为${code}，请勿泄露。"
        )
        assert await client.query("SMS_152550005") == submitted
        stub.review("SMS_152550005", 2, "变量属性不符合规范")
        rejected = await client.query("SMS_152550005")
    assert rejected == ReviewAnswer("rejected", "SMS_152550005", "变量属性不符合规范")


async def test_a_wrong_secret_or_an_unreachable_provider_is_a_failure(stub_url: str) -> None:
    async with httpx.AsyncClient() as http:
        wrong = ReviewClient(REVIEW, make_config(base_url=stub_url, access_key_secret="x"), http)
        gone = ReviewClient(REVIEW, make_config(base_url=closed_port_url()), http)
        refused, unreachable = await wrong.submit(DRAFT), await gone.submit(DRAFT)
    assert isinstance(refused, ReviewFailure) and refused.code == "SignatureDoesNotMatch"
    assert isinstance(unreachable, ReviewFailure) and unreachable.code == "unreachable"
