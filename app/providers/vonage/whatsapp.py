"""WhatsApp through Vonage's Messages API (v1): an approved template message.

``POST {messages_base_url}/v1/messages`` with HTTP Basic auth (API key and secret, which
the Messages API accepts beside a JWT) and a JSON body::

    {"message_type": "template", "channel": "whatsapp", "to": "447700900000",
     "from": "447700900001", "template": {"name": "verify", "parameters": ["123456"]},
     "whatsapp": {"policy": "deterministic", "locale": "en_GB"}, "client_ref": "msg_…"}

Vonage answers ``202 {"message_uuid": "…"}``, or an RFC 7807 problem whose ``type`` ends
in the error's number (``…/messages-olympus#1020``). Basic auth sends no status
webhooks, so these messages get no delivery report. References:
developer.vonage.com/en/api/messages (send a message), .../messages/concepts/errors,
developer.vonage.com/en/getting-started/concepts/authentication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, template_values, unparseable
from app.providers.config import template_locale
from app.providers.signing import basic_authorization
from app.providers.vonage.sending import digits

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.vonage.config import VonageConfig

__all__ = ["build_whatsapp_request", "parse_whatsapp_response"]


def _body(message: OutgoingMessage, config: VonageConfig) -> dict[str, object]:
    locale = template_locale(config.whatsapp_templates, message.locale)
    template = config.whatsapp_templates[locale]
    return {
        "message_type": "template",
        "channel": "whatsapp",
        "to": digits(message.to),
        "from": digits(config.whatsapp_from or config.from_ or ""),
        "template": {"name": template.id, "parameters": template_values(template, message)},
        "whatsapp": {
            "policy": "deterministic",
            "locale": template.language or locale.replace("-", "_"),
        },
        "client_ref": message.message_id,
    }


def build_whatsapp_request(
    message: OutgoingMessage, config: VonageConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The Messages API request of the locale's template; no clock, no nonce."""
    return httpx.Request(
        "POST",
        config.messages_base_url.rstrip("/") + "/v1/messages",
        content=msgspec.json.encode(_body(message, config)),
        headers={
            "Authorization": basic_authorization(config.api_key, config.api_secret or ""),
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )


class _Accepted(msgspec.Struct):
    message_uuid: str


class _Problem(msgspec.Struct):
    type: str = ""
    title: str = ""
    detail: str = ""


def _kind(status: int) -> ErrorKind:
    if status in (401, 402, 403):  # credentials, balance, a channel not enabled
        return "account"
    if status in (400, 404, 422):  # the recipient, or the template's parameters
        return "permanent"
    return "retryable"  # 429 throttled, 5xx


def parse_whatsapp_response(response: httpx.Response) -> SendResult:
    """202 with ``message_uuid`` is accepted; a problem is classified by its status."""
    if response.is_success:
        accepted = decode_answer(response, _Accepted)
        return unparseable(response) if accepted is None else SendResult.ok(accepted.message_uuid)
    problem = decode_answer(response, _Problem) or _Problem(detail=response.text[:200])
    number = problem.type.rpartition("#")[2]
    code = number if number.isdigit() else f"http_{response.status_code}"
    return SendResult.failed(_kind(response.status_code), code, problem.detail or problem.title)
