"""Settings of TOTP factors (``[factors]``): how codes are made and checked, and the keys
their secrets are sealed with."""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.sensitive import Secret

__all__ = ["FactorSettings"]


class FactorSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """TOTP factors: code shape, drift, the failure budget and the sealing keys.

    Attributes:
        digits: digits per code (authenticator apps show 6; some take 8).
        period: seconds per time step (30 is what every app assumes).
        drift: time steps before and after the current one a code may come from.
        max_failures: consecutive wrong codes a subject may send across all its factors
            before checks are refused (NIST SP 800-63B allows at most 100); a right code
            resets it, a new factor does not.
        enroll_ttl: seconds an unconfirmed factor waits for its first code.
        key: the secret the sealing key is derived from (unset: the pepper, under a
            label of its own); ``old_keys``: earlier ones, still opened, during a rotation.
    """

    digits: Annotated[int, msgspec.Meta(ge=6, le=8)] = 6
    period: Annotated[int, msgspec.Meta(ge=15, le=120)] = 30
    drift: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1
    max_failures: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    enroll_ttl: Annotated[float, msgspec.Meta(gt=0)] = 3600
    key: Secret | None = None
    old_keys: list[Secret] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        for secret in (self.key, *self.old_keys):
            if secret is not None and len(secret) < 32:
                raise ValueError("factors: every key must be at least 32 characters")
