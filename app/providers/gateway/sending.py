"""Sending to an in-house SMS gateway that speaks otpgate's own contract.

Request — ``POST {url}`` with the rendered text (the code is never sent on its own)::

    Content-Type: application/json
    Idempotency-Key: <message id>
    Otpgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

    {"id": "<message id>", "to": "+8613800000000", "text": "...", "locale": "zh-CN",
     "region": "CN"}

The gateway should check the signature with :func:`verify_signature` (or its own
implementation of the same rule), and treat a repeated ``Idempotency-Key`` as the same
message.

Response — what the gateway answers, and what otpgate makes of it:

- 2xx with ``{"id": "<gateway message id>"}``: accepted.
- 4xx with ``{"error": {"code": "<str>", "kind": "permanent" | "account",
  "message": "<optional str>"}}``: failed with that kind. Without a (known) ``kind``,
  401 and 403 are ``account`` and any other 4xx is ``permanent``.
- 408, 429 and 5xx: ``retryable``; the ``error`` object's code is kept if there is one.
- A 2xx without an ``id``, or an error body that is not this JSON: ``retryable``
  (``account`` for 401 and 403). Other statuses: ``retryable``.

The signature scheme (the one Stripe and Svix use for webhooks: timestamped HMAC-SHA256,
several ``v1`` values allowed during a secret rotation) is also what otpgate signs the
events it sends to apps with; :func:`sign` and :func:`verify_signature` serve both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import SendResult, decode_answer, http_failure, unparseable
from app.signatures import SIGNATURE_HEADER, signature_header

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import ErrorKind, OutgoingMessage
    from app.providers.gateway.config import HttpGatewayConfig

__all__ = ["build_request", "parse_response"]


def build_request(
    message: OutgoingMessage, config: HttpGatewayConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The signed ``POST``; the message id is the idempotency key, so no nonce is needed."""
    body = msgspec.json.encode(
        {
            "id": message.message_id,
            "to": message.to,
            "text": message.text,
            "locale": message.locale,
            "region": message.region,
        }
    )
    headers = httpx.Headers(config.headers)
    # Set one by one: httpx.Headers replaces a static header whatever its case.
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = message.message_id
    headers[SIGNATURE_HEADER] = signature_header(config.secret, int(now.timestamp()), body)
    return httpx.Request("POST", config.url, headers=headers, content=body)


class _Accepted(msgspec.Struct):
    id: str


class _Error(msgspec.Struct):
    code: str
    kind: str | None = None
    message: str = ""


class _Refusal(msgspec.Struct):
    error: _Error


_REFUSAL_KINDS: dict[str, ErrorKind] = {
    "permanent": "permanent",
    "account": "account",
    "retryable": "retryable",
}


def _is_refusal(status: int) -> bool:
    """A 4xx that says "not this request", as opposed to "not now" (408, 429)."""
    return 400 <= status < 500 and status not in (408, 429)


def parse_response(response: httpx.Response) -> SendResult:
    """Classify the gateway's answer by the contract in this module's docstring."""
    status = response.status_code
    if response.is_success:
        accepted = decode_answer(response, _Accepted)
        return unparseable(response) if accepted is None else SendResult.ok(accepted.id)
    refusal = decode_answer(response, _Refusal)
    if refusal is None:
        # Not the gateway's own words (a proxy's page, a wrong URL): only a refused
        # login is clearly about us; anything else may work elsewhere.
        return http_failure(response)
    error = refusal.error
    kind: ErrorKind
    if not _is_refusal(status):
        kind = "retryable"
    elif error.kind in _REFUSAL_KINDS:
        kind = _REFUSAL_KINDS[error.kind]
    else:
        kind = "account" if status in (401, 403) else "permanent"
    return SendResult.failed(kind, error.code, error.message)
