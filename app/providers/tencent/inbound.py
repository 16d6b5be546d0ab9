"""Tencent Cloud SMS reply callbacks (短信回复).

When a person replies to our message, Tencent ``POST``s one JSON object to the reply
callback URL set in the console (the documented sample, 382/5809)::

    {"extend": "扩展码", "mobile": "13xxxxxxxxx", "nationcode": "86",
     "sign": "短信签名", "text": "用户回复的内容", "time": 1457336869}

``nationcode`` and ``mobile`` make the sender, ``text`` is the reply, ``time`` Unix
seconds; ``sign`` names the signature the reply answered. The expected answer is the
same as for status callbacks, ``{"result": 0, "errmsg": "OK"}``. Tencent does not sign
it: the random token in the URL authenticates. References:
cloud.tencent.com/document/product/382/5809, tencentcloud.com/document/api/382/43548.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from app.providers.reports import CallbackError, CallbackRequest, InboundMessage
from app.providers.tencent.reports import REPLY

__all__ = ["REPLY", "parse"]


class _Reply(msgspec.Struct):
    mobile: str
    nationcode: str
    text: str
    time: int | None = None


def parse(request: CallbackRequest) -> list[InboundMessage]:
    """The reply in one reply callback (a single JSON object)."""
    try:
        reply = msgspec.json.decode(request.body, type=_Reply)
    except msgspec.DecodeError as exc:  # a ValidationError too
        raise CallbackError(f"not a Tencent reply callback: {exc}") from exc
    if not reply.mobile or not reply.nationcode.isdigit():
        raise CallbackError("a Tencent reply callback without mobile or nationcode")
    try:
        received = None if reply.time is None else datetime.fromtimestamp(reply.time, UTC)
    except (ValueError, OverflowError, OSError):  # beyond the calendar
        raise CallbackError(f"unreadable time {reply.time!r}") from None
    return [
        InboundMessage(
            sender=f"+{reply.nationcode}{reply.mobile}", text=reply.text, received_at=received
        )
    ]
