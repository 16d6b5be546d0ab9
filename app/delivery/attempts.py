"""An app's newest sends, each a verification id and message number, for listing
"attempts" (the Twilio-compatible ``/v2/Attempts``) without scanning Redis.

One capped list per app in the slot of its statistics, pushed in the round trip that
records the message anyway (:meth:`~app.delivery.ledger.Ledger.sent`): no extra round
trip, and at most :data:`ATTEMPTS_KEPT` short strings per app, whatever the traffic.
An entry outlives its verification at most until the list moves on; readers skip the
verifications that are gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Batch, StoreClient

__all__ = ["ATTEMPTS_KEPT", "AttemptLog", "LoggedAttempt"]

#: Sends kept per app, newest first.
ATTEMPTS_KEPT = 1000


class LoggedAttempt(msgspec.Struct, frozen=True):
    """One send of a verification."""

    verification_id: str
    number: int  # the message's number in its verification, from 1
    at_ms: int  # when it was handed to a provider (Unix ms)
    country: str  # ISO 3166 alpha-2, or "" when unknown


class AttemptLog:
    """Every app's newest sends."""

    def __init__(self, client: StoreClient) -> None:
        self._client = client

    @staticmethod
    def queue(batch: Batch, app: str, attempt: LoggedAttempt) -> None:
        """Queue logging ``attempt`` (and dropping what falls off the end)."""
        entry = f"{attempt.verification_id} {attempt.number} {attempt.at_ms} {attempt.country}"
        batch.command("LPUSH", Keys.attempts(app), entry)
        batch.command("LTRIM", Keys.attempts(app), 0, ATTEMPTS_KEPT - 1)

    async def read(self, app: str) -> list[LoggedAttempt]:
        """``app``'s logged sends, newest first."""
        entries = await self._client.lrange(Keys.attempts(app), 0, ATTEMPTS_KEPT - 1)
        return [attempt for entry in entries if (attempt := _parsed(entry)) is not None]


def _parsed(entry: str) -> LoggedAttempt | None:
    verification_id, number, at_ms, country = [*entry.split(" "), "", "", ""][:4]
    if not (number.isdigit() and at_ms.isdigit()):
        return None  # written by another version
    return LoggedAttempt(verification_id, int(number), int(at_ms), country)
