"""Errors on the dashboard are pages, not problem+json: the same table decides the status,
title and detail (:func:`app.http.problems.problem_of`), a page shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from app.dashboard.auth import BASE, SESSION_COOKIE, SignInRequired, expired_cookie
from app.dashboard.views import sign_in_page
from app.errors import OtpgateError
from app.http.problems import problem_of
from app.store.redis import UNAVAILABLE

if TYPE_CHECKING:
    from litestar import Request, Response

    from app.settings import Settings

__all__ = ["EXCEPTION_HANDLERS", "SIGN_IN"]

SIGN_IN = f"{BASE}/sign-in"


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The page of an error; a sign-in that failed shows the form again, with why."""
    settings: Settings = request.app.state.settings
    if isinstance(exc, SignInRequired):
        return Redirect(
            SIGN_IN, status_code=303, cookies=[expired_cookie(settings, SESSION_COOKIE)]
        )
    problem = problem_of(exc)
    if request.scope["path"] == SIGN_IN and request.method == "POST":
        return sign_in_page(settings, error=str(problem.detail), status=problem.status_code)
    return Template(
        template_name="error.html",
        status_code=problem.status_code,
        headers=problem.headers,
        context={
            "status": problem.status_code, "title": problem.title, "detail": problem.detail,
            "code": problem.extra.get("code") if isinstance(problem.extra, dict) else None,
            "viewer": request.scope.get("user"),
        },
    )  # fmt: skip


#: Every error a dashboard route can raise.
EXCEPTION_HANDLERS: Any = dict.fromkeys(
    (OtpgateError, HTTPException, *UNAVAILABLE, Exception), error_page
)
