"""Chuanglan 253 (创蓝) status reports: one ``GET`` per message to the account's pushUrl.

The pushUrl is bound to the API account by Chuanglan's operations staff (one URL per
account); every report is a query string
(github.com/chuanglan-international/SMS ``docs/callBack.md``, the domestic 253 docs
"回送状态报告" carry the same fields plus ``statusDesc``, ``uid`` and ``length``)::

    http://pushUrl?receiver=admin&pswd=12345&msgid=12345&reportTime=1012241002
        &mobile=13900210021&status=DELIVRD&notifyTime=180828114243&batchSeq=...

- ``msgid`` is the ``msgId`` the send answer gave; ``uid`` echoes our message id.
- ``status`` is the gateway's word: ``DELIVRD`` is delivered, anything else is not
  ("DELIVRD代表接收成功，其他均为失败").
- ``reportTime`` is the gateway's time of the report, ``YYMMDDhhmm`` in Beijing time;
  the doc warns that its format differs from gateway to gateway, so the other forms seen
  in 253's docs (``YYMMDDhhmmss``, ``yyyyMMddHHmmss``, Unix milliseconds, ISO 8601) are
  read too, and an unreadable one leaves ``occurred_at`` empty instead of losing the
  report. ``notifyTime`` is only when 253 pushed, so it is not used.
- Newer 253 consoles may push the same fields as a form or JSON ``POST``; both are read.
- An upstream (MO) push (``moTime``, ``msg``, no ``msgid``) is not a delivery report.
- ``receiver``/``pswd`` are static credentials, empty unless 253 configures them: there
  is no signature, so the caller authenticates the push by a random token in the path.
- 253 stops retrying (3 tries, 1 minute apart) on the body ``OK``: "成功接收请响应字符串:OK".

Status mapping (253's table in ``docs/statusCode.md``, and the gateway's CMPP words):

============================================  ============  ==========================
253 ``status``                                 ours          why
============================================  ============  ==========================
``DELIVRD``                                    delivered
``SM11``, ``SM12`` (number format), ``REJECT``  failed        refused by 253 or its
(content review), ``MBBLACK``, ``DTBLACK``                    gateway before a carrier
(blacklist), ``VMFLUCTL``, ``ERR:…``                          tried the handset
``UNDELIV``, ``EXPIRED``, ``DELETED``,          undelivered   the carrier tried and did
``UNKNOWN``, ``REJECTD`` (by the SMSC), and                   not deliver; the report is
carrier codes (``MK:0001``, ``DB:0108``…)                     final either way
============================================  ============  ==========================
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from app.providers.beijing import BEIJING, DIGITS
from app.providers.reports import (
    CallbackError,
    CallbackReply,
    CallbackRequest,
    DeliveryReport,
    DeliveryStatus,
)

__all__ = ["REPLY", "parse"]

REPLY = CallbackReply(status_code=200, media_type="text/plain", body=b"OK")

_DELIVERED = "DELIVRD"
# Words for a message 253 or its gateway refused before any carrier tried to deliver it.
_REFUSED = frozenset({"SM11", "SM12", "REJECT", "MBBLACK", "DTBLACK", "VMFLUCTL"})
_PLATFORM_ERROR_PREFIX = "ERR:"
# Fields of an upstream (MO) push, sent to a pushUrl as well when 253 binds one to both.
_UPSTREAM_FIELDS = ("moTime", "msg", "destcode")
# Digit-only reportTime forms, by length; all in Beijing time.
_DIGIT_FORMATS = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S", 14: DIGITS}
_UNIX_MILLISECONDS_DIGITS = 13
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _status(word: str) -> DeliveryStatus:
    upper = word.upper()
    if upper == _DELIVERED:
        return "delivered"
    if upper in _REFUSED or upper.startswith(_PLATFORM_ERROR_PREFIX):
        return "failed"
    return "undelivered"


def _report_time(value: str) -> datetime | None:
    """``reportTime`` as an aware UTC datetime, or None when its form is not known.

    ``YYMMDDhhmm`` (the documented form), ``YYMMDDhhmmss`` and ``yyyyMMddHHmmss`` are
    Beijing time; 13 digits are Unix milliseconds; ISO 8601 keeps its offset (Beijing if
    it has none).
    """
    value = value.strip()
    try:
        if value.isascii() and value.isdigit():
            if len(value) == _UNIX_MILLISECONDS_DIGITS:
                return _UNIX_EPOCH + timedelta(milliseconds=int(value))
            if len(value) not in _DIGIT_FORMATS:
                return None
            local = datetime.strptime(value, _DIGIT_FORMATS[len(value)])
        else:
            local = datetime.fromisoformat(value)
    except ValueError:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=BEIJING)
    return local.astimezone(UTC)


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise CallbackError(f"Chuanglan report is not JSON: {error}") from error
    if not isinstance(decoded, dict):
        raise CallbackError("Chuanglan JSON report is not an object")
    return {str(name): str(value) for name, value in decoded.items() if value is not None}


def _fields(request: CallbackRequest) -> dict[str, str]:
    if request.method == "POST" and request.is_json:
        return _json_fields(request.body)
    return request.params()


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The report in a 253 push (query, form or JSON), or [] for an upstream message.

    Raises :class:`CallbackError` when ``msgid`` or ``status`` is missing or empty.
    """
    fields = _fields(request)
    message_id = fields.get("msgid", "").strip()
    word = fields.get("status", "").strip()
    if not message_id and not word and any(name in fields for name in _UPSTREAM_FIELDS):
        return []
    if not message_id or not word:
        raise CallbackError("Chuanglan report without msgid or status")
    status = _status(word)
    return [
        DeliveryReport(
            provider_message_id=message_id,
            status=status,
            provider_status=word,
            error_code=None if status == "delivered" else word,
            occurred_at=_report_time(fields.get("reportTime", "")),
        )
    ]
