"""Vonage (Nexmo) SMS API delivery receipts (DLR).

Vonage calls the account's "Delivery receipt" webhook (or the message's ``callback``)
once per message part, in the format chosen in the dashboard: ``GET`` with a query
string, ``POST`` with a form, or ``POST`` with a JSON object. The fields are the same in
all three, all strings; the documentation's "typical DLR"::

    {"err-code": "0", "message-timestamp": "2018-10-25 12:10:29",
     "messageId": "0B00000127FDBC63", "msisdn": "447547232824", "network-code": "23410",
     "price": "0.03330000", "scts": "1810251310", "status": "delivered", "to": "Nexmo CLI"}

plus ``api-key`` and ``client-ref``, and ``timestamp``, ``nonce`` and ``sig`` when signed
webhooks are enabled. Any 2xx stops the retries; we answer 204 No Content. References:
developer.vonage.com/en/messaging/sms/guides/delivery-receipts, the SMS API spec's
``DeliveryReceipt`` schema, developer.vonage.com/en/getting-started/concepts/signing-messages.

Status mapping (descriptions quoted from the DLR guide):

=========  ==================================================================  ===============
status     Vonage says                                                         status
=========  ==================================================================  ===============
accepted   "accepted for delivery, but has not yet been delivered"             ``sent``
buffered   "buffered for later delivery"                                       ``sent``
unknown    "No useful information available"                                   ``sent``
delivered  "Message has been delivered"                                        ``delivered``
expired    "could not be delivered within the expiry time"                     ``undelivered``
rejected   "Downstream carrier refuses to deliver message"                     ``undelivered``
failed     "Message not delivered"                                             ``failed``
=========  ==================================================================  ===============

``unknown`` makes no claim, so it maps to the one thing known (the message left Vonage)
and stays open: our final statuses never change, and a later receipt may still say
``delivered``. ``err-code`` (``0`` delivered, ``1`` unknown, ``2``-``15``, ``99``, …) is
the ``error_code``; ``0`` means no error and is dropped. ``occurred_at`` is ``scts``, when
Vonage got the carrier's receipt (``YYMMDDHHMM``, documented as UTC), else
``message-timestamp`` (``YYYY-MM-DD HH:MM:SS`` UTC, when Vonage began to push).

The report's id is ``messageId``, the part's id: a long text's later parts carry ids the
send answer did not give us (``client-ref`` is the same on every part). An inbound-SMS
webhook (``text``/``type`` and no ``status``) yields ``[]``.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport
from app.providers.vonage.signing import signature

if TYPE_CHECKING:
    from app.providers.reports import DeliveryStatus
    from app.providers.vonage.config import VonageConfig

__all__ = [
    "MAX_CLOCK_SKEW", "REPLY", "parse", "signs", "verify", "webhook_fields", "webhook_time",
]  # fmt: skip

#: Vonage wants "a success status code (any status code between 200 OK and 205 Reset
#: Content)" and reads no body.
REPLY = CallbackReply(status_code=204, media_type="text/plain", body=b"")

#: How far a signed webhook's ``timestamp`` may be from our clock before it is a replay.
MAX_CLOCK_SKEW = timedelta(minutes=5)

_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": "sent",
    "buffered": "sent",
    "unknown": "sent",
    "delivered": "delivered",
    "expired": "undelivered",
    "rejected": "undelivered",
    "failed": "failed",
}
# strptime accepts one-digit fields too; the lengths keep a truncated value out.
_TIME_LAYOUTS = (("scts", "%y%m%d%H%M", 10), ("message-timestamp", "%Y-%m-%d %H:%M:%S", 19))
# A JSON receipt's values are strings; numbers are read too, in case one is sent bare.
_JsonFields = dict[str, str | int | float | None]


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The delivery report in one DLR webhook (GET query, POST form or POST JSON)."""
    fields = webhook_fields(request)
    status_word = fields.get("status")
    if status_word is None and ("text" in fields or "type" in fields):
        return []  # an inbound SMS
    message_id = fields.get("messageId")
    if not message_id or not status_word:
        raise CallbackError("not a Vonage delivery receipt: no messageId or status")
    status = _STATUSES.get(status_word)
    if status is None:
        raise CallbackError(f"unknown DLR status {status_word!r}")
    error_code = fields.get("err-code")
    return [
        DeliveryReport(
            provider_message_id=message_id,
            status=status,
            provider_status=status_word,
            error_code=error_code if error_code not in (None, "", "0") else None,
            occurred_at=webhook_time(fields),
        )
    ]


def signs(config: VonageConfig) -> bool:
    """Signed DLRs are an account option (enabled by Vonage support, used with a
    signature secret); without a secret the URL token alone authenticates them."""
    return config.signature_secret is not None


def verify(request: CallbackRequest, config: VonageConfig, now: datetime) -> bool:
    """Whether a signed webhook's ``sig`` matches, and its ``timestamp`` is recent.

    ``sig`` is computed over every other field received (``timestamp`` and ``nonce``
    included) with the account's signature secret and method; hex case is ignored, as
    Vonage's SDKs differ in it. A ``timestamp`` more than :data:`MAX_CLOCK_SKEW` away
    from ``now`` fails. Deduplicating ``nonce`` against replays within that window is
    the caller's job (it needs storage).
    """
    if config.signature_secret is None:
        return False
    try:
        fields = webhook_fields(request)
    except CallbackError:
        return False
    received = fields.get("sig")
    timestamp = fields.get("timestamp")
    if not received or not timestamp:
        return False
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):  # not a number, or beyond the calendar
        return False
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        return False
    expected = signature(fields, config.signature_secret, config.signature_method)
    return hmac.compare_digest(expected.encode(), received.lower().encode())


def webhook_fields(request: CallbackRequest) -> dict[str, str]:
    """A webhook's fields (a delivery receipt, or an inbound message: :mod:`.inbound`),
    whichever of the three formats it came in."""
    if request.method != "POST":
        return {name: values[-1] for name, values in request.query.items()}
    if request.is_json:
        try:
            body = msgspec.json.decode(request.body, type=_JsonFields)
        except msgspec.DecodeError as exc:
            raise CallbackError(f"not a Vonage JSON delivery receipt: {exc}") from exc
        return {name: str(value) for name, value in body.items() if value is not None}
    # Vonage sends a POST's fields in its body only ("POST and query string data is
    # unsupported"), so the URL's own query takes no part.
    return {name: values[-1] for name, values in request.form().items()}


def webhook_time(fields: dict[str, str]) -> datetime | None:
    """``scts`` (a receipt's), else ``message-timestamp`` (when Vonage began to push), UTC."""
    for name, layout, length in _TIME_LAYOUTS:
        value = fields.get(name)
        if not value:
            continue
        try:
            moment = datetime.strptime(value, layout)
        except ValueError:
            moment = None
        if moment is None or len(value) != length:
            raise CallbackError(f"unreadable {name} {value!r}")
        return moment.replace(tzinfo=UTC)
    return None
