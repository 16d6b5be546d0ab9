"""The interface every SMS provider adapter implements, and what it returns."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

__all__ = ["ErrorKind", "OutgoingMessage", "Provider", "SendResult"]

#: retryable: try the next provider; permanent: the number or content is refused;
#: account: our account at the provider (balance, credentials) is the problem.
ErrorKind = Literal["retryable", "permanent", "account"]


class OutgoingMessage(msgspec.Struct, frozen=True):
    """One SMS to send: the rendered text, and the parts template providers need."""

    message_id: str
    to: str  # E.164
    region: str
    locale: str
    text: str
    code: str
    minutes: int


class SendResult(msgspec.Struct, frozen=True):
    """What a provider answered: accepted with its message id, or an error."""

    accepted: bool
    provider_message_id: str | None = None
    error_kind: ErrorKind | None = None
    error_code: str | None = None
    error_message: str | None = None


class Provider(Protocol):
    """An SMS provider. Adapters translate; they never retry (the router does)."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...
