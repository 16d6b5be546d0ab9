"""Vonage (Nexmo) SMS API inbound messages.

Vonage sends each message to one of our virtual numbers to the account's "Inbound SMS"
webhook, in the dashboard's format (``GET`` query, ``POST`` form or ``POST`` JSON, as its
delivery receipts), e.g. (the SMS API spec's ``InboundMessage`` example)::

    {"api-key": "abcd1234", "msisdn": "447700900001", "to": "447700900000",
     "messageId": "0A0000000123ABCD1", "text": "Hello world", "type": "text",
     "keyword": "HELLO", "message-timestamp": "2020-01-01 12:00:00",
     "timestamp": "1578787200", "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}

``msisdn`` is the sender (E.164 without ``+``), ``text`` the message for ``type`` ``text``
or ``unicode``; a ``binary`` message has ``data`` and ``udh`` instead and is no reply
anyone types. A long message arrives in parts (``concat=true`` with ``concat-ref``,
``-total``, ``-part``): no part of one is a keyword message alone, so parts yield ``[]``.
Signed the same way as receipts (:func:`app.providers.vonage.reports.verify`); any 2xx
stops Vonage's retries (it retries for 24 hours otherwise). Reference:
developer.vonage.com/en/messaging/sms/guides/inbound-sms.
"""

from __future__ import annotations

from app.providers.reports import CallbackError, CallbackRequest, InboundMessage
from app.providers.vonage.reports import REPLY, webhook_fields, webhook_time

__all__ = ["REPLY", "parse"]


def parse(request: CallbackRequest) -> list[InboundMessage]:
    """The message in one inbound-SMS webhook (GET query, POST form or POST JSON)."""
    fields = webhook_fields(request)
    sender, message_id = fields.get("msisdn"), fields.get("messageId")
    if not sender or not message_id:
        raise CallbackError("not a Vonage inbound message: no msisdn or messageId")
    if fields.get("type") == "binary" or fields.get("concat", "").lower() == "true":
        return []
    if "text" not in fields:
        raise CallbackError("a Vonage inbound text message without text")
    return [
        InboundMessage(
            sender="+" + sender.removeprefix("+"),
            text=fields["text"],
            provider_message_id=message_id,
            received_at=webhook_time(fields),
        )
    ]
