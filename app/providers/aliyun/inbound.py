"""Alibaba Cloud SMS inbound messages: ``SmsUp`` in HTTP batch push mode (上行短信消息).

Alibaba ``POST``s ``application/json`` to the ``SmsUp`` receiving address set in the
console (回执消息配置, beside ``SmsReport``'s): a JSON **array**, one object per message
people sent back, and one push may carry many (the documented sample)::

    [{"phone_number": "1381111****", "send_time": "2017-09-01 00:00:00",
      "content": "内容", "sign_name": "签名", "dest_code": "1234",
      "sequence_id": 1234567890}]

``phone_number`` is a mainland number's 11 digits (the service's inbound messages come
from mainland numbers), ``content`` the text, ``send_time`` when the carrier pushed it,
in Beijing time; ``sequence_id`` (a number in the first version of the document, a
string in the current one) tells messages apart. The expected answer is the one of
``SmsReport``, ``{"code": 0, "msg": "接收成功"}``; a failed push is tried again after 1, 5
and 10 minutes. Alibaba does not sign it: the random token in the URL authenticates.
References: help.aliyun.com/zh/sms/developer-reference/smsup-http,
help.aliyun.com/knowledge_detail/60127.
"""

from __future__ import annotations

import msgspec

from app.providers.aliyun.reports import REPLY
from app.providers.beijing import SPACED, beijing_time
from app.providers.reports import CallbackError, CallbackRequest, InboundMessage

__all__ = ["REPLY", "parse", "sender"]


class _SmsUp(msgspec.Struct):
    phone_number: str | None = None
    content: str | None = None
    send_time: str | None = None
    sequence_id: int | str | None = None


def sender(phone_number: str) -> str:
    """``phone_number`` in E.164: ``+86`` before a mainland number's 11 digits, a number
    given with its country code (``+…``, ``00…``, ``86`` and 11 digits) as it is."""
    number = phone_number.strip()
    if number.startswith("+"):
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    if len(number) == 13 and number.startswith("86"):
        return "+" + number
    return "+86" + number


def parse(request: CallbackRequest) -> list[InboundMessage]:
    """The messages in one ``SmsUp`` push (a JSON array of messages)."""
    try:
        entries = msgspec.json.decode(request.body, type=list[_SmsUp])
    except msgspec.DecodeError as exc:
        raise CallbackError(f"not an Alibaba SmsUp array: {exc}") from exc
    messages = []
    for entry in entries:
        if not entry.phone_number or entry.content is None:
            raise CallbackError("an SmsUp entry lacks phone_number or content")
        messages.append(
            InboundMessage(
                sender=sender(entry.phone_number),
                text=entry.content,
                provider_message_id=None if entry.sequence_id is None else str(entry.sequence_id),
                received_at=beijing_time(entry.send_time, SPACED, "send_time"),
            )
        )
    return messages
