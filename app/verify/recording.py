"""Step 4 of a send (:mod:`app.verify.sending`): what became of the message, on its
record, with the circuits, statistics, events, quota and fallback plan, in one round
trip."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.verify.messages import TEST_PROVIDER, delivery_failed
from app.verify.records import message_view
from app.verify.send_steps import recorded_message

if TYPE_CHECKING:
    from app.abuse.service import AbuseService
    from app.delivery.ledger import Ledger
    from app.delivery.prices import PriceTable
    from app.providers.router import Delivery, ProviderRouter
    from app.store.verifications import VerificationStore
    from app.verify.fallback import FallbackPlans
    from app.verify.models import MessageView
    from app.verify.recipients import Recipient
    from app.verify.send_steps import Reserved

__all__ = ["Recorder"]


class Recorder:
    """Records sends' outcomes."""

    def __init__(
        self, *, store: VerificationStore, router: ProviderRouter, ledger: Ledger,
        prices: PriceTable, abuse: AbuseService, retention_ms: int, plans: FallbackPlans | None,
    ) -> None:  # fmt: skip
        self._store, self._router, self._ledger = store, router, ledger
        self._prices, self._abuse, self._plans = prices, abuse, plans
        self._retention_ms = retention_ms

    async def record(
        self, app: str, to: Recipient, reserved: Reserved, delivery: Delivery
    ) -> MessageView:
        """The message's outcome on the record, with circuits, statistics and events."""
        result, number = delivery.result, reserved.view.sends
        message = recorded_message(reserved, delivery)
        counted = delivery.provider != TEST_PROVIDER
        price = self._prices.micros(delivery.provider or "", to.region) if result.accepted else None
        batch = self._store.batch()
        self._store.queue_record_message(
            batch, reserved.verification_id, reserved.lookup, number, message,
            fail=not result.accepted and number == 1, retention_ms=self._retention_ms,
            pointer_ms=self._retention_ms + int(reserved.policy.code_ttl * 1000),
        )  # fmt: skip
        self._router.queue_records(batch, delivery)
        self._ledger.sent(
            app, reserved.verification_id, number=number, provider=delivery.provider,
            country=to.region, error_code=None if result.accepted else result.error_code,
            counted=counted, cost=price or 0, channel=to.channel,
            sent_at_ms=reserved.message["created_at"],
        )(batch)  # fmt: skip
        self._abuse.settle_quota(batch, reserved.clearance, price)
        self._ledger.quota_passed(app, reserved.clearance.passed if price is not None else [])(
            batch
        )
        if reserved.created and counted:
            self._abuse.started(batch, app, to.region)
        if self._plans is not None:
            self._plans.queue_after(batch, app, to, reserved, message)
        await batch.run()
        if not result.accepted:
            raise delivery_failed(reserved.verification_id, message, result.error_message)
        return message_view(message)
