"""Every error otpgate answers, as RFC 9457 problem+json with a stable ``code``.

Domain errors (:class:`~app.errors.OtpgateError`), Litestar's own HTTP errors (bad
body, unknown route), Redis outages and bugs each become one problem document here.
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

from app.errors import ERRORS, PROBLEM_TYPE, OtpgateError
from app.metrics import REDIS_ERRORS, REFUSALS
from app.store.redis import UNAVAILABLE, NotReplicated

if TYPE_CHECKING:
    from litestar import Request, Response

__all__ = ["problem_details_plugin", "problem_of", "problem_response", "to_problem"]

log = logging.getLogger("otpgate")

#: Litestar's statuses -> our codes, for the HTTP errors the framework raises itself.
_HTTP_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
}


#: Error codes that are a rule refusing a request (counted by reason in /metrics).
_REFUSALS = frozenset({
    "ip_not_allowed", "country_not_allowed", "suspected_fraud", "send_denied",
    "number_type_not_allowed", "resend_cooldown", "max_sends_reached", "max_attempts_reached",
    "quota_exceeded", "factor_locked",
})  # fmt: skip


def to_problem(error: OtpgateError) -> ProblemDetailsException:
    if error.code == "rate_limited":
        REFUSALS.labels(str(error.extra.get("rule", "rate_limited"))).inc()
    elif error.code in _REFUSALS:
        REFUSALS.labels(error.code).inc()
    headers = dict(error.headers)
    extra: dict[str, Any] = {"code": error.code, **error.extra}
    if error.retry_after is not None:
        seconds = max(1, int(-(-error.retry_after // 1)))  # round up, at least 1 s
        headers["Retry-After"] = str(seconds)
        extra["retry_after"] = seconds
    return _problem(error.code, error.detail, extra=extra, headers=headers)


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


def problem_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The problem+json answer to one of Litestar's own HTTP errors."""
    return _from_http_exception(exc).to_response(request)


def _from_store_error(exc: Exception) -> ProblemDetailsException:
    log.warning("redis unavailable: %s", exc)
    REDIS_ERRORS.labels("request").inc()
    detail = (
        "Redis made the change but not enough replicas confirmed it in time, so a failover "
        "could lose it: read the verification before you retry"
        if isinstance(exc, NotReplicated)
        else "Redis did not answer in time; retry shortly"
    )
    return _problem("store_unavailable", detail, headers={"Retry-After": "1"})


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return _problem("internal_error", "An unexpected error occurred")


def problem_of(exc: Exception) -> ProblemDetailsException:
    """The problem the API answers for ``exc``: what an HTML page (the dashboard) shows of
    an error, from the same table."""
    if isinstance(exc, OtpgateError):
        return to_problem(exc)
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    if isinstance(exc, UNAVAILABLE):
        return _from_store_error(exc)
    return _from_unexpected(exc)


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Every error the service answers becomes application/problem+json with a ``code``."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                OtpgateError: to_problem,
                HTTPException: _from_http_exception,
                **dict.fromkeys(UNAVAILABLE, _from_store_error),
                Exception: _from_unexpected,
            }
        )
    )
