"""Domain errors and the one table that maps their codes to problem+json (RFC 9457).

Clients branch on ``code``; a code never changes meaning once released.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ERRORS", "PROBLEM_TYPE", "OtpgateError", "problem_details_plugin"]

log = logging.getLogger("otpgate")

#: code -> (HTTP status, title). The README's error table is generated from this.
ERRORS: Mapping[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is malformed or a field has the wrong type"),
    "unauthorized": (401, "A valid API key is required"),
    "invalid_signature": (401, "The callback's signature does not match"),
    "forbidden": (403, "The API key lacks the scope this route needs"),
    "callback_forbidden": (403, "Wrong callback token, or a source IP not allowed"),
    "ip_not_allowed": (403, "The client IP may not request codes for this app"),
    "country_not_allowed": (403, "This app does not send codes to that country"),
    "suspected_fraud": (403, "Sends here are held: the traffic looks like SMS pumping"),
    "send_denied": (403, "The app's pre-send hook refused the send"),
    "not_found": (404, "No such route"),
    "verification_not_found": (404, "No pending verification matches"),
    "block_not_found": (404, "No such active block"),
    "event_not_found": (404, "No such dead-lettered event"),
    "method_not_allowed": (405, "Method not allowed on this route"),
    "verification_not_pending": (409, "The verification is no longer pending"),
    "idempotency_key_in_progress": (409, "This Idempotency-Key's first request has not finished"),
    "verification_expired": (410, "The verification has expired"),
    "payload_too_large": (413, "The request body is too large"),
    "invalid_phone": (422, "The phone number is not valid"),
    "unsupported_locale": (422, "No message text for this locale"),
    "number_type_not_allowed": (422, "This app does not send codes to that kind of number"),
    "idempotency_key_reused": (422, "The Idempotency-Key was used with a different body"),
    "rate_limited": (429, "Too many requests for this rule; wait and retry"),
    "resend_cooldown": (429, "Wait before sending another code"),
    "max_sends_reached": (429, "This verification has sent all the codes it may"),
    "max_attempts_reached": (429, "Too many wrong codes; start a new verification"),
    "internal_error": (500, "Internal error"),
    "delivery_failed": (502, "No provider could deliver the message"),
    "store_unavailable": (503, "The data store is unavailable; try again shortly"),
}

PROBLEM_TYPE = "urn:otpgate:problem:"
_HTTP_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
}


class OtpgateError(Exception):
    """A domain error with a stable ``code`` from :data:`ERRORS`.

    Args:
        code: the stable error code.
        detail: a sentence for a person, about this occurrence.
        retry_after: seconds after which the same request may succeed (sets Retry-After).
        headers: further response headers (e.g. ``Idempotent-Replayed``).
        **extra: further members of the problem document.
    """

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status, self.title = ERRORS[code]
        self.detail = detail or self.title
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")

    def to_problem(self) -> ProblemDetailsException:
        headers = dict(self.headers)
        extra: dict[str, Any] = {"code": self.code, **self.extra}
        if self.retry_after is not None:
            seconds = max(1, int(-(-self.retry_after // 1)))  # round up, at least 1 s
            headers["Retry-After"] = str(seconds)
            extra["retry_after"] = seconds
        return _problem(self.code, self.detail, extra=extra, headers=headers)


def _problem(
    code: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemDetailsException:
    status, title = ERRORS[code]
    return ProblemDetailsException(
        detail=detail,
        status_code=status,
        title=title,
        type_=PROBLEM_TYPE + code,
        extra={"code": code, **(extra or {})},
        headers=headers or None,
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    code = _HTTP_STATUS_CODES.get(exc.status_code)
    if code is None:
        status = HTTPStatus(exc.status_code)
        return ProblemDetailsException(
            detail=str(exc.detail),
            status_code=exc.status_code,
            title=status.phrase,
            extra={"code": status.name.lower()},
            headers=exc.headers,
        )
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    detail = (
        exc.detail
        if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase
        else ERRORS[code][1]
    )
    return _problem(code, str(detail), extra=extra, headers=exc.headers)


def _from_store_error(exc: Exception) -> ProblemDetailsException:
    log.warning("redis unavailable: %s", exc)
    return _problem(
        "store_unavailable",
        "Redis did not answer; nothing was changed",
        headers={"Retry-After": "1"},
    )


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return _problem("internal_error", "An unexpected error occurred")


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Every error the service answers becomes application/problem+json with a ``code``."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                OtpgateError: OtpgateError.to_problem,
                HTTPException: _from_http_exception,
                RedisConnectionError: _from_store_error,
                RedisTimeoutError: _from_store_error,
                Exception: _from_unexpected,
            }
        )
    )
