"""The ``Problem`` schema: RFC 9457 problem details with otpgate's members, each sent only
with the codes its description names (:mod:`app.http.contract` documents which operation
answers which)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.abuse.config import NumberType
from app.abuse.quota import Cap
from app.abuse.throttle import RuleName
from app.errors import ERRORS, PROBLEM_TYPE
from app.providers.base import ErrorKind
from app.verify.models import VerificationStatus

__all__ = ["ErrorCode", "FieldError", "Problem"]

ErrorCode = enum.StrEnum("ErrorCode", [(code, code) for code in ERRORS])  # type: ignore[misc]
ErrorCode.__doc__ = "The stable error code; clients branch on it. " + "; ".join(
    f"`{code}` ({status}): {title}" for code, (status, title) in ERRORS.items()
)


class FieldError(msgspec.Struct, frozen=True):
    """One reason a request was refused as malformed."""

    message: Annotated[str, Meta(description="What is wrong, e.g. ``Expected `str`, got `int` ``.")]
    key: (
        Annotated[str, Meta(description="The field or parameter; `data` for the body as a whole.")]
        | UnsetType
    ) = UNSET
    source: (
        Annotated[
            Literal["body", "query", "path", "header", "cookie"],
            Meta(description="Where the field or parameter is."),
        ]
        | UnsetType
    ) = UNSET


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An error, as RFC 9457 problem details (`application/problem+json`). Branch on `code`;
    the members after `code` are sent only with the codes named in their descriptions."""

    type: Annotated[
        str, Meta(description=f"`{PROBLEM_TYPE}<code>`", examples=[f"{PROBLEM_TYPE}rate_limited"])
    ]
    title: Annotated[str, Meta(description="The code's fixed title.")]
    status: Annotated[int, Meta(ge=400, le=599, description="The HTTP status, repeated.")]
    detail: Annotated[str, Meta(description="What went wrong this time, for a person.")]
    code: ErrorCode  # described by the ErrorCode schema, which lists every code
    instance: (
        Annotated[str, Meta(description="RFC 9457's occurrence URI; otpgate sends none.")]
        | UnsetType
    ) = UNSET
    errors: (
        Annotated[
            list[FieldError],
            Meta(
                description="`invalid_request`: every field that is wrong; `invalid_template`: "
                "every rule the template breaks."
            ),
        ]
        | UnsetType
    ) = UNSET
    retry_after: (
        Annotated[
            int,
            Meta(
                ge=1,
                description="Seconds after which the same request may succeed, as in the "
                "`Retry-After` header (`rate_limited`, `quota_exceeded`, `resend_cooldown`, "
                "`suspected_fraud`, `idempotency_key_in_progress`).",
            ),
        ]
        | UnsetType
    ) = UNSET
    rule: (
        Annotated[RuleName, Meta(description="`rate_limited`: the rule that fired.")] | UnsetType
    ) = UNSET
    limit: (
        Annotated[int, Meta(ge=1, description="`rate_limited`: the rule's count per window.")]
        | UnsetType
    ) = UNSET
    window: (
        Annotated[int, Meta(ge=0, description="`rate_limited`: the rule's window in seconds.")]
        | UnsetType
    ) = UNSET
    block_id: (
        Annotated[
            str,
            Meta(description="`suspected_fraud`: the block in force (`DELETE /v1/blocks/{id}`)."),
        ]
        | UnsetType
    ) = UNSET
    provider: (
        Annotated[
            str | None,
            Meta(
                description="`delivery_failed`: the last provider tried (null: none could be); "
                "`provider_review_failed`: the provider that refused the template."
            ),
        ]
        | UnsetType
    ) = UNSET
    provider_error: (
        Annotated[
            str,
            Meta(
                description="`delivery_failed`, `provider_review_failed`: that provider's error "
                "code, as it sent it."
            ),
        ]
        | UnsetType
    ) = UNSET
    error_kind: (
        Annotated[
            ErrorKind,
            Meta(
                description="`delivery_failed`: `permanent` (the number's fault), `account` "
                "(balance, credentials) or `retryable` (timeouts, 5xx, throttling)."
            ),
        ]
        | UnsetType
    ) = UNSET
    verification_id: (
        Annotated[
            str,
            Meta(
                description="The verification concerned (`resend_cooldown`, `max_sends_reached`, "
                "`max_attempts_reached`, `verification_expired`, `delivery_failed`, and "
                "`verification_not_found` for one that is no longer pending)."
            ),
        ]
        | UnsetType
    ) = UNSET
    verification_status: (
        Annotated[
            VerificationStatus,
            Meta(
                description="Its status, when it is no longer pending "
                "(`verification_not_found`, `verification_not_pending`)."
            ),
        ]
        | UnsetType
    ) = UNSET
    country: (
        Annotated[
            str, Meta(description="`country_not_allowed`: the number's ISO 3166 alpha-2 country.")
        ]
        | UnsetType
    ) = UNSET
    number_type: (
        Annotated[NumberType, Meta(description="`number_type_not_allowed`: the number's type.")]
        | UnsetType
    ) = UNSET
    quota: (
        Annotated[Cap, Meta(description="`quota_exceeded`: the app's cap that is used up.")]
        | UnsetType
    ) = UNSET
    quota_limit: (
        Annotated[
            float,
            Meta(description="`quota_exceeded`: that cap (sends, or spend in `price_currency`)."),
        ]
        | UnsetType
    ) = UNSET
