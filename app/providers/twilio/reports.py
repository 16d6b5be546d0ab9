"""Twilio Programmable Messaging status callbacks.

Twilio ``POST``s ``application/x-www-form-urlencoded`` to the message's
``StatusCallback`` URL on each status change, one message per request, e.g. (doc
example for ``sent``)::

    AccountSid=AC…&From=+15017250604&MessageSid=SM1342fe1b2c904d1ab04f0fc7a58abca9
    &MessageStatus=sent&SmsSid=SM1342fe1b2c904d1ab04f0fc7a58abca9&SmsStatus=sent

``ErrorCode`` comes with ``failed``/``undelivered``; ``RawDlrDoneDate`` (``YYMMDDhhmm``)
with most ``delivered``/``undelivered`` SMS. The field set grows without notice, so
nothing is whitelisted. Twilio wants a 200; the body is ignored. References:
twilio.com/docs/messaging/guides/track-outbound-message-status,
twilio.com/docs/usage/security#validating-requests.

Status mapping (``MessageStatus``, falling back on the legacy ``SmsStatus``):

==================================  ===============
MessageStatus                       status
==================================  ===============
queued, accepted, scheduled         ``queued``
sending, sent, partially_delivered  ``sent``
delivered, read                     ``delivered``
undelivered                         ``undelivered``
failed, canceled                    ``failed``
receiving, received                 not a delivery report: ``[]``
==================================  ===============

``partially_delivered`` is in the API's status enum but not described for SMS
callbacks; ``sent`` is the one claim it certainly supports, and it stays open for a final
report. ``occurred_at`` stays ``None``: ``RawDlrDoneDate`` is the carrier's done date
passed through without a time zone, and Twilio's changelog (2023-02-14, "Addition of
RawDlrDoneDate…") warns the offset "varies between carrier partners and even within the
same carrier", so no UTC instant can honestly be made of it.

:func:`verify` checks ``X-Twilio-Signature`` with the account's Auth Token (HMAC-SHA1).
A callback signed by a Webhooks Rule's SharedKey (``X-Twilio-Webhooks-Signature-Settings``)
does not verify with it, and an account configured with an API key only cannot verify.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, DeliveryReport
from app.providers.twilio.signing import twilio_body_hash, twilio_signature

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.reports import DeliveryStatus
    from app.providers.twilio.config import TwilioConfig

__all__ = ["REPLY", "parse", "verify"]

#: "Your response … should have an HTTP status code of 200 (OK). No response content is
#: required."
REPLY = CallbackReply(status_code=200, media_type="text/plain", body=b"")

_STATUSES: dict[str, DeliveryStatus] = {
    "queued": "queued",
    "accepted": "queued",
    "scheduled": "queued",
    "sending": "sent",
    "sent": "sent",
    "partially_delivered": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Statuses of a message someone sent to us: an inbound webhook, not a delivery report.
_INBOUND_STATUSES = frozenset({"receiving", "received"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The delivery report in one status callback (one message per request)."""
    fields = request.params()
    status_word = fields.get("MessageStatus") or fields.get("SmsStatus")
    if status_word in _INBOUND_STATUSES:
        return []
    message_id = fields.get("MessageSid") or fields.get("SmsSid")
    if not message_id or not status_word:
        raise CallbackError("not a Twilio status callback: no MessageSid or MessageStatus")
    status = _STATUSES.get(status_word)
    if status is None:
        raise CallbackError(f"unknown MessageStatus {status_word!r}")
    return [
        DeliveryReport(
            provider_message_id=message_id,
            status=status,
            provider_status=status_word,
            error_code=fields.get("ErrorCode") or None,
        )
    ]


def verify(request: CallbackRequest, config: TwilioConfig, now: datetime) -> bool:
    """Whether ``X-Twilio-Signature`` signs this request with the account's Auth Token.

    The signature covers the full URL and the sorted form fields. Twilio is
    inconsistent about ports, so, like its SDK, the URL counts with and without one.
    A JSON webhook signs its URL only, whose ``bodySHA256`` must then hash the body.
    The scheme has no timestamp: ``now`` is unused.
    """
    signature = request.headers.get("x-twilio-signature")
    if not signature or config.auth_token is None:
        return False
    body_hashes = request.query.get("bodySHA256")
    if body_hashes:
        if not _same(twilio_body_hash(request.body), body_hashes[-1]):
            return False
        signed_fields: dict[str, list[str]] = {}
    else:
        signed_fields = request.form() if request.method == "POST" else {}
    return any(
        _same(twilio_signature(config.auth_token, url, signed_fields), signature)
        for url in _url_variants(request.url)
    )


def _same(expected: str, received: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters, which a forger may send.
    return hmac.compare_digest(expected.encode(), received.encode())


def _url_variants(url: str) -> list[str]:
    """``url`` as received, and with its port removed, or the scheme's default port added."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: sign the URL as received
        return [url]
    if port is not None:
        other = parts._replace(netloc=parts.netloc.rpartition(":")[0])
    elif parts.scheme in _DEFAULT_PORTS:
        other = parts._replace(netloc=f"{parts.netloc}:{_DEFAULT_PORTS[parts.scheme]}")
    else:
        return [url]
    return [url, urlunsplit(other)]
