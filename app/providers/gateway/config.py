"""An in-house gateway: the fields of ``[providers.<name>]`` with ``type = "http"``."""

from __future__ import annotations

import msgspec

from app.sensitive import Secret

__all__ = ["HttpGatewayConfig"]


class HttpGatewayConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="http"
):
    """Where the gateway listens and the secret both sides sign with."""

    #: the gateway's send endpoint, e.g. ``https://sms-gateway.internal/v1/messages``.
    url: str
    #: the shared signing secret (HMAC-SHA256 key); never sent itself.
    secret: Secret
    #: static headers added to every request (e.g. a routing or tenant header); they
    #: cannot replace the content type, signature or idempotency headers.
    headers: dict[str, Secret] = msgspec.field(default_factory=dict)
