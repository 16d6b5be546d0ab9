"""A send, as one pipeline: admit -> create or resend -> deliver -> record -> view.

Each step is one round trip to Redis (on Cluster: one per node, in parallel):

1. admit: the pending verification, the number's throttle and opt-out (``admit_number``)
   beside every abuse rule's script (:mod:`app.abuse.admission`); then the app's hook;
2. create or resend: a fresh code, hashed off the loop, stored by the send script, which
   enforces the cooldown, the send budget and the number's throttle, beside the circuit
   of the route's first provider;
3. deliver: through the route's providers (:class:`~app.providers.router.ProviderRouter`),
   or nowhere for a test number (the dev outbox is a round trip of its own);
4. record (:mod:`app.verify.recording`): the message, the provider-id pointer, the
   circuits, statistics, events and the conversion guard's count;
5. view: what the API answers.

An ``Idempotency-Key`` wraps the pipeline (:mod:`app.verify.idempotency`): claimed before
it, moved to "sending" between create-or-resend and deliver, completed after record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.abuse.hook import HookRequest
from app.abuse.service import Clearance
from app.abuse.throttle import rate_limited, state
from app.errors import OtpgateError
from app.ids import random_id
from app.providers.base import SendResult
from app.providers.router import Delivery
from app.store.outcomes import Conflict, Refused
from app.store.throttles import Refusal
from app.verify.codes import generate_code
from app.verify.customization import UNCUSTOMIZED, Customization, check_fits, customized
from app.verify.idempotency import Claim, fingerprint
from app.verify.messages import TEST_PROVIDER, Wording, outgoing_message, wording
from app.verify.recording import Recorder
from app.verify.records import view_from_send
from app.verify.resends import opted_out, refusal, resendable
from app.verify.send_steps import PlannedStep, Reserved, Started, Target, target_of

if TYPE_CHECKING:
    from app.abuse.service import AbuseService
    from app.delivery.ledger import Ledger
    from app.delivery.prices import PriceTable
    from app.providers.router import ProviderRouter
    from app.settings import Settings
    from app.store.verifications import VerificationStore
    from app.templates.book import TemplateBook
    from app.verify.codes import CodeHasher
    from app.verify.config import Policy
    from app.verify.fallback import FallbackPlans
    from app.verify.idempotency import IdempotencyStore
    from app.verify.models import MessageView, StartVerification
    from app.verify.recipients import Recipient
    from app.verify.texts import MessageTexts

__all__ = ["SendFlow", "Started"]

# A send reads the index again when another request changed it in between.
_SEND_TRIES = 3


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
        prices: PriceTable,
        book: TemplateBook | None = None,
        plans: FallbackPlans | None = None,
    ) -> None:
        self._settings, self._store, self._keys = settings, store, store.keys
        self._hasher, self._abuse, self._router = hasher, abuse, router
        self._texts, self._idempotency = texts, idempotency
        self._prices = prices
        self._recorder = Recorder(
            store=store, router=router, ledger=ledger, prices=prices, abuse=abuse,
            retention_ms=int(settings.retention * 1000), plans=plans,
        )  # fmt: skip
        self._book = book  # the apps' approved templates, read from memory on each send
        self._retention_ms = int(settings.retention * 1000)

    async def start(
        self, app: str, to: Recipient, request: StartVerification, idempotency_key: str | None,
        own: Customization = UNCUSTOMIZED,
    ) -> Started:  # fmt: skip
        """Send a code, or resend one (on ``to``'s channel, which may be another) for the
        pending verification of this recipient and purpose; ``own``: the verification's
        own name and app hash from now on."""
        words = wording(self._texts, self._book, app, request.purpose, request.locale, to.region)
        if own != UNCUSTOMIZED:
            check_fits(
                self._texts, to, words, own.applied(self._settings.policy_for(app), to.channel)
            )
        if idempotency_key is None:
            reserved = await self._reserve(app, to, request, words.locale, own)
            return await self._complete(app, to, words, reserved)

        found = await self._idempotency.claim(app, idempotency_key, fingerprint(request))
        if not isinstance(found, Claim):
            return Started(await self._idempotency.replay(found, to.address), replayed=True)
        try:
            reserved = await self._reserve(app, to, request, words.locale, own)
            # From here an SMS may go out: the key must outlive its lease and this process.
            await self._idempotency.sending(found, reserved.verification_id, reserved.view)
        except BaseException:
            await self._idempotency.release(found)
            raise
        try:
            started = await self._complete(app, to, words, reserved)
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
        self, app: str, to: Recipient, request: StartVerification, locale: str, own: Customization
    ) -> Reserved:
        """Admit the send, then create the verification or resend (no provider yet)."""
        route = self._router.route(app, to.channel, to.calling_code)
        if not route:
            raise OtpgateError("channel_not_available", f"no provider sends {to.channel} here")
        number = to.digest(self._keys)
        price = self._prices.most(route, to.region)
        admission = self._abuse.admit_send(app, to.phone, number, request.client_ip, price)
        test_code = admission if isinstance(admission, str) else None
        test = test_code is not None
        target = target_of(self._keys, self._abuse, app, to, request.purpose, locale, test=test)
        batch = self._store.batch()
        precheck = self._store.queue_precheck(batch, target.subject, target.lookup, target.throttle)
        if not isinstance(admission, str):
            admission.queue(batch)
        results = await batch.run()
        checked = self._store.read_precheck(results[precheck], target.throttle)
        try:
            expected, early = resendable(checked.pending, checked.now_ms), None
        except OtpgateError as exc:
            expected, early = None, exc
        if checked.opted_out and test_code is None:  # a test number is sent nothing anyway
            early = opted_out()
        if isinstance(admission, str):
            if early is not None:
                raise early
            clearance = Clearance(test_code=test_code)
        else:
            hook = HookRequest(
                app, to.address, to.region, request.client_ip, request.purpose, to.channel
            )
            clearance = await self._abuse.settle_send(
                app, admission, results, hook, early, checked.refusal
            )
        try:
            return await self._create_or_resend(
                app, to, target, expected, clearance, request.custom_code, own
            )
        except OtpgateError:
            await self._abuse.give_back(clearance)
            raise

    async def _create_or_resend(
        self, app: str, to: Recipient, target: Target, expected: str | None,
        clearance: Clearance, custom_code: str | None, own: Customization,
    ) -> Reserved:  # fmt: skip
        policy = self._settings.policy_for(app)
        for attempt in range(_SEND_TRIES):
            if attempt:
                batch = self._store.batch()
                index = self._store.queue_precheck(batch, target.subject, target.lookup, None)
                checked = self._store.read_precheck((await batch.run())[index], None)
                expected = resendable(checked.pending, checked.now_ms)
            reserved = await self._try_send(app, to, target, expected, policy, clearance,
                                            custom_code, own)  # fmt: skip
            if reserved is not None:
                return reserved
        raise OtpgateError(
            "resend_cooldown",
            "another request is sending a code to this number",
            retry_after=policy.resend_cooldown or 1,
        )

    async def _try_send(
        self, app: str, to: Recipient, target: Target, expected: str | None, policy: Policy,
        clearance: Clearance, custom_code: str | None, own: Customization,
        after: int | None = None,
    ) -> Reserved | None:  # fmt: skip
        """One try of the send script; None when another request got there first. The
        code: a test number's, else the request's own (``custom_code``), else random; the
        message's name and app hash: the verification's own, if it has them; ``after``: a
        fallback step after that send."""
        verification_id = expected or self._keys.new_verification_id(target.subject)
        code = clearance.test_code or custom_code or generate_code(policy.code_length)
        message_id = random_id("msg_")
        code_hash = await self._hasher.hash(verification_id, code)
        batch = self._store.batch()
        sending = self._store.queue_send(
            batch, target.subject, target.record, expected=expected,
            verification_id=verification_id, code_hash=code_hash,
            params=self._hasher.params, message_id=message_id, policy=policy,
            retention_ms=self._retention_ms, throttle=target.throttle, channel=to.channel,
            own=own.stored(), step=after,
        )  # fmt: skip
        allow = (
            None
            if clearance.test_code
            else self._router.queue_allow(batch, app, to.channel, to.calling_code)
        )
        results = await batch.run()
        outcome = self._store.read_send(results[sending], target.throttle)
        if isinstance(outcome, Conflict):
            return None
        if isinstance(outcome, Refused):
            raise refusal(outcome.reason, outcome.verification_id, outcome.sends, outcome.retry_ms)
        if isinstance(outcome, Refusal):
            raise rate_limited(outcome)
        message = {
            "id": message_id, "channel": to.channel, "status": "queued",
            "provider": TEST_PROVIDER if clearance.test_code else None,
            "created_at": outcome.now_ms,
        }  # fmt: skip
        view = view_from_send(outcome, to.address, target.record.purpose, to.channel)
        taken = msgspec.structs.replace(
            clearance, limits=[*clearance.limits, *map(state, outcome.limits)]
        )
        first = None if allow is None else self._router.read_allow(results[allow])
        policy = customized(policy, to.channel, outcome.app_name, outcome.app_hash)
        return Reserved(
            verification_id, target.lookup, outcome.created, policy, code, message_id, message,
            view, taken, first,
        )  # fmt: skip

    async def step(
        self, app: str, to: Recipient, purpose: str, locale: str, planned: PlannedStep
    ) -> MessageView | None:
        """Send a fallback step of a pending verification on ``to``'s channel, unless a
        send came after the one it follows (None). It takes the send budget and the
        number's throttle as a resend does; the cooldown is the plan's wait.

        Raises:
            OtpgateError: the budget or the throttle refused it, or no provider took it.
        """
        if not self._router.route(app, to.channel, to.calling_code):
            raise OtpgateError("channel_not_available", f"no provider sends {to.channel} here")
        words = wording(self._texts, self._book, app, purpose, locale, to.region)
        target = target_of(self._keys, self._abuse, app, to, purpose, words.locale, test=False)
        reserved = await self._try_send(
            app, to, target, planned.verification_id, self._settings.policy_for(app),
            Clearance(), None, UNCUSTOMIZED, after=planned.after,  # it keeps its own name
        )  # fmt: skip
        if reserved is None:
            return None
        reserved = msgspec.structs.replace(
            reserved, step=planned.index, reason=planned.reason, avoid=planned.avoid,
            first_allowed=None if planned.avoid else reserved.first_allowed,
        )  # fmt: skip
        return (await self._complete(app, to, words, reserved)).view.message

    async def _complete(
        self, app: str, to: Recipient, words: Wording, reserved: Reserved
    ) -> Started:
        """Deliver the reserved message, record what became of it, answer the view."""
        delivery = await self._deliver(app, to, words, reserved)
        message = await self._recorder.record(app, to, reserved, delivery)
        view = msgspec.structs.replace(reserved.view, message=message)
        return Started(view, limits=reserved.clearance.limits)

    async def _deliver(
        self, app: str, to: Recipient, words: Wording, reserved: Reserved
    ) -> Delivery:
        """Through the route's providers; a test number's message goes nowhere."""
        if reserved.message["provider"] == TEST_PROVIDER:
            return Delivery(TEST_PROVIDER, SendResult.ok(None), [])
        outgoing = outgoing_message(
            self._texts, reserved.message_id, to, words, reserved.code, reserved.policy
        )
        return await self._router.send(
            app, outgoing, to.calling_code, first_allowed=reserved.first_allowed,
            avoid=reserved.avoid,
        )  # fmt: skip
