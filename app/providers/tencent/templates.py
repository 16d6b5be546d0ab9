"""Tencent Cloud template review: ``AddSmsTemplate`` and ``DescribeSmsTemplateList`` (SMS
API 2021-01-11), and the rules of a verification-code template.

``AddSmsTemplate`` takes ``TemplateName``, ``TemplateContent`` (variables ``{1}``, ``{2}``
by position), ``SmsType`` (3: verification code, since the template types of
2024-05-16), ``International`` (0: mainland China) and ``Remark``, and answers
``Response.AddTemplateStatus.TemplateId``. ``DescribeSmsTemplateList`` takes
``International`` and ``TemplateIdSet`` (integers) and answers each template's
``StatusCode`` (0 approved and in force, 1 reviewing, 2 approved but not yet in force, -1
rejected) and ``ReviewReply``. A refusal is ``Response.Error``, with HTTP 200.

References: tencentcloud.com/document/api/382/40526 (AddSmsTemplate), 382/40524
(DescribeSmsTemplateList); ``tencentcloud/sms/v20210111/models.py`` of the SDK
(``AddSmsTemplateRequest``, ``DescribeTemplateListStatus``), whose ``errorcodes.py`` names
the refusals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

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
    translate,
)
from app.providers.tencent.calls import ApiError, signed_call

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.tencent.config import TencentConfig

__all__ = ["REVIEW", "build_query", "build_submit", "parse_query", "parse_submit", "rules"]

SUBMIT = "AddSmsTemplate"
QUERY = "DescribeSmsTemplateList"
VERIFICATION_CODE = 3  # SmsType 3: 验证码短信
MAINLAND_CHINA = 0  # International 0: 国内短信
# Only 0 may be sent ("只有状态值为0时该模板才能使用"): 2 is approved but not yet in force.
_STATES: dict[int, ReviewState] = {0: "approved", 1: "submitted", 2: "submitted", -1: "rejected"}


def translate_draft(draft: TemplateDraft) -> Translation:
    """``{code}``, ``{minutes}`` -> ``{1}``, ``{2}``… in order; ``{app_name}`` -> the app's name."""
    return translate(draft.text, draft.app_name, lambda _, position: f"{{{position}}}", named=False)


def build_submit(
    draft: TemplateDraft, config: TencentConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``AddSmsTemplate`` request of a mainland-China verification-code template (TC3
    has no nonce: ``nonce`` is unused)."""
    fields = {
        "TemplateName": draft.name,
        "TemplateContent": translate_draft(draft).content,
        "SmsType": VERIFICATION_CODE,
        "International": MAINLAND_CHINA,
        "Remark": draft.remark,
    }
    return signed_call(SUBMIT, fields, config, now)


def build_query(
    template_id: str, config: TencentConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``DescribeSmsTemplateList`` request of one template (its id is an integer)."""
    fields = {"International": MAINLAND_CHINA, "TemplateIdSet": [int(template_id)]}
    return signed_call(QUERY, fields, config, now)


class _Added(msgspec.Struct, rename="pascal"):
    template_id: str | int


class _Status(msgspec.Struct, rename="pascal"):
    template_id: str | int
    status_code: int
    review_reply: str = ""


class _Body(msgspec.Struct, rename="pascal"):
    error: ApiError | None = None
    add_template_status: _Added | None = None
    describe_template_status_set: list[_Status] = msgspec.field(default_factory=list)


class _Envelope(msgspec.Struct, rename="pascal"):
    response: _Body


def _read(response: httpx.Response) -> _Body | ReviewFailure:
    envelope = decode_answer(response, _Envelope)
    if envelope is None:
        return http_failure(response)
    if envelope.response.error is not None:
        return ReviewFailure(envelope.response.error.code, envelope.response.error.message)
    if response.status_code >= 300:
        return http_failure(response)
    return envelope.response


def parse_submit(response: httpx.Response) -> Review:
    """``AddTemplateStatus.TemplateId`` -> submitted; ``Error`` -> its code and message."""
    body = _read(response)
    if isinstance(body, ReviewFailure):
        return body
    added = body.add_template_status
    if added is None or not str(added.template_id).isdigit():
        return ReviewFailure("unparseable", "an answer without a numeric TemplateId")
    return ReviewAnswer("submitted", str(added.template_id))


def parse_query(response: httpx.Response, template_id: str) -> Review:
    """The ``StatusCode`` of ``template_id`` in ``DescribeTemplateStatusSet``, with the
    ``ReviewReply`` of a refusal."""
    body = _read(response)
    if isinstance(body, ReviewFailure):
        return body
    found = [s for s in body.describe_template_status_set if str(s.template_id) == template_id]
    if not found:
        return ReviewFailure("FailedOperation.TemplateIdNotExist", f"no template {template_id}")
    state = _STATES.get(found[0].status_code)
    if state is None:
        return ReviewFailure("unparseable", f"StatusCode {found[0].status_code}")
    reason = (found[0].review_reply or "rejected") if state == "rejected" else None
    return ReviewAnswer(state, template_id, reason)


# --- rules (pure) -------------------------------------------------------------------

# Tencent's rules for a body template (cloud.tencent.com/document/product/382/39023,
# 正文模板审核标准): at most 500 characters with the signature and the variables' values
# (短信总长度(含签名和变量的实际取值)最长不超过500字); no 【】, which would be taken for the
# signature; variables are {1}, {2}… (变量格式 {数字}), so a literal brace would read as one;
# no template of variables only (不支持全变量模板); a verification code's variable holds 0-6
# digits only (验证码短信模板变量的实际内容仅支持0-6位纯数字).
MAX_LENGTH = 500


def rules(text: str, context: RuleContext) -> list[str]:
    """What in ``text`` Tencent's verification-code rules refuse (``text`` passed otpgate's
    own checks: it parses and holds ``{code}``)."""
    problems = []
    if context.code_length > 6:
        problems.append(
            f"its code variable holds at most 6 digits; this app's codes have "
            f"{context.code_length} (code_length)"
        )
    signature = f"【{context.sign_name}】" if context.sign_name else ""
    values = {
        "code": "0" * context.code_length,
        "minutes": str(context.minutes),
        "app_name": context.app_name,
    }
    length = len(signature + fill(text, values))
    if length > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters with the signature; this has {length}")
    constant = fill(text, {**values, "code": "", "minutes": ""})
    if "【" in constant or "】" in constant:
        problems.append("no 【】: Tencent adds the signature in them itself")
    if "{" in constant or "}" in constant:
        problems.append("no literal braces: Tencent reads {1}, {2}… as its variables")
    if not constant.strip():
        problems.append("a template of variables only is refused: add some text")
    return problems


REVIEW: ReviewApi[TencentConfig] = ReviewApi(
    # International 0 registers a mainland-China template, which Tencent refuses to send to
    # any other number (UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone).
    regions=frozenset({"CN"}),
    translate=translate_draft,
    rules=rules,
    build_submit=build_submit,
    parse_submit=parse_submit,
    build_query=build_query,
    parse_query=parse_query,
)
