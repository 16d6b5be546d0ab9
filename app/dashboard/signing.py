"""Signing in to the dashboard with an API key, and out."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app.apps.sessions import Sessions, SignedIn
from app.dashboard.auth import (
    BASE,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    CsrfRefused,
    client_address,
    cookie,
    expired_cookie,
    same_token,
    signed_in,
)
from app.dashboard.errors import SIGN_IN
from app.dashboard.views import sign_in_page

__all__ = ["SessionController"]


class SignInForm(msgspec.Struct, frozen=True):
    key: str = ""
    csrf: str = ""


class SessionController(Controller):
    path = BASE
    include_in_schema = False
    signature_types = [Sessions, SignedIn]

    @get("/", cache=False)
    async def home(self) -> Redirect:
        return Redirect(f"{BASE}/overview", status_code=303)

    @get("/sign-in", cache=False)
    async def sign_in_form(self, request: Request[Any, Any, Any]) -> Template:
        return sign_in_page(request.app.state.settings)

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        sessions: NamedDependency[Sessions],
        data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        if not same_token(request.cookies.get(SIGN_IN_COOKIE), data.csrf):
            raise CsrfRefused("the sign-in form's CSRF token is missing or wrong: try again")
        session_id, _ = await sessions.sign_in(
            data.key, client_address(request), replacing=request.cookies.get(SESSION_COOKIE)
        )
        settings = request.app.state.settings
        return Redirect(
            f"{BASE}/overview",
            status_code=303,
            cookies=[cookie(settings, SESSION_COOKIE, session_id),
                     expired_cookie(settings, SIGN_IN_COOKIE)],
        )  # fmt: skip

    @post("/sign-out", guards=[signed_in], status_code=303)
    async def sign_out(
        self, request: Request[SignedIn, Any, Any], sessions: NamedDependency[Sessions]
    ) -> Redirect:
        await sessions.sign_out(request.user.session_id)
        settings = request.app.state.settings
        return Redirect(
            SIGN_IN, status_code=303, cookies=[expired_cookie(settings, SESSION_COOKIE)]
        )
