"""What the steps of a send hand each other (:mod:`app.verify.sending`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.abuse.service import Clearance
from app.abuse.throttle import RuleState
from app.store.outcomes import NewRecord
from app.store.throttles import Counter
from app.verify.config import Policy
from app.verify.messages import TEST_PROVIDER
from app.verify.models import FallbackReason, VerificationView

if TYPE_CHECKING:
    from app.abuse.service import AbuseService
    from app.providers.router import Delivery
    from app.store.keys import Keys
    from app.verify.recipients import Recipient

__all__ = ["PlannedStep", "Reserved", "Started", "Target", "recorded_message", "target_of"]


class Started(msgspec.Struct, frozen=True):
    """A send's outcome: the verification, whether it was an idempotent replay, and the
    rate limits it took (for the RateLimit headers)."""

    view: VerificationView
    replayed: bool = False
    limits: list[RuleState] = msgspec.field(default_factory=list)


class Target(msgspec.Struct, frozen=True):
    """Who a send is for: the number's digest, subject and index of this purpose."""

    number: str
    subject: str
    lookup: str
    record: NewRecord
    throttle: Counter | None


class PlannedStep(msgspec.Struct, frozen=True):
    """A fallback step to send: after which send of which verification, its place in the
    plan, why it goes, and the providers it should try last (they had their turn)."""

    verification_id: str
    after: int
    index: int
    reason: FallbackReason
    avoid: frozenset[str] = frozenset()


class Reserved(msgspec.Struct, frozen=True):
    """A send the store accepted, before anything went to a provider."""

    verification_id: str
    lookup: str
    created: bool
    policy: Policy
    code: str
    message_id: str
    message: dict[str, Any]  # as queued on the record; deliver and record complete it
    view: VerificationView  # the 201 to answer, less its message
    clearance: Clearance
    first_allowed: bool | None  # the circuit's answer for the route's first provider
    #: a fallback step's: its place in the app's plan, why it goes, the providers tried last
    step: int | None = None
    reason: FallbackReason | None = None
    avoid: frozenset[str] = frozenset()


def target_of(
    keys: Keys, abuse: AbuseService, app: str, to: Recipient, purpose: str, locale: str,
    *, test: bool,
) -> Target:  # fmt: skip
    """Whom a send is for (a test number's send takes no throttle)."""
    # Every channel to a number shares its digest: one pending verification, one throttle
    number = to.digest(keys)
    subject = keys.subject(app, number)
    lookup = keys.lookup(app, number, purpose)
    record = NewRecord(app, purpose, to.masked, to.region, to.channel, locale, lookup)
    throttle = None if test else abuse.send_counter(app, subject)
    return Target(number, subject, lookup, record, throttle)


def recorded_message(reserved: Reserved, delivery: Delivery) -> dict[str, Any]:
    """The reserved message as the route left it: sent (or skipped), or failed."""
    result = delivery.result
    message = {
        **reserved.message,
        "provider": delivery.provider,
        "attempts": msgspec.to_builtins(delivery.attempts),
        "provider_message_id": result.provider_message_id,
        "fallback": reserved.reason,
    }
    if result.accepted:
        message["status"] = "skipped" if delivery.provider == TEST_PROVIDER else "sent"
    else:
        message |= {"status": "failed", "error_code": result.error_code,
                    "error_kind": result.error_kind}  # fmt: skip
    return message
