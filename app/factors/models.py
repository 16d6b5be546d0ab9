"""What the factor routes take and answer."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["CodeCheck", "Enrolled", "FactorCheck", "FactorView", "Factors", "NewFactor", "Unlock"]

Subject = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Your id of the user (opaque to otpgate; kept only as a keyed digest).",
    ),
]  # fmt: skip


class NewFactor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A TOTP factor to enroll."""

    subject: Subject
    friendly_name: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f:]+$",
            description="What the authenticator app shows beside the issuer (no `:`), "
            "e.g. the user's login name.",
        ),
    ]  # fmt: skip


class CodeCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A code from the authenticator app."""

    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6,8}$", description="6 to 8 digits.")]


class Unlock(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whose consecutive wrong codes to forget."""

    subject: Subject


class FactorView(msgspec.Struct, frozen=True):
    """A TOTP factor (never its secret)."""

    id: Annotated[str, msgspec.Meta(description="The factor's id (`fac_…`).")]
    app: Annotated[str, msgspec.Meta(description="The app it belongs to.")]
    friendly_name: Annotated[str, msgspec.Meta(description="Its name in the app.")]
    status: Annotated[
        Literal["unverified", "verified", "revoked"],
        msgspec.Meta(
            description="`unverified` until its first code confirms it (it is deleted "
            "after `factors.enroll_ttl` otherwise), then `verified`; `revoked` once deleted."
        ),
    ]
    digits: Annotated[int, msgspec.Meta(description="Digits per code.")]
    period: Annotated[int, msgspec.Meta(description="Seconds per time step.")]
    created_at: Annotated[float, msgspec.Meta(description="Unix time.")]
    verified_at: Annotated[float | None, msgspec.Meta(description="Unix time of its confirmation.")]
    last_used_at: Annotated[
        float | None, msgspec.Meta(description="Unix time of the last code accepted.")
    ]


class Enrolled(FactorView, frozen=True):
    """A new factor, with what the user's authenticator app needs, shown this once."""

    secret: Annotated[str, msgspec.Meta(description="The secret, base32 (for manual entry).")] = ""
    uri: Annotated[str, msgspec.Meta(description="The `otpauth://totp/…` URI.")] = ""
    qr_png: Annotated[
        str, msgspec.Meta(description="The URI as a QR code: a `data:image/png;base64,…` URL.")
    ] = ""


class Factors(msgspec.Struct, frozen=True):
    """A subject's factors."""

    factors: Annotated[list[FactorView], msgspec.Meta(description="Oldest first.")]


class FactorCheck(msgspec.Struct, frozen=True):
    """What a code was worth."""

    factor_id: Annotated[str, msgspec.Meta(description="The factor checked.")]
    valid: Annotated[bool, msgspec.Meta(description="true: the code is right and new.")]
    status: Annotated[
        Literal["unverified", "verified"],
        msgspec.Meta(description="The factor's status after the check."),
    ]
    reason: Annotated[
        Literal["wrong", "replayed"] | None,
        msgspec.Meta(
            description="Why a code was refused: `wrong`, or `replayed` (right, but of a "
            "time step at or before one accepted already)."
        ),
    ]
    failures_remaining: Annotated[
        int,
        msgspec.Meta(description="Wrong codes the subject may still send in a row (all factors)."),
    ]
