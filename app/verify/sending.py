"""A send, as one pipeline: admit -> create or resend -> deliver -> record -> view.

- admit: the abuse policy and the throttles (:class:`~app.abuse.service.AbuseService`);
- create or resend: a fresh code, hashed off the loop, stored by the send script, which
  enforces the cooldown and the send budget (:class:`~app.store.verifications.VerificationStore`);
- deliver: through the route's providers (:class:`~app.providers.router.ProviderRouter`),
  or nowhere for a test number;
- record: the message on the verification, the pointer from the provider's message id,
  and the statistics and events of the send (:class:`~app.delivery.ledger.Ledger`), in
  one round trip;
- view: what the API answers.

An ``Idempotency-Key`` wraps the pipeline (:mod:`app.verify.idempotency`): claimed before
it, moved to "sending" between create-or-resend and deliver, completed after record.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.abuse.throttle import RuleState
from app.errors import OtpgateError
from app.ids import random_id
from app.phone import mask_phone, phone_digest
from app.providers.base import SendResult
from app.providers.router import Delivery
from app.store.outcomes import Conflict, NewRecord, Refused
from app.verify.codes import generate_code
from app.verify.config import Policy
from app.verify.idempotency import Claim, fingerprint
from app.verify.messages import TEST_PROVIDER, delivery_failed, outgoing_message
from app.verify.models import VerificationView
from app.verify.records import message_view, view_from_send

if TYPE_CHECKING:
    from app.abuse.service import AbuseService, Clearance
    from app.delivery.ledger import Ledger
    from app.phone import Phone
    from app.providers.router import ProviderRouter
    from app.settings import Settings
    from app.store.outcomes import Pending
    from app.store.verifications import VerificationStore
    from app.verify.codes import CodeHasher
    from app.verify.idempotency import IdempotencyStore
    from app.verify.models import MessageView, StartVerification
    from app.verify.texts import MessageTexts

__all__ = ["SendFlow", "Started"]

# A send reads the pending index again when another request changed it in between.
_SEND_TRIES = 3
# The pre-check against the local clock only refuses clear cases; the script decides.
_CLOCK_SLACK_MS = 250


class Started(msgspec.Struct, frozen=True):
    """A send's outcome: the verification, whether it was an idempotent replay, and the
    rate limits it took (for the RateLimit headers)."""

    view: VerificationView
    replayed: bool = False
    limits: list[RuleState] = msgspec.field(default_factory=list)


class _Reserved(msgspec.Struct, frozen=True):
    """A send the store accepted, before anything went to a provider."""

    verification_id: str
    lookup: str
    created: bool
    policy: Policy
    code: str
    #: the message as queued on the record; deliver and record complete it
    message: dict[str, Any]
    #: the 201 to answer, less its message
    view: VerificationView
    limits: list[RuleState]


def _refusal(reason: str, verification_id: str, sends: int, retry_ms: float) -> OtpgateError:
    """The answer to a resend the cooldown or the send budget refuses."""
    if reason == "cooldown":
        return OtpgateError(
            "resend_cooldown",
            "a code was sent to this number moments ago",
            retry_after=retry_ms / 1000,
            verification_id=verification_id,
        )
    return OtpgateError(
        "max_sends_reached",
        f"this verification already sent {sends} codes",
        verification_id=verification_id,
    )


def _resendable(pending: Pending | None) -> str | None:
    """The id of the pending verification, unless its index already rules a resend out."""
    if pending is None:
        return None
    wait_ms = pending.last_send_ms + pending.cooldown_ms - time.time() * 1000
    if wait_ms > _CLOCK_SLACK_MS:
        raise _refusal("cooldown", pending.verification_id, pending.sends, wait_ms)
    if pending.sends >= pending.max_sends:
        raise _refusal("max_sends", pending.verification_id, pending.sends, 0)
    return pending.verification_id


class SendFlow:
    """Sends and resends codes for every app."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: VerificationStore,
        hasher: CodeHasher,
        abuse: AbuseService,
        router: ProviderRouter,
        texts: MessageTexts,
        idempotency: IdempotencyStore,
        ledger: Ledger,
    ) -> None:
        self._settings = settings
        self._store = store
        self._hasher = hasher
        self._abuse = abuse
        self._router = router
        self._texts = texts
        self._idempotency = idempotency
        self._ledger = ledger
        self._retention_ms = int(settings.retention * 1000)

    async def start(
        self, app: str, phone: Phone, request: StartVerification, idempotency_key: str | None
    ) -> Started:
        """Send a code, or resend one for the pending verification of this number."""
        locale = self._texts.resolve(request.locale, phone.region)
        if idempotency_key is None:
            reserved = await self._reserve(app, phone, request, locale)
            return await self._complete(app, phone, locale, reserved)

        found = await self._idempotency.claim(app, idempotency_key, fingerprint(request))
        if not isinstance(found, Claim):
            return Started(await self._idempotency.replay(found, phone.e164), replayed=True)
        try:
            reserved = await self._reserve(app, phone, request, locale)
            # From here an SMS may go out: the key must outlive its lease and this process.
            await self._idempotency.sending(found, reserved.verification_id, reserved.view)
        except BaseException:
            await self._idempotency.release(found)
            raise
        try:
            started = await self._complete(app, phone, locale, reserved)
        except OtpgateError as exc:
            # A provider answered (or timed out, and may have delivered after all): the
            # retry replays this 502 and sends nothing. Any other failure here leaves the
            # key "sending", for a retry to settle from the verification.
            if exc.code == "delivery_failed":
                await self._idempotency.fail(found, exc)
            raise
        await self._idempotency.complete(found, started.view)
        return started

    async def _reserve(
        self, app: str, phone: Phone, request: StartVerification, locale: str
    ) -> _Reserved:
        """Admit the send, then create the verification or resend (no provider yet)."""
        policy = self._settings.policy_for(app)
        number = phone_digest(self._settings.secret_pepper, phone.e164)
        lookup = self._store.keys.lookup(app, number, request.purpose)
        # Cooldown and send budget first: they cost one read, admitting costs several.
        expected = _resendable(await self._store.pending(lookup))
        clearance = await self._abuse.clear_send(
            app, phone, number, request.client_ip, request.purpose
        )
        record = NewRecord(
            app, request.purpose, mask_phone(phone.e164), number, phone.region, "sms", locale,
            lookup,
        )  # fmt: skip
        for attempt in range(_SEND_TRIES):
            if attempt:
                expected = _resendable(await self._store.pending(lookup))
            reserved = await self._create_or_resend(
                lookup, expected, policy, clearance, record, to=phone.e164
            )
            if reserved is None:
                continue
            if reserved.created and clearance.test_code is None:
                await self._abuse.verification_started(app, phone.region)
            return reserved
        raise OtpgateError(
            "resend_cooldown",
            "another request is sending a code to this number",
            retry_after=policy.resend_cooldown or 1,
        )

    async def _create_or_resend(
        self,
        lookup: str,
        expected: str | None,
        policy: Policy,
        clearance: Clearance,
        record: NewRecord,
        *,
        to: str,
    ) -> _Reserved | None:
        """One try of the send script; None when another request got there first."""
        verification_id = expected or self._store.keys.new_verification_id(lookup)
        code = clearance.test_code or generate_code(policy.code_length)
        message: dict[str, Any] = {
            "id": random_id("msg_"),
            "provider": TEST_PROVIDER if clearance.test_code else None,
            "status": "queued",
        }
        outcome = await self._store.send(
            lookup,
            expected=expected,
            verification_id=verification_id,
            code_hash=await self._hasher.hash(verification_id, code),
            message=message,
            policy=policy,
            retention_ms=self._retention_ms,
            record=record,
        )
        if isinstance(outcome, Conflict):
            return None
        if isinstance(outcome, Refused):
            raise _refusal(outcome.reason, outcome.verification_id, outcome.sends, outcome.retry_ms)
        message["created_at"] = outcome.now_ms
        view = view_from_send(outcome, to, record.purpose)
        return _Reserved(
            verification_id, lookup, outcome.created, policy, code, message, view, clearance.limits
        )

    async def _complete(self, app: str, phone: Phone, locale: str, reserved: _Reserved) -> Started:
        """Deliver the reserved message, record what became of it, answer the view."""
        delivery = await self._deliver(app, phone, locale, reserved)
        message = await self._record(app, phone, reserved, delivery)
        view = msgspec.structs.replace(reserved.view, message=message)
        return Started(view, limits=reserved.limits)

    async def _deliver(self, app: str, phone: Phone, locale: str, reserved: _Reserved) -> Delivery:
        """Through the route's providers; a test number's message goes nowhere."""
        if reserved.message["provider"] == TEST_PROVIDER:
            return Delivery(TEST_PROVIDER, SendResult.ok(None), [])
        outgoing = outgoing_message(
            self._texts, reserved.message["id"], phone, locale, reserved.code, reserved.policy
        )
        return await self._router.send(app, outgoing, phone.calling_code)

    async def _record(
        self, app: str, phone: Phone, reserved: _Reserved, delivery: Delivery
    ) -> MessageView:
        """The message's outcome on the record, with its statistics and events."""
        result, number = delivery.result, reserved.view.sends
        message = {
            **reserved.message,
            "provider": delivery.provider,
            "attempts": msgspec.to_builtins(delivery.attempts),
            "provider_message_id": result.provider_message_id,
        }
        if result.accepted:
            message["status"] = "skipped" if delivery.provider == TEST_PROVIDER else "sent"
        else:
            message |= {"status": "failed", "error_code": result.error_code,
                        "error_kind": result.error_kind}  # fmt: skip
        pointer = None
        if result.provider_message_id and delivery.provider:
            keep_ms = self._retention_ms + int(reserved.policy.code_ttl * 1000)
            pointer = (delivery.provider, result.provider_message_id, keep_ms)
        await self._store.record_message(
            reserved.verification_id, reserved.lookup, number, message,
            fail=not result.accepted and number == 1, retention_ms=self._retention_ms,
            pointer=pointer,
            also=self._ledger.sent(
                app, reserved.verification_id, number=number, provider=delivery.provider,
                country=phone.region, error_code=None if result.accepted else result.error_code,
                counted=delivery.provider != TEST_PROVIDER,
            ),
        )  # fmt: skip
        if not result.accepted:
            raise delivery_failed(reserved.verification_id, message, result.error_message)
        return message_view(message)
