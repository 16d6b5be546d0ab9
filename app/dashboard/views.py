"""What every dashboard page shares: its frame (who is signed in, the app selector, the
CSRF token), the app a request is about, and the template filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app.apps.auth import app_for
from app.dashboard.auth import BASE, SIGN_IN_COOKIE, SIGN_IN_TTL, cookie, new_token
from app.errors import OtpgateError

if TYPE_CHECKING:
    from litestar import Request

    from app.apps.registry import AppRegistry
    from app.apps.sessions import SignedIn
    from app.settings import Settings

__all__ = ["FILTERS", "AppForm", "Form", "chosen_app", "page", "see_other", "sign_in_page"]


class AppForm(msgspec.Struct, frozen=True):
    """A change's form: its CSRF token (checked by the guard) and the app it is about."""

    csrf: str = ""
    app: str = ""


#: How a change's form arrives: a browser's url-encoded POST.
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def chosen_app(viewer: SignedIn, app: str | None, apps: AppRegistry) -> str:
    """The app a page is about: the key's own, or for an operator the one picked.

    Raises:
        PermissionDeniedException: another app, for an admin key.
        OtpgateError: ``app_not_found``.
    """
    name = app_for(viewer.key, app or None)
    if not apps.known(name) and name not in apps.records:
        raise OtpgateError("app_not_found", f"no app {name!r}")
    return name


def page(
    request: Request[SignedIn, Any, Any],
    apps: AppRegistry,
    template: str,
    app: str | None = None,
    **context: Any,
) -> Template:
    """``template`` in the signed-in frame; ``app`` is the app the page shows."""
    viewer = request.user
    return Template(
        template_name=template,
        context={
            "viewer": viewer, "app": app or viewer.app, "csrf": viewer.session.csrf,
            "apps": apps.names() if viewer.operator else [viewer.app],
            "path": request.scope["path"], **context,
        },
    )  # fmt: skip


def see_other(slug: str, **query: str) -> Redirect:
    """303 to the page ``slug`` with ``query``: after a change, so that a reload repeats
    nothing."""
    return Redirect(f"{BASE}/{slug}?{urlencode(query)}", status_code=303)


def sign_in_page(settings: Settings, error: str | None = None, status: int = 200) -> Template:
    """The sign-in form, with a fresh token that its own cookie holds too."""
    token = new_token()
    return Template(
        template_name="sign_in.html",
        context={"csrf": token, "error": error},
        status_code=status,
        cookies=[cookie(settings, SIGN_IN_COOKIE, token, max_age=SIGN_IN_TTL)],
    )


def _when(at: float | datetime | None) -> str:
    if at is None:
        return "—"
    moment = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


#: Jinja filters of the dashboard's templates.
FILTERS = {"when": _when, "percent": _percent, "ms": _milliseconds}
