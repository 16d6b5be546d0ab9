"""The dev outbox: messages are kept in Redis for a person or a test to read.

The one place where a message body (and so a code) is stored; it exists only in dev
mode, is capped in length and expires.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

import msgspec

from app.providers.base import OutgoingMessage, SendResult
from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Scripts

__all__ = ["CapturedMessage", "OutboxEntry", "OutboxProvider"]

_PER_NUMBER = 20
T = TypeVar("T", bound="OutboxEntry")


class OutboxEntry(msgspec.Struct, frozen=True):
    """A captured message as GET /dev/outbox shows it: an SMS, what a call would say, a
    WhatsApp message, an email (with its subject)."""

    id: str
    message_id: str
    to: str
    text: str
    sent_at: float
    channel: str = "sms"
    subject: str = ""


class CapturedMessage(OutboxEntry, frozen=True):
    """An entry as Redis keeps it: the code on its own too, for the outbox page (the
    JSON answer decodes :class:`OutboxEntry`, so it stays as it was)."""

    code: str = ""


class OutboxProvider:
    """Keeps the newest ``max_messages`` messages for ``ttl`` seconds."""

    name = "outbox"

    def __init__(self, scripts: Scripts, *, max_messages: int, ttl: float) -> None:
        self._scripts = scripts
        self._client = scripts.client
        self._max = max_messages
        self._ttl_ms = int(ttl * 1000)

    async def send(self, message: OutgoingMessage) -> SendResult:
        entry = CapturedMessage(
            id="out_" + message.message_id.removeprefix("msg_"),
            message_id=message.message_id,
            to=message.to,
            text=message.text,
            sent_at=time.time(),
            channel=message.channel,
            subject=message.subject,
            code=message.code,
        )
        encoded = msgspec.json.encode(entry)
        # All messages for the page, and the last few per number for `?to=`: two hash
        # slots, so one batch (not a transaction, which Cluster refuses across slots).
        batch = self._scripts.batch()
        for key, length in ((Keys.OUTBOX, self._max), (Keys.outbox_to(message.to), _PER_NUMBER)):
            batch.command("LPUSH", key, encoded)
            batch.command("LTRIM", key, 0, length - 1)
            batch.command("PEXPIRE", key, self._ttl_ms)
        await batch.run()
        return SendResult.ok(entry.id)

    async def messages(self, to: str | None = None, limit: int = 50) -> list[OutboxEntry]:
        """Newest first; only those to ``to`` (E.164, or an email address) when given."""
        return await self._read(OutboxEntry, to, limit)

    async def captured(self, to: str | None = None, limit: int = 50) -> list[CapturedMessage]:
        """:meth:`messages` with each one's code."""
        return await self._read(CapturedMessage, to, limit)

    async def _read(self, kind: type[T], to: str | None, limit: int) -> list[T]:
        key = Keys.OUTBOX if to is None else Keys.outbox_to(to)
        raw = await self._client.lrange(key, 0, limit - 1)
        return [msgspec.json.decode(item, type=kind) for item in raw]
