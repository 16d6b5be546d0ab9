"""Cloopen / Ronglian (容联云通讯) ``SMSArrived`` pushes: status reports, in JSON or XML.

Ronglian ``POST``s to the app's "短信状态报告回调地址", as JSON or XML according to the
app's setting (doc.yuntongxun.com, SMS push; the field notes below are the doc's words as
quoted by integrations, the doc page itself was not at hand)::

    {"Request": {"action": "SMSArrived", "smsType": "1", "apiVersion": "2013-12-26",
                 "content": "4121908f3d1b4edb9210f0eb4742f62c", "fromNum": "13912345678",
                 "dateSent": "20130923010000", "deliverCode": "DELIVRD",
                 "recvTime": "20130923010010", "status": "0", "reqId": "123",
                 "smsCount": "2"}}

    <?xml version="1.0" encoding="UTF-8" standalone="yes"?><Request>
      <action>SMSArrived</action><smsType>1</smsType>... </Request>

- ``smsType``: ``1`` a status report, ``0`` an upstream (MO) message (its ``content`` is
  the text the user sent): only ``1`` becomes a report.
- ``content`` (smsType 1): the ``smsMessageSid`` the send answer gave.
- ``status``: ``0`` received, any other value not received ("0为接收成功，其它值为接收
  失败"); ``deliverCode``: the carrier gateway's status word when ``status`` is not 0.
- ``recvTime``: when the message reached the handset, ``YYYYMMDDHHMMSS`` in Beijing time
  (Ronglian's own clock is Beijing time, as in the request ``sig`` timestamp).
- No signature: the caller authenticates the push by a random token in the path.

Status mapping:

====================  ============  ==================================================
Ronglian ``status``    ours          ``error_code``
====================  ============  ==================================================
``0``                  delivered     None
anything else          undelivered   ``deliverCode`` (the carrier's word), else status
====================  ============  ==================================================

Every non-zero status is a receipt from the carrier that the handset did not get the
message, so ``undelivered``; Ronglian documents no code for "refused before the carrier"
(its refusals come back synchronously from ``TemplateSMS``).

The reply is the acknowledgement Ronglian's callbacks use,
``<Response><statuscode>000000</statuscode></Response>`` with HTTP 200.
"""

from __future__ import annotations

from xml.etree import ElementTree

import msgspec

from app.providers.beijing import DIGITS, beijing_time
from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport

__all__ = ["REPLY", "parse"]

REPLY = CallbackReply(
    status_code=200,
    media_type="application/xml",
    body=(
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b"<Response><statuscode>000000</statuscode></Response>"
    ),
)

_ACTION = "SMSArrived"
_STATUS_REPORT = "1"
_RECEIVED = "0"
# A push never needs a DTD; refusing one rules out entity expansion and external entities
# (defusedxml would do the same, but it is not a dependency of otpgate).
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


def _xml_fields(body: bytes) -> dict[str, str]:
    if any(marker in body for marker in _DTD_MARKERS):
        raise CallbackError("Ronglian XML push with a DTD")
    try:
        root = ElementTree.fromstring(body.strip())  # noqa: S314 - DTDs refused above
    except ElementTree.ParseError as error:
        raise CallbackError(f"Ronglian push is not XML: {error}") from error
    if root.tag != "Request":
        raise CallbackError(f"Ronglian XML push has root <{root.tag}>, not <Request>")
    return {child.tag: (child.text or "").strip() for child in root}


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise CallbackError(f"Ronglian push is not JSON: {error}") from error
    request = decoded.get("Request") if isinstance(decoded, dict) else None
    if not isinstance(request, dict):
        raise CallbackError('Ronglian JSON push without a "Request" object')
    return {str(name): str(value).strip() for name, value in request.items() if value is not None}


def _fields(request: CallbackRequest) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if "xml" in content_type or request.body.lstrip().startswith(b"<"):
        return _xml_fields(request.body)
    return _json_fields(request.body)


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The report in an ``SMSArrived`` push, or [] for an upstream message or other action.

    Raises :class:`CallbackError` for a body that is neither JSON nor XML, a push without
    ``action``/``smsType``, or a status report without ``content`` or ``status``.
    """
    fields = _fields(request)
    action = fields.get("action", "")
    sms_type = fields.get("smsType", "")
    if not action or not sms_type:
        raise CallbackError("Ronglian push without action or smsType")
    if action != _ACTION or sms_type != _STATUS_REPORT:
        return []
    message_id = fields.get("content", "")
    status = fields.get("status", "")
    if not message_id or not status:
        raise CallbackError("Ronglian status report without content or status")
    received = status == _RECEIVED
    return [
        DeliveryReport(
            provider_message_id=message_id,
            status="delivered" if received else "undelivered",
            provider_status=status,
            error_code=None if received else (fields.get("deliverCode") or status),
            occurred_at=beijing_time(fields.get("recvTime", ""), DIGITS, "recvTime"),
        )
    ]
