"""Sending through Cloopen / Ronglian (容联云通讯) template SMS, REST API version 2013-12-26.

``POST {base_url}/2013-12-26/Accounts/{accountSid}/SMS/TemplateSMS?sig={sig}`` with a
JSON body ``{"to", "appId", "templateId", "datas"}``
(https://doc.yuntongxun.com/p/5a533de33b8496dd00dce07c; the official ``ronglian_sms_sdk``
builds the same request), authenticated as :mod:`app.providers.cloopen.signing` says.

Cloopen answers HTTP 200 for business errors too: ``statusCode`` ``"000000"`` with
``templateSMS.smsMessageSid`` is accepted, anything else comes with ``statusMsg``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, template_values, unparseable
from app.providers.cloopen.signing import account_request
from app.providers.config import template_for

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.base import OutgoingMessage
    from app.providers.cloopen.config import CloopenConfig

__all__ = ["ACCEPTED", "build_request", "parse_response", "recipient"]

#: the ``statusCode`` of success, in send and account answers alike.
ACCEPTED = "000000"
_MAINLAND_PREFIX = "+86"

# statusCode -> kind, from Ronglian's error-code table (doc.yuntongxun.com "错误码").
_ERROR_KINDS: dict[str, ErrorKind] = {
    # The recipient: a bad, empty or blocked number will fail at any provider.
    "112300": "permanent",  # 接收短信的手机号码为空
    "112306": "permanent",  # 接收模板短信的手机号码为空
    "160034": "permanent",  # 号码黑名单
    "160042": "permanent",  # 号码格式有误
    "160044": "permanent",  # 发送号码为空
    "160051": "permanent",  # 营销退订号码
    "160068": "permanent",  # 平台全部退订号码黑名单
    "160072": "permanent",  # 关键号码黑名单
    "160073": "permanent",  # 运营商投诉号码黑名单
    "160074": "permanent",  # 高危投诉号码黑名单
    # The template or its content was refused.
    "112301": "permanent",  # 短信正文为空
    "112307": "permanent",  # 模板短信模板ID为空
    "112308": "permanent",  # 模板短信模板data参数为空
    "112311": "permanent",  # 短信模板不存在
    "160030": "permanent",  # 请求包体为空
    "160031": "permanent",  # 参数解析失败
    "160032": "permanent",  # 短信模板无效
    "160033": "permanent",  # 短信存在黑词
    "160035": "permanent",  # 短信下发内容为空
    "160036": "permanent",  # 短信模板类型未知
    "160037": "permanent",  # 短信内容长度限制
    "160043": "permanent",  # 应用与模板id不匹配
    "160049": "permanent",  # 短信内容含敏感词
    "160052": "permanent",  # 模板变量格式有误
    "160057": "permanent",  # 短信模板ID要求为数字
    "160069": "permanent",  # 测试模板变量非数字
    "160070": "permanent",  # 自定义短信模板不支持国际短信
    # Our account or app at Cloopen (credentials, balance, state, permissions): the
    # number is fine and another provider can reach it.
    "111142": "account",  # 主账户余额不足
    "112302": "account",  # 群发短信已暂停
    "112303": "account",  # 应用未开通短信功能
    "112305": "account",  # 应用未上线，短信接收号码外呼受限
    "112310": "account",  # 应用未上线，模板短信接收号码外呼受限
    "113302": "account",  # 测试模板且接收者不是注册的测试号码
    "160053": "account",  # IP鉴权失败
    "160058": "account",  # 账户无国际短信权限
    "160061": "account",  # 暂不支持的国家码号
    "160062": "account",  # 未开通此国家码号
    # Throttling at Cloopen: limits are per provider, another one may send now.
    "111111": "retryable",  # 超过规定的并发数
    "160038": "retryable",  # 短信验证码发送过频繁
    "160039": "retryable",  # 超出同模板同号天发送次数上限
    "160040": "retryable",  # 验证码超出同模板同号码天发送上限
    "160041": "retryable",  # 通知超出同模板同号码天发送上限
    "160056": "retryable",  # 同号码请求内容重复
    # Cloopen-side failures.
    "160000": "retryable",  # 系统错误
    "160050": "retryable",  # 短信发送失败
    "160063": "retryable",  # 短信发送失败
    "160064": "retryable",  # 短信发送失败
}


def _kind_of_code(code: str) -> ErrorKind:
    if code in _ERROR_KINDS:
        return _ERROR_KINDS[code]
    # 1111xx: the request's authentication or our main account and app (bad sig or
    # Authorization, unknown or suspended account, app not published...).
    if code.startswith("1111"):
        return "account"
    # 1110xx internal errors, and codes we do not know: another provider may succeed.
    return "retryable"


def recipient(e164: str) -> str:
    """``to`` as Cloopen wants it: mainland numbers as 11 national digits, others ``00…``.

    Ronglian's international SMS takes the international dialling form (``00`` +
    country code + number); not yet confirmed against a live account.
    """
    if e164.startswith(_MAINLAND_PREFIX):
        return e164.removeprefix(_MAINLAND_PREFIX)
    return "00" + e164.removeprefix("+")


def build_request(
    message: OutgoingMessage, config: CloopenConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``TemplateSMS`` request; the timestamp is the only freshness, no nonce."""
    template = template_for(config.templates, message.locale)
    body = {
        "to": recipient(message.to),
        "appId": config.app_id,
        "templateId": template.id,
        "datas": template_values(template, message),
    }
    return account_request("POST", config, "SMS/TemplateSMS", now, msgspec.json.encode(body))


class _TemplateSMS(msgspec.Struct):
    sms_message_sid: str = msgspec.field(name="smsMessageSid")


class _Answer(msgspec.Struct):
    status_code: str = msgspec.field(name="statusCode")
    status_msg: str = msgspec.field(default="", name="statusMsg")
    template_sms: _TemplateSMS | None = msgspec.field(default=None, name="templateSMS")


def parse_response(response: httpx.Response) -> SendResult:
    """``statusCode`` ``000000`` is accepted; any other code is classified."""
    answer = decode_answer(response, _Answer)
    if answer is None:
        return SendResult.failed("retryable", f"http_{response.status_code}", response.text[:200])
    if response.status_code >= 500:
        return SendResult.failed("retryable", answer.status_code, answer.status_msg)
    if answer.status_code == ACCEPTED:
        if response.is_success and answer.template_sms is not None:
            return SendResult.ok(answer.template_sms.sms_message_sid)
        return unparseable(response)
    return SendResult.failed(
        _kind_of_code(answer.status_code), answer.status_code, answer.status_msg
    )
