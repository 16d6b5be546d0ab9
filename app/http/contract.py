"""The errors of the API contract: the ``Problem`` schema, and the problems each operation
can answer, documented with ``@get(..., **problems("verification_not_found", ...))``.

:mod:`app.errors` builds every error otpgate sends; this module describes them in
OpenAPI from the same :data:`~app.errors.ERRORS` table, so a client generated from
``openapi.json`` can read each one.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIResponse, Operation
from msgspec import UNSET, Meta, UnsetType

from app.abuse.config import NumberType
from app.abuse.throttle import RuleName
from app.errors import ERRORS, PROBLEM_TYPE
from app.http.examples import EXAMPLE_MEMBERS, HEADERS, HEADERS_BY_CODE
from app.providers.base import ErrorKind
from app.verify.models import VerificationStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "API_KEY_PROBLEMS", "PROBLEM_MEDIA_TYPE", "ErrorCode", "FieldError", "Problem", "problems",
]  # fmt: skip

PROBLEM_MEDIA_TYPE = "application/problem+json"

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
                "`Retry-After` header (`rate_limited`, `resend_cooldown`, `suspected_fraud`, "
                "`idempotency_key_in_progress`).",
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


#: What every route behind an API key can answer, whatever it does.
API_KEY_PROBLEMS = (
    "unauthorized", "forbidden", "ip_not_allowed", "app_disabled", "store_unavailable",
    "internal_error",
)  # fmt: skip


@dataclass
class _ProblemOperation(Operation):
    """An operation whose error responses are exactly its documented problems, each with
    the headers its codes send (Litestar's ``ResponseSpec`` has no headers) and its
    examples named by code."""

    problem_headers: ClassVar[Mapping[str, Mapping[str, OpenAPIHeader]]] = {}

    def __post_init__(self) -> None:
        responses = self.responses or {}
        for status in [status for status in responses if int(status) >= 400]:
            if status not in self.problem_headers:
                del responses[status]  # Litestar's own 400, in a shape otpgate never sends
        for status, headers in self.problem_headers.items():
            response = responses[status]
            if not isinstance(response, OpenAPIResponse):
                continue
            if headers:
                response.headers = dict(headers)
            for content in (response.content or {}).values():
                examples = content.examples or {}
                content.examples = {
                    example.value["code"]: example
                    for example in examples.values()
                    if isinstance(example, Example) and isinstance(example.value, dict)
                }


def _example(code: str) -> Example:
    status, title = ERRORS[code]
    value = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "detail": title}
    # No Example.id: Litestar would write it into the example, where OpenAPI has no such
    # field; _ProblemOperation names the examples instead.
    return Example(
        summary=f"{code}: {title}", value={**value, "code": code, **EXAMPLE_MEMBERS.get(code, {})}
    )


def problems(
    *codes: str,
    responses: Mapping[int, ResponseSpec] | None = None,
    replayed: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Route-handler options (``responses`` and ``operation_class``) documenting the
    problems an operation can answer: each status with its codes, as ``Problem``.

    Args:
        codes: every error code the operation can answer, from :data:`ERRORS`.
        responses: further (successful) responses of the operation.
        replayed: the codes a retried Idempotency-Key may answer again, marked with
            ``Idempotent-Replayed``.
    """
    by_status: defaultdict[int, list[str]] = defaultdict(list)
    for code in dict.fromkeys(codes):
        by_status[ERRORS[code][0]].append(code)  # a KeyError names an unknown code
    specs = {
        **(responses or {}),
        **{
            status: ResponseSpec(
                Problem,
                generate_examples=False,
                media_type=PROBLEM_MEDIA_TYPE,
                description="\n".join(f"- `{code}`: {ERRORS[code][1]}" for code in group),
                examples=[_example(code) for code in group],
            )
            for status, group in sorted(by_status.items())
        },
    }

    def names(code: str) -> tuple[str, ...]:
        return (*HEADERS_BY_CODE.get(code, ()), *(("Idempotent-Replayed",) * (code in replayed)))

    headers = {
        str(status): {name: HEADERS[name] for code in group for name in names(code)}
        for status, group in by_status.items()
    }
    operation = type("ProblemOperation", (_ProblemOperation,), {"problem_headers": headers})
    return {"responses": specs, "operation_class": operation}
