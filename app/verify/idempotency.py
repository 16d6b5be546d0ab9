"""Idempotency-Key for POST /v1/verifications: a key never sends twice.

A key's entry walks three phases:

- claimed: the request has sent nothing yet (throttles, hashing, the send script). The
  claim has a short lease, so a request that died with its Redis connection blocks its
  key for seconds, not a day; a request refused here (cooldown, a throttle, Redis down)
  releases its key, and the client may retry it.
- sending: the send script created or resent the verification, and the provider is
  about to be called. From here an SMS may be out, so the entry names the verification
  and the message and lives the key's whole TTL. If the process dies now, a retry
  replays the outcome the verification recorded; with none recorded it is refused
  (409 while the verification is pending, then 410 or 409 ``verification_not_pending``)
  and never sends again.
- done: the first answer, replayed to every retry with the same body: the 201 view, or
  the 502 of a failed delivery (a provider was called; one that timed out may have
  delivered all the same).

The same key with a different body is refused in every phase.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.errors import OtpgateError
from app.verify.key_phases import (
    REPLAYED_HEADER,
    Claim,
    Completed,
    Entry,
    Failed,
    Sending,
    fingerprint,
    unsettled,
)
from app.verify.messages import delivery_failed
from app.verify.models import VerificationView
from app.verify.records import message_view

if TYPE_CHECKING:
    from app.store.idempotency import IdempotencyEntries
    from app.store.verifications import VerificationStore

__all__ = [
    "REPLAYED_HEADER",
    "Claim",
    "Completed",
    "Failed",
    "IdempotencyStore",
    "Sending",
    "fingerprint",
    "unsettled",
]

_MAX_KEY_LENGTH = 255
# A claim lives only this long unless it moves on, so a request that died with its Redis
# connection (and could not release its claim) blocks retries for seconds, not a day.
# Nothing can have been sent under a claim: the lease ends before the provider is called.
_CLAIM_LEASE_MS = 30_000


def _kept(view: VerificationView) -> dict[str, Any]:
    """A view as a key keeps it: without the phone number (nor a message not sent yet)."""
    kept = msgspec.to_builtins(view)
    del kept["to"]
    if kept.get("message") is None:
        kept.pop("message", None)
    return kept


class IdempotencyStore:
    """Claims idempotency keys in Redis, moves them through their phases, and answers
    retries.

    Args:
        entries: the keys' entries in Redis.
        verifications: the verifications, whose records settle a key left "sending".
        ttl: seconds a key is remembered.
        send_deadline: seconds a send may take; a key still sending after that most
            likely lost its request.
    """

    def __init__(
        self,
        entries: IdempotencyEntries,
        verifications: VerificationStore,
        ttl: float,
        send_deadline: float,
    ) -> None:
        self._entries = entries
        self._verifications = verifications
        self._ttl_ms = int(ttl * 1000)
        self._send_deadline = send_deadline

    async def claim(
        self, app: str, key: str, body_fingerprint: str
    ) -> Claim | Completed | Failed | Sending:
        """Claim ``key`` for this request, or find what its first request left.

        Raises:
            OtpgateError: ``idempotency_key_reused`` for another body,
                ``idempotency_key_in_progress`` while the first request has sent nothing.
        """
        if not 1 <= len(key) <= _MAX_KEY_LENGTH:
            raise OtpgateError(
                "invalid_request", f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} characters"
            )
        redis_key = self._entries.name(app, key)
        token = secrets.token_hex(8)
        claimed = await self._entries.claim(
            redis_key,
            msgspec.json.encode(Entry(body_fingerprint, token=token)),
            min(_CLAIM_LEASE_MS, self._ttl_ms),
        )
        if claimed:
            return Claim(redis_key, body_fingerprint, token)
        raw = await self._entries.read(redis_key)
        if raw is None:  # expired between the two calls: claim again
            return await self.claim(app, key, body_fingerprint)
        entry = msgspec.json.decode(raw, type=Entry)
        if entry.fingerprint != body_fingerprint:
            raise OtpgateError(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
        if entry.done and entry.response is not None:
            return Completed(entry.response)
        if entry.failure is not None:
            return entry.failure
        if entry.sending is not None:
            return entry.sending
        raise OtpgateError("idempotency_key_in_progress", retry_after=1)

    async def replay(self, found: Completed | Failed | Sending, e164: str) -> VerificationView:
        """What a retry of a claimed key answers: the first answer, or what the
        verification recorded of it. ``e164`` is the number of the (same) request body.

        Raises:
            OtpgateError: the first answer if it was an error; otherwise, when the
                verification recorded no outcome, see :func:`unsettled`.
        """
        if isinstance(found, Failed):
            raise found.error()
        if isinstance(found, Completed):
            return msgspec.convert({**found.response, "to": e164}, VerificationView)
        stored = await self._verifications.message(found.verification_id, found.message)
        recorded = stored.message
        if not stored.recorded or recorded is None:  # the provider's answer never was
            raise unsettled(
                found, stored.status, stored.expires_ms, time.time(), self._send_deadline
            )
        # Recorded: only the key's own completion was lost.
        if recorded["status"] == "failed":
            raise Failed.of(delivery_failed(found.verification_id, recorded)).error()
        view = msgspec.convert({**found.view, "to": e164}, VerificationView)
        return msgspec.structs.replace(view, message=message_view(recorded))

    async def sending(self, claim: Claim, verification_id: str, view: VerificationView) -> None:
        """Hold the key for its whole TTL: the message numbered ``view.sends`` of
        ``verification_id`` is about to go to a provider, and ``view`` (with no message
        yet) is the 201 it is to answer.

        Raises:
            OtpgateError: ``idempotency_key_in_progress`` when the claim's lease ran out
                and another request holds the key now (this one must not send).
        """
        entry = Entry(
            claim.fingerprint,
            token=claim.token,
            sending=Sending(verification_id, view.sends, time.time(), _kept(view)),
        )
        moved = await self._entries.move(
            claim.redis_key, claim.token, msgspec.json.encode(entry), self._ttl_ms
        )
        if not moved:
            raise OtpgateError(
                "idempotency_key_in_progress",
                "another request with this Idempotency-Key took it over",
                retry_after=1,
            )

    async def complete(self, claim: Claim, view: VerificationView) -> None:
        """Remember the 201 (less its number) for the key's TTL."""
        entry = Entry(claim.fingerprint, token=claim.token, done=True, response=_kept(view))
        await self._entries.put(claim.redis_key, msgspec.json.encode(entry), self._ttl_ms)

    async def fail(self, claim: Claim, error: OtpgateError) -> None:
        """Remember an error answered after a provider was called, for the key's TTL."""
        entry = Entry(claim.fingerprint, token=claim.token, failure=Failed.of(error))
        await self._entries.put(claim.redis_key, msgspec.json.encode(entry), self._ttl_ms)

    async def release(self, claim: Claim) -> None:
        """Forget the claim of a request that sent nothing, unless another holds the key."""
        await self._entries.release(claim.redis_key, claim.token)
