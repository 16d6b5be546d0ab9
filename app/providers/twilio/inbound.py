"""Twilio Programmable Messaging incoming messages (the number's "A message comes in"
webhook).

Twilio ``POST``s ``application/x-www-form-urlencoded`` (or ``GET``s the same fields as a
query, as the number or Messaging Service is configured) for each message to our
number, e.g. (field table of twilio.com/docs/messaging/guides/webhook-request)::

    MessageSid=SM…&SmsSid=SM…&AccountSid=AC…&MessagingServiceSid=MG…
    &From=+14017122661&To=+15558675310&Body=STOP&NumMedia=0&NumSegments=1

``From`` is the sender in E.164, ``Body`` the text (up to 1600 characters). It is
signed with ``X-Twilio-Signature`` exactly as the status callbacks are
(:func:`app.providers.twilio.reports.verify`). Twilio expects TwiML: the empty
``<Response></Response>`` sends no reply. With Twilio's own opt-out handling (on by
default for long codes) Twilio forwards STOP too, answers it itself, and refuses later
sends to the number (error 21610) whatever otpgate does.
"""

from __future__ import annotations

from app.providers.reports import CallbackError, CallbackReply, CallbackRequest, InboundMessage

__all__ = ["REPLY", "parse"]

#: "To receive an incoming message and not send a reply … send the following TwiML".
REPLY = CallbackReply(
    status_code=200,
    media_type="text/xml",
    body=b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
)


def parse(request: CallbackRequest) -> list[InboundMessage]:
    """The message in one incoming-message webhook (one per request)."""
    fields = request.params()
    message_id = fields.get("MessageSid") or fields.get("SmsSid")
    sender = fields.get("From")
    if not message_id or not sender or "Body" not in fields:
        raise CallbackError("not a Twilio incoming message: no MessageSid, From or Body")
    return [InboundMessage(sender=sender, text=fields["Body"], provider_message_id=message_id)]
