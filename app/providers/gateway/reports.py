"""Status reports from an in-house gateway that speaks otpgate's ``http`` contract.

The gateway ``POST``s one report, or a JSON array of them, signed like the send request
(:mod:`app.providers.gateway.sending`)::

    Content-Type: application/json
    Otpgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

    {"id": "<gateway message id>", "status": "delivered", "error_code": null,
     "at": "2024-05-01T12:00:03Z"}

- ``id``: the ``id`` the gateway answered the send with.
- ``status``: one of ``queued``, ``sent``, ``delivered``, ``undelivered``, ``failed``,
  which are otpgate's own words, so they map to themselves; any other word is refused.
- ``error_code``: the gateway's (or carrier's) code, a string, or null.
- ``at``: when it happened, ISO 8601 with an offset, or null; a time without an offset
  is refused, since nothing says which zone it is in.

otpgate answers ``204 No Content``; the gateway should retry anything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import msgspec

from app.providers.reports import (
    CallbackError,
    CallbackReply,
    CallbackRequest,
    DeliveryReport,
    DeliveryStatus,
)
from app.signatures import SIGNATURE_HEADER, verify_signature

if TYPE_CHECKING:
    from app.providers.gateway.config import HttpGatewayConfig

__all__ = ["REPLY", "parse", "verify"]

REPLY = CallbackReply(status_code=204, media_type="text/plain", body=b"")

_HEADER = SIGNATURE_HEADER.lower()


class _Report(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1)]
    status: DeliveryStatus
    error_code: str | None = None
    at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


_DECODER = msgspec.json.Decoder(_Report | list[_Report])


def verify(request: CallbackRequest, config: HttpGatewayConfig, now: datetime) -> bool:
    """Whether the ``Otpgate-Signature`` header signs the raw body with the config's secret.

    The same rule as the send request: HMAC-SHA256 over ``"<t>.<body>"``, ``t`` within five
    minutes of ``now``, constant-time comparison; a missing header is a failure.
    """
    header = request.headers.get(_HEADER)
    if header is None:
        return False
    return verify_signature(config.secret, header, request.body, now)


def _report(item: _Report) -> DeliveryReport:
    return DeliveryReport(
        provider_message_id=item.id,
        status=item.status,
        provider_status=item.status,
        error_code=item.error_code,
        occurred_at=None if item.at is None else item.at.astimezone(UTC),
    )


def parse(request: CallbackRequest) -> list[DeliveryReport]:
    """The reports in the body, one object or an array (possibly empty).

    Raises :class:`CallbackError` for a body that is not the contract's JSON.
    """
    try:
        decoded = _DECODER.decode(request.body)
    except msgspec.DecodeError as error:  # ValidationError is a DecodeError too
        raise CallbackError(f"gateway report does not follow the http contract: {error}") from error
    items = decoded if isinstance(decoded, list) else [decoded]
    return [_report(item) for item in items]
