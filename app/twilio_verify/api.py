"""The HTTP side of the Twilio-compatible API: HTTP Basic with an otpgate key, the base
URL its answers name, and Twilio's error bodies for everything that goes wrong under
``/twilio`` (Litestar's exception handlers, scoped to its router; the app-wide ones
hand an unknown route or method under ``/twilio`` to :func:`answer_unrouted`)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from app.apps.auth import authenticate_basic, has_scope
from app.errors import OtpgateError
from app.store.redis import UNAVAILABLE
from app.twilio_verify.errors import TwilioError, from_otpgate, from_status, unsupported

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import ExceptionHandlersMap, Guard

    from app.apps.keys import ApiKey

__all__ = ["PREFIX", "answer", "answer_unrouted", "base_url", "exception_handlers", "twilio_scope"]

log = logging.getLogger("otpgate")

PREFIX = "/twilio"
#: Twilio Verify resources otpgate does not have: their paths answer 60204, not 20404.
_FEATURES = ("Entities", "Passkeys", "RateLimits", "MessagingConfigurations", "Webhooks",
             "AccessTokens", "Templates", "Forms")  # fmt: skip


def base_url(request: Request[Any, Any, Any]) -> str:
    """Where the answers' URLs point: ``public_url`` (a proxy in front), else the request's
    own origin, and ``/twilio``: a Twilio SDK follows ``next_page_url`` as it is."""
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/") + PREFIX


def twilio_scope(*scopes: str) -> Guard:
    """Authenticate by HTTP Basic and admit keys holding one of ``scopes`` (20003, 20403)."""

    async def guard(connection: ASGIConnection[Any, ApiKey, Any, Any], _: BaseRouteHandler) -> None:
        record = await authenticate_basic(connection)
        if not has_scope(record, *scopes):
            raise TwilioError(
                20403, f"Forbidden: this needs a key with scope {' or '.join(scopes)}"
            )

    return guard


def answer(error: TwilioError, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        error.body(), status_code=error.status, headers={**error.headers(), **(headers or {})},
        media_type="application/json",
    )  # fmt: skip


def _twilio(_: Request[Any, Any, Any], exc: TwilioError) -> Response[Any]:
    return answer(exc)


def _otpgate(_: Request[Any, Any, Any], exc: OtpgateError) -> Response[Any]:
    return answer(from_otpgate(exc))


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    phrase = HTTPStatus(exc.status_code).phrase
    detail = str(exc.detail) if exc.detail and exc.detail != phrase else ""
    if isinstance(exc, ValidationException):
        detail = "the body is not a form"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "www-authenticate"}
    return answer(from_status(exc.status_code, detail), headers)


def _unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("redis unavailable: %s", exc)
    return answer(TwilioError(20503, "Service unavailable: Redis did not answer; retry shortly",
                              retry_after=1))  # fmt: skip


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", exc_info=exc)
    return answer(TwilioError(20500))


def exception_handlers() -> ExceptionHandlersMap:
    """Every exception the app-wide handlers know, in Twilio's shape here (the nearest
    class in an exception's MRO wins, so each of theirs is overridden by name)."""
    from litestar.plugins.problem_details import ProblemDetailsException

    return {
        TwilioError: _twilio, OtpgateError: _otpgate, HTTPException: _http,
        ProblemDetailsException: _http, **dict.fromkeys(UNAVAILABLE, _unavailable),
        Exception: _unexpected,
    }  # fmt: skip


def answer_unrouted(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any] | None:
    """Twilio's answer for no such route (20404, or 60204 for a Twilio Verify resource
    otpgate does not have) or method (20004) under ``/twilio``; None elsewhere."""
    path = request.url.path
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return None
    if exc.status_code == 404:
        parts = path.split("/")
        feature = next((part for part in parts if part in _FEATURES), None)
        if feature is not None:
            return answer(unsupported(feature))
        where = path.removeprefix(PREFIX)
        return answer(TwilioError(20404, f"The requested resource {where} was not found"))
    return answer(from_status(exc.status_code))
