"""WhatsApp through Twilio: an approved Content template sent with the Messages API.

``POST …/Messages.json`` with ``To=whatsapp:+…``, ``From=whatsapp:+…`` (or the
Messaging Service), ``ContentSid`` (``HX…``, the locale's template) and
``ContentVariables``, a JSON object of the template's variables by number
(``{"1": "123456"}``): outside a 24-hour conversation WhatsApp delivers only templates,
and a code is an authentication template. Answers and status callbacks are the SMS
ones (https://www.twilio.com/docs/whatsapp/tutorial/send-whatsapp-notification-messages-templates,
https://www.twilio.com/docs/content/send-templates-created-with-the-content-template-builder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import template_values
from app.providers.config import template_for
from app.providers.twilio.sending import account_headers, account_url

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.twilio.config import TwilioConfig

__all__ = ["build_whatsapp_request"]


def build_whatsapp_request(
    message: OutgoingMessage, config: TwilioConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``Messages.json`` request of the locale's template; no clock, no nonce."""
    template = template_for(config.whatsapp_templates, message.locale)
    variables = {str(n): value for n, value in enumerate(template_values(template, message), 1)}
    form = {"To": f"whatsapp:{message.to}"}
    sender = config.whatsapp_from or config.from_
    if sender is not None:
        form["From"] = f"whatsapp:{sender}"
    else:
        form["MessagingServiceSid"] = config.messaging_service_sid or ""
    form["ContentSid"] = template.id
    form["ContentVariables"] = msgspec.json.encode(variables).decode()
    if config.status_callback_url is not None:
        form["StatusCallback"] = config.status_callback_url
    return httpx.Request(
        "POST", account_url(config, "Messages.json"), data=form, headers=account_headers(config)
    )
