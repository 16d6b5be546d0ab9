"""What a provider's callback is, and what it becomes: normalised delivery reports, and
the inbound messages people send to our senders.

Each vendor package's ``reports`` module is a translation: a pure
``parse(request) -> list[DeliveryReport]`` (one callback may carry many reports),
the exact reply the provider expects, and, where the provider signs its callbacks, a
pure ``verify(request, config, now) -> bool``. Its ``inbound`` module, where the vendor
forwards replies, is the same for messages in: ``parse(request) -> list[InboundMessage]``
and its reply, checked by the same ``verify``. ``app.delivery`` applies both without
knowing which vendor sent them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs

import msgspec

__all__ = [
    "CallbackError",
    "CallbackReply",
    "CallbackRequest",
    "DeliveryReport",
    "DeliveryStatus",
    "InboundMessage",
]

#: queued < sent < delivered | undelivered | failed. The last three are final.
DeliveryStatus = Literal["queued", "sent", "delivered", "undelivered", "failed"]


class DeliveryReport(msgspec.Struct, frozen=True):
    """One message's status, as a provider reported it."""

    provider_message_id: str
    status: DeliveryStatus
    #: the provider's own status word or code, kept as received
    provider_status: str
    error_code: str | None = None
    #: when the provider (or the carrier) says it happened, if it says
    occurred_at: datetime | None = None


class InboundMessage(msgspec.Struct, frozen=True):
    """One SMS a person sent to a provider's number (the vendors' "uplink" or reply)."""

    #: who sent it: E.164 where the vendor gives enough to make it (``+8613800138000``);
    #: checked and normalised by the caller, so anything else is dropped there
    sender: str
    #: the text as received
    text: str
    provider_message_id: str | None = None
    #: when the vendor says it arrived, if it says
    received_at: datetime | None = None


class CallbackRequest(msgspec.Struct, frozen=True):
    """An incoming callback, as the HTTP layer hands it to a parser."""

    method: str
    #: the full URL the provider called (scheme, host, path, query), for signatures
    url: str
    #: header names in lower case
    headers: dict[str, str]
    body: bytes = b""

    @property
    def is_json(self) -> bool:
        """Whether the body is JSON: by its content type, else (some providers send a
        wrong or no content type) by its first character."""
        content_type = self.headers.get("content-type", "")
        return "json" in content_type or self.body.lstrip().startswith(b"{")

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.url.partition("?")[2], keep_blank_values=True)

    def form(self) -> dict[str, list[str]]:
        """The body as application/x-www-form-urlencoded."""
        return parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)

    def params(self) -> dict[str, str]:
        """Query and form fields, the last value of each (GET or form POST callbacks)."""
        merged = {**self.query, **(self.form() if self.method == "POST" else {})}
        return {name: values[-1] for name, values in merged.items()}


class CallbackReply(msgspec.Struct, frozen=True):
    """The exact answer a provider expects, so that it stops retrying."""

    status_code: int = 200
    media_type: str = "application/json"
    body: bytes = b""


class CallbackError(ValueError):
    """The callback cannot be read (malformed body, missing fields)."""
