"""Send, resend, check and cancel verifications.

Every state change is one Lua script (see ``app/store/lua``); this module decides which
to run and turns their answers into views or domain errors. It knows nothing of HTTP.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

import msgspec

from app.abuse.policy import parse_client_ip
from app.abuse.throttle import RuleState
from app.errors import OtpgateError
from app.ids import random_id
from app.metrics import CHECKS
from app.phone import mask_phone, normalize_phone, phone_digest
from app.settings import Policy
from app.store.keys import Keys
from app.verify.codes import generate_code
from app.verify.idempotency import Claim, fingerprint
from app.verify.messages import TEST_PROVIDER, MessageSender
from app.verify.models import (
    CheckResult,
    CheckVerification,
    StartVerification,
    VerificationDetail,
    VerificationView,
)
from app.verify.records import detail_from_record, view_from_send

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.abuse.service import AbuseService
    from app.delivery.events import EventBus, EventType
    from app.delivery.stats import Stats
    from app.phone import Phone
    from app.providers.router import ProviderRouter
    from app.settings import Settings
    from app.store.redis import Scripts
    from app.verify.codes import CodeHasher
    from app.verify.idempotency import IdempotencyStore
    from app.verify.models import VerificationStatus
    from app.verify.texts import MessageTexts

__all__ = ["Started", "VerificationService"]

log = logging.getLogger("otpgate.verify")

# A send re-reads the pending index when another request changed it in between.
_SEND_TRIES = 3
# The pre-check against the local clock only refuses clear cases; the script decides.
_CLOCK_SLACK_MS = 250


class _Reserved(msgspec.Struct, frozen=True):
    """A send the send script accepted, before anything went to a provider."""

    verification_id: str
    lookup: str
    policy: Policy
    code: str
    #: the message as queued on the record; delivery completes it
    message: dict[str, Any]
    #: the 201 to answer, less its message
    view: VerificationView
    limits: list[RuleState]


class Started(msgspec.Struct, frozen=True):
    """A send's outcome: the verification, whether it was an idempotent replay, and the
    rate limits it took (for the RateLimit headers)."""

    view: VerificationView
    replayed: bool = False
    limits: list[RuleState] = msgspec.field(default_factory=list)


def _validate_client_ip(client_ip: str | None) -> None:
    if client_ip is not None:
        parse_client_ip(client_ip)


class VerificationService:
    """The verification flow for every app."""

    def __init__(
        self,
        *,
        client: Redis,
        scripts: Scripts,
        hasher: CodeHasher,
        settings: Settings,
        router: ProviderRouter,
        texts: MessageTexts,
        idempotency: IdempotencyStore,
        abuse: AbuseService,
        stats: Stats,
        events: EventBus,
    ) -> None:
        self._client = client
        self._scripts = scripts
        self._hasher = hasher
        self._settings = settings
        self._messages = MessageSender(
            scripts=scripts, router=router, texts=texts, stats=stats, events=events,
            retention_ms=int(settings.retention * 1000),
        )  # fmt: skip
        self._texts = texts
        self._idempotency = idempotency
        self._abuse = abuse
        self._stats = stats
        self._events = events
        self._keys = Keys(settings.secret_pepper)
        self._retention_ms = int(settings.retention * 1000)

    # -- send ------------------------------------------------------------------------

    async def start(
        self, app: str, request: StartVerification, idempotency_key: str | None = None
    ) -> Started:
        """Send a code, or resend one for the pending verification of this number."""
        phone = normalize_phone(request.to, request.country)
        locale = self._texts.resolve(request.locale, phone.region)
        _validate_client_ip(request.client_ip)
        if idempotency_key is None:
            reserved = await self._reserve(app, phone, request, locale)
            return await self._deliver(app, phone, locale, reserved)

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
            started = await self._deliver(app, phone, locale, reserved)
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
        """Create the verification or resend, up to (not including) the provider call."""
        policy = self._settings.policy_for(app)
        number = phone_digest(self._settings.secret_pepper, phone.e164)
        lookup = self._keys.lookup(app, number, request.purpose)
        index_key = Keys.pending(lookup)
        # Cooldown and send budget first: they cost one read, the abuse checks several.
        expected = self._precheck(await self._client.get(index_key))
        clearance = await self._abuse.clear_send(
            app, phone, number, request.client_ip, request.purpose
        )
        for attempt in range(_SEND_TRIES):
            if attempt:
                expected = self._precheck(await self._client.get(index_key))
            verification_id = expected or Keys.new_verification_id(lookup)
            code = clearance.test_code or generate_code(policy.code_length)
            code_hash = await self._hasher.hash(verification_id, code)
            message: dict[str, Any] = {
                "id": random_id("msg_"),
                "provider": TEST_PROVIDER if clearance.test_code else None,
                "status": "queued",
            }
            fields = self._record_fields(app, phone, number, request.purpose, locale, lookup)
            result = await self._scripts.run(
                "send",
                [index_key, Keys.verification(verification_id), Keys.latest(lookup)],
                [
                    expected or "",
                    verification_id,
                    code_hash,
                    int(policy.code_ttl * 1000),
                    self._retention_ms,
                    int(policy.resend_cooldown * 1000),
                    policy.max_sends,
                    policy.max_attempts,
                    policy.resend_policy,
                    msgspec.json.encode(message),
                    *([] if expected else fields),
                ],
            )
            outcome = result[0]
            if outcome == "conflict":
                continue
            if outcome == "cooldown":
                raise OtpgateError(
                    "resend_cooldown",
                    "a code was sent to this number moments ago",
                    retry_after=int(result[10]) / 1000,
                    verification_id=verification_id,
                )
            if outcome == "max_sends":
                raise OtpgateError(
                    "max_sends_reached",
                    f"this verification already sent {result[5]} codes",
                    verification_id=verification_id,
                )
            if outcome == "created" and clearance.test_code is None:
                await self._abuse.verification_started(app, phone.region)
            message["created_at"] = int(result[2])
            view = view_from_send(result, phone.e164, request.purpose)
            return _Reserved(verification_id, lookup, policy, code, message, view, clearance.limits)
        raise OtpgateError(
            "resend_cooldown",
            "another request is sending a code to this number",
            retry_after=policy.resend_cooldown or 1,
        )

    async def _deliver(self, app: str, phone: Phone, locale: str, reserved: _Reserved) -> Started:
        """Send the reserved message through its route and record what happened."""
        policy, message = reserved.policy, reserved.message
        outgoing = self._messages.outgoing(message["id"], phone, locale, reserved.code, policy)
        sent = await self._messages.deliver(
            app, reserved.verification_id, reserved.lookup, phone, outgoing, message,
            reserved.view.sends, keep_ms=self._retention_ms + int(policy.code_ttl * 1000),
        )  # fmt: skip
        view = msgspec.structs.replace(reserved.view, message=sent)
        return Started(view, limits=reserved.limits)

    def _precheck(self, pending: str | None) -> str | None:
        """The id of the pending verification, after refusing what the index rules out."""
        if pending is None:
            return None
        verification_id, last_send, sends, max_sends, cooldown = pending.split(" ")
        wait_ms = int(last_send) + int(cooldown) - time.time() * 1000
        if wait_ms > _CLOCK_SLACK_MS:
            raise OtpgateError(
                "resend_cooldown",
                "a code was sent to this number moments ago",
                retry_after=wait_ms / 1000,
                verification_id=verification_id,
            )
        if int(sends) >= int(max_sends):
            raise OtpgateError(
                "max_sends_reached",
                f"this verification already sent {sends} codes",
                verification_id=verification_id,
            )
        return verification_id

    @staticmethod
    def _record_fields(
        app: str, phone: Phone, number: str, purpose: str, locale: str, lookup: str
    ) -> list[str]:
        return [
            "app", app,
            "purpose", purpose,
            "to", mask_phone(phone.e164),
            "ph", number,
            "region", phone.region,
            "channel", "sms",
            "locale", locale,
            "lk", lookup,
        ]  # fmt: skip

    # -- read ------------------------------------------------------------------------

    async def get(self, app: str, verification_id: str) -> VerificationDetail:
        """The verification ``verification_id`` of ``app`` with all its messages."""
        record = await self._record(app, verification_id)
        return detail_from_record(
            record, time.time() * 1000, self._settings.delivery_report_timeout * 1000
        )

    async def _record(self, app: str, verification_id: str) -> dict[str, str]:
        if not Keys.is_verification_id(verification_id):
            raise OtpgateError("verification_not_found", f"no verification {verification_id!r}")
        record: dict[str, str] = await self._client.hgetall(Keys.verification(verification_id))
        if not record or record.get("app") != app:
            raise OtpgateError("verification_not_found", f"no verification {verification_id!r}")
        return record

    # -- check -----------------------------------------------------------------------

    async def check(self, app: str, request: CheckVerification) -> CheckResult:
        """Compare a typed code with the verification's codes; approve on a match."""
        _validate_client_ip(request.client_ip)
        verification_id, number, region = await self._resolve(app, request)
        await self._abuse.clear_check(app, number, request.client_ip)
        record_key = Keys.verification(verification_id)
        reserved = await self._scripts.run("reserve_attempt", [record_key], [app])
        outcome = reserved[0]
        if outcome != "ok":
            if outcome == "expired":  # this check is the one that found it expired
                await self._ended(app, verification_id, "expired")
            raise self._not_checkable(verification_id, outcome, reserved)
        used, max_attempts, lookup = int(reserved[1]), int(reserved[2]), reserved[3]
        numbers, hashes = reserved[4::2], reserved[5::2]
        found = await self._hasher.match(hashes, verification_id, request.code)
        index_key = Keys.pending(lookup)
        if found is not None:
            settled = await self._scripts.run(
                "conclude", [record_key, index_key], ["approve", numbers[found], self._retention_ms]
            )
            if settled[0] == "approved":
                CHECKS.labels("approved").inc()
                await self._abuse.approved(app, region)
                await self._approved(app, verification_id, region, settled[2])
                return CheckResult(
                    verification_id, "approved", valid=True, attempts_remaining=max_attempts - used
                )
            if settled[0] == "status":
                # A concurrent check approved (or ended) it first: this code is consumed.
                raise self._not_checkable(verification_id, "status", settled)
            # "stale": a resend replaced the code while it was being compared.
        CHECKS.labels("wrong").inc()
        await self._abuse.wrong_code(app, number)
        remaining = max_attempts - used
        if remaining > 0:
            return CheckResult(
                verification_id, "pending", valid=False, attempts_remaining=remaining
            )
        settled = await self._scripts.run(
            "conclude", [record_key, index_key], ["lock", "", self._retention_ms]
        )
        status = "max_attempts_reached" if settled[0] in {"locked", "pending"} else settled[1]
        return CheckResult(
            verification_id, cast("VerificationStatus", status), valid=False, attempts_remaining=0
        )

    async def _approved(self, app: str, verification_id: str, region: str, provider: str) -> None:
        """Count the approval and tell the app, in one round trip."""
        async with self._client.pipeline(transaction=False) as pipe:
            if provider != TEST_PROVIDER:
                self._stats.queue(
                    pipe, app, {"approved": 1}, provider=provider or None, country=region
                )
            self._events.queue(
                pipe, app, "verification.approved",
                {"verification_id": verification_id, "status": "approved"},
            )  # fmt: skip
            await pipe.execute()

    async def _ended(self, app: str, verification_id: str, status: str) -> None:
        """Tell the app a verification expired or was canceled (if it listens)."""
        if not self._events.wants(app):
            return
        async with self._client.pipeline(transaction=False) as pipe:
            kind: EventType = (
                "verification.expired" if status == "expired" else "verification.canceled"
            )
            self._events.queue(
                pipe, app, kind, {"verification_id": verification_id, "status": status}
            )
            await pipe.execute()

    async def _resolve(self, app: str, request: CheckVerification) -> tuple[str, str, str]:
        """The verification to check, its number's digest and its country."""
        if request.id is not None:
            fields = await self._client.hmget(
                Keys.verification(request.id), ["app", "ph", "region"]
            )
            if fields[0] != app:
                raise OtpgateError("verification_not_found", f"no verification {request.id!r}")
            return request.id, fields[1], fields[2]
        if request.to is None:
            raise OtpgateError(
                "invalid_request", "give the verification `id`, or `to` and `purpose`"
            )
        phone = normalize_phone(request.to, request.country)
        number = phone_digest(self._settings.secret_pepper, phone.e164)
        latest = await self._client.get(
            Keys.latest(self._keys.lookup(app, number, request.purpose))
        )
        if latest is None:
            raise OtpgateError(
                "verification_not_found", "no verification for this number and purpose"
            )
        return str(latest), number, phone.region

    @staticmethod
    def _not_checkable(verification_id: str, outcome: str, result: list[Any]) -> OtpgateError:
        status = result[1] if outcome == "status" and len(result) > 1 else outcome
        if status == "expired":
            return OtpgateError("verification_expired", verification_id=verification_id)
        if status in {"max_attempts_reached", "exhausted"}:
            return OtpgateError(
                "max_attempts_reached",
                "every check attempt of this verification is used",
                verification_id=verification_id,
            )
        if status == "not_found":
            return OtpgateError("verification_not_found", f"no verification {verification_id!r}")
        return OtpgateError(
            "verification_not_found",
            f"verification {verification_id} is {status}, not pending",
            verification_id=verification_id,
            verification_status=status,
        )

    # -- cancel ----------------------------------------------------------------------

    async def cancel(self, app: str, verification_id: str) -> VerificationDetail:
        """Cancel a pending verification; its codes stop working at once."""
        record = await self._record(app, verification_id)
        result = await self._scripts.run(
            "cancel",
            [Keys.verification(verification_id), Keys.pending(record["lk"])],
            [app, self._retention_ms],
        )
        outcome = result[0]
        if outcome in {"expired", "canceled"} and result[1:] != ["again"]:
            await self._ended(app, verification_id, outcome)
        if outcome == "expired":
            raise OtpgateError("verification_expired", verification_id=verification_id)
        if outcome == "not_found":
            raise OtpgateError("verification_not_found", f"no verification {verification_id!r}")
        if outcome == "status":
            raise OtpgateError(
                "verification_not_pending",
                f"verification {verification_id} is {result[1]}",
                verification_status=result[1],
            )
        return await self.get(app, verification_id)
