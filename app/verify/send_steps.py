"""What the steps of a send hand each other (:mod:`app.verify.sending`)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.abuse.service import Clearance
from app.abuse.throttle import RuleState
from app.store.outcomes import NewRecord
from app.store.throttles import Counter
from app.verify.config import Policy
from app.verify.models import VerificationView

__all__ = ["Reserved", "Started", "Target"]


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
