"""The errors of the API contract: the ``Problem`` schema, and the problems each operation
can answer, documented with ``@get(..., **problems("verification_not_found", ...))``.

:mod:`app.errors` builds every error otpgate sends; this module describes them in
OpenAPI from the same :data:`~app.errors.ERRORS` table, so a client generated from
``openapi.json`` can read each one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType

from app.errors import ERRORS, PROBLEM_TYPE
from app.http.schema import ErrorCode, FieldError, Problem

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "API_KEY_PROBLEMS", "PROBLEM_MEDIA_TYPE", "ErrorCode", "FieldError", "Problem", "problems",
]  # fmt: skip

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: What every route behind an API key can answer, whatever it does.
API_KEY_PROBLEMS = (
    "unauthorized", "forbidden", "ip_not_allowed", "app_disabled", "store_unavailable",
    "internal_error",
)  # fmt: skip

#: The headers an error carries besides Content-Type, by code.
_HEADERS_BY_CODE: Mapping[str, tuple[str, ...]] = {
    "unauthorized": ("WWW-Authenticate",),
    "suspected_fraud": ("Retry-After",),
    "idempotency_key_in_progress": ("Retry-After",),
    "rate_limited": ("Retry-After",),
    "resend_cooldown": ("Retry-After",),
    "quota_exceeded": ("Retry-After",),
    "store_unavailable": ("Retry-After",),
}
_HEADERS: Mapping[str, OpenAPIHeader] = {
    "Retry-After": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, pattern=r"^[1-9][0-9]*$"),
        description="Seconds to wait before the same request may succeed.",
    ),
    "WWW-Authenticate": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING),
        description='`Bearer realm="otpgate"` (with `error="invalid_token"` for a bad key).',
    ),
    "Idempotent-Replayed": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
        description="`true`: the answer to an earlier request with this Idempotency-Key "
        "(or what became of it); nothing was sent again.",
    ),
}
_REQUEST_ID = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[A-Za-z0-9._-]{1,64}$"),
    description="The request's id: the caller's `X-Request-Id` if it is a sane token, else "
    "a new `req_…`; every log line of the request carries it.",
    required=True,
)
#: The members each code sends beyond the five every problem has, as examples show them.
_EXAMPLE_MEMBERS: Mapping[str, dict[str, Any]] = {
    "invalid_request": {
        "errors": [{"message": "Expected `str`, got `int`", "key": "to", "source": "body"}]
    },
    "rate_limited": {"rule": "send_per_number", "limit": 5, "window": 3600, "retry_after": 1740},
    "resend_cooldown": {"retry_after": 42, "verification_id": "ver_example"},
    "suspected_fraud": {"retry_after": 3600, "block_id": "blk_example"},
    "quota_exceeded": {"retry_after": 36000, "quota": "sends_per_day", "quota_limit": 10000},
    "idempotency_key_in_progress": {"retry_after": 1},
    "country_not_allowed": {"country": "KP"},
    "number_type_not_allowed": {"number_type": "premium_rate"},
    "max_sends_reached": {"verification_id": "ver_example"},
    "max_attempts_reached": {"verification_id": "ver_example"},
    "verification_expired": {"verification_id": "ver_example"},
    "verification_not_pending": {"verification_status": "approved"},
    "delivery_failed": {
        "provider": "aliyun",
        "provider_error": "isv.MOBILE_NUMBER_ILLEGAL",
        "error_kind": "permanent",
        "verification_id": "ver_example",
    },
    "invalid_template": {
        "errors": [{"message": "the text must hold {code}", "key": "text", "source": "body"}]
    },
    "provider_review_failed": {"provider": "aliyun", "provider_error": "isv.SMS_TEMPLATE_ILLEGAL"},
}


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
        for response in responses.values():  # every answer says which request it was
            if isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "X-Request-Id": _REQUEST_ID}


def _example(code: str) -> Example:
    status, title = ERRORS[code]
    value = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "detail": title}
    # No Example.id: Litestar would write it into the example, where OpenAPI has no such
    # field; _ProblemOperation names the examples instead.
    return Example(
        summary=f"{code}: {title}", value={**value, "code": code, **_EXAMPLE_MEMBERS.get(code, {})}
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
        return (*_HEADERS_BY_CODE.get(code, ()), *(("Idempotent-Replayed",) * (code in replayed)))

    headers = {
        str(status): {name: _HEADERS[name] for code in group for name in names(code)}
        for status, group in by_status.items()
    }
    operation = type("ProblemOperation", (_ProblemOperation,), {"problem_headers": headers})
    return {"responses": specs, "operation_class": operation}
