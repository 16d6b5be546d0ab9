"""Alibaba Cloud template review: ``AddSmsTemplate`` and ``QuerySmsTemplate`` (Dysmsapi
2017-05-25), and the rules of a verification-code template.

``AddSmsTemplate`` takes ``TemplateType`` (0: verification code), ``TemplateName`` (30
characters at most), ``TemplateContent`` (variables as ``${name}``) and ``Remark`` (100
at most), and answers the new ``TemplateCode``. ``QuerySmsTemplate`` takes that
``TemplateCode`` and answers ``TemplateStatus`` (0 reviewing, 1 approved, 2 rejected, 10
canceled) with the reviewer's ``Reason``. Like ``SendSms``, a refusal is HTTP 200 with
``Code != "OK"``, a gateway refusal HTTP 4xx with the same body.

References: help.aliyun.com/document_detail/121207 (AddSmsTemplate), 419289
(QuerySmsTemplate), 101346 (error codes); the SDK's ``AddSmsTemplateRequest`` and
``QuerySmsTemplateResponseBody`` (alibabacloud_dysmsapi20170525).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from app.providers.aliyun.calls import signed_call
from app.providers.base import decode_answer
from app.providers.review import (
    Review,
    ReviewAnswer,
    ReviewApi,
    ReviewFailure,
    ReviewState,
    RuleContext,
    TemplateDraft,
    Translation,
    fill,
    http_failure,
    pieces,
    translate,
)

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.aliyun.config import AliyunConfig

__all__ = ["REVIEW", "build_query", "build_submit", "parse_query", "parse_submit", "rules"]

SUBMIT = "AddSmsTemplate"
QUERY = "QuerySmsTemplate"
VERIFICATION_CODE = "0"  # TemplateType 0: 验证码
_STATES: dict[int, ReviewState] = {0: "submitted", 1: "approved", 2: "rejected", 10: "rejected"}


def translate_draft(draft: TemplateDraft) -> Translation:
    """``{code}`` -> ``${code}``; ``{app_name}`` -> the app's name."""
    return translate(draft.text, draft.app_name, lambda name, _: f"${{{name}}}", named=True)


def build_submit(
    draft: TemplateDraft, config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``AddSmsTemplate`` request of a verification-code template."""
    params = {
        "TemplateType": VERIFICATION_CODE,
        "TemplateName": draft.name[:30],
        "TemplateContent": translate_draft(draft).content,
        "Remark": draft.remark[:100],
    }
    return signed_call(SUBMIT, params, config, now, nonce)


def build_query(template_id: str, config: AliyunConfig, now: datetime, nonce: str) -> httpx.Request:
    """The ``QuerySmsTemplate`` request of one ``TemplateCode``."""
    return signed_call(QUERY, {"TemplateCode": template_id}, config, now, nonce)


class _Reply(msgspec.Struct, rename="pascal"):
    code: str | None = None
    message: str = ""
    template_code: str | None = None
    template_status: int | None = None
    reason: str | None = None


def _read(response: httpx.Response) -> _Reply | ReviewFailure:
    reply = decode_answer(response, _Reply)
    if reply is None or reply.code is None:
        return http_failure(response)
    if response.status_code >= 300 or reply.code != "OK":
        return ReviewFailure(reply.code, reply.message)
    return reply


def parse_submit(response: httpx.Response) -> Review:
    """``Code == "OK"`` -> submitted, with the ``TemplateCode``; else the refusal."""
    reply = _read(response)
    if isinstance(reply, ReviewFailure):
        return reply
    if not reply.template_code:
        return ReviewFailure("unparseable", "an answer without a TemplateCode")
    return ReviewAnswer("submitted", reply.template_code)


def parse_query(response: httpx.Response, template_id: str) -> Review:
    """``TemplateStatus`` as a review state; ``Reason`` only for a refusal (approved and
    reviewing templates answer "无审批备注", no remark)."""
    reply = _read(response)
    if isinstance(reply, ReviewFailure):
        return reply
    state = _STATES.get(reply.template_status) if reply.template_status is not None else None
    if state is None:
        return ReviewFailure("unparseable", f"TemplateStatus {reply.template_status!r}")
    reason = None
    if state == "rejected":
        canceled = reply.template_status == 10
        reason = reply.reason or ("canceled at Alibaba Cloud" if canceled else "rejected")
    return ReviewAnswer(state, reply.template_code or template_id, reason)


# --- rules (pure) -------------------------------------------------------------------

# Alibaba's rules for a verification-code template, as documented:
# - help.aliyun.com/document_detail/463237 (验证码模板规范): one variable only (验证码模板仅
#   支持添加一个变量) of 4-6 characters (变量长度限制:4~6个字符); 1-500 characters with the
#   variable (模板内容长度限制:1~500个字符(含变量)); 【】 nowhere, [ ] not at either end
#   (the signature is shown in 【】); no link (验证码模板不支持链接); a domestic one names
#   itself 验证码, 注册码, 校验码 or 动态码 (国内验证码模板必须包含…中的任意一个);
# - help.aliyun.com/document_detail/2806243 (变量规范): the code variable is 4-6 digits, or
#   4-6 letters and digits.
_KEYWORDS = ("验证码", "注册码", "校验码", "动态码")
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
MAX_LENGTH = 500


def rules(text: str, context: RuleContext) -> list[str]:
    """What in ``text`` Alibaba's verification-code rules refuse (``text`` passed
    otpgate's own checks: it parses and holds ``{code}``)."""
    problems = []
    if any(name == "minutes" for _, name in pieces(text)):
        problems.append(
            "a verification-code template holds one variable, the code: write the minutes "
            "as text (e.g. 5分钟)"
        )
    if not 4 <= context.code_length <= 6:
        problems.append(
            f"its code variable holds 4-6 characters; this app's codes have "
            f"{context.code_length} digits (code_length)"
        )
    content = fill(
        text, {"code": "0" * context.code_length, "minutes": "", "app_name": context.app_name}
    )
    if len(content) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters with the code; this has {len(content)}")
    if "【" in content or "】" in content or content.startswith("[") or content.endswith("]"):
        problems.append("no 【】 anywhere, nor [ ] at either end: they mark the signature")
    if _LINK.search(content):
        problems.append("a verification-code template may hold no link")
    if not any(keyword in content for keyword in _KEYWORDS):
        problems.append("it must name itself 验证码, 注册码, 校验码 or 动态码")
    return problems


REVIEW: ReviewApi[AliyunConfig] = ReviewApi(
    # TemplateType 0 registers a mainland-China template (an international one is type 3).
    regions=frozenset({"CN"}),
    translate=translate_draft,
    rules=rules,
    build_submit=build_submit,
    parse_submit=parse_submit,
    build_query=build_query,
    parse_query=parse_query,
)
