"""The operator's dashboard at ``/dashboard``: server-rendered pages over the services the
admin API calls (no second source of truth), signed in with an ``admin`` or ``operator``
API key. Its CSS, its small script and its icon ship in ``static/``: no CDN."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Router
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.dashboard.abuse import AbuseController
from app.dashboard.auth import BASE
from app.dashboard.errors import EXCEPTION_HANDLERS
from app.dashboard.keys import KeysController
from app.dashboard.operations import OperationsController
from app.dashboard.overview import OverviewController
from app.dashboard.signing import SessionController
from app.dashboard.views import FILTERS

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["dashboard_router", "template_config"]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: Pages load only what otpgate serves itself, and no other site may frame them.
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=_POLICY),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
]


def dashboard_router() -> Router:
    """Every dashboard route: its pages, and its assets under ``/dashboard/static``."""
    pages = Router(
        path="/",
        route_handlers=[
            SessionController, OverviewController, AbuseController, OperationsController,
            KeysController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        response_headers=SECURITY_HEADERS,
        cache_control=CacheControlHeader(no_store=True),
        include_in_schema=False,
    )  # fmt: skip
    assets = create_static_files_router(
        path=f"{BASE}/static", directories=[STATIC], cache_control=CacheControlHeader(max_age=300)
    )
    return Router(path="/", route_handlers=[pages, assets], include_in_schema=False)


def template_config(more: Sequence[Path] = ()) -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja through Litestar's engine (autoescaping on), over the dashboard's templates
    and ``more`` directories (the dev outbox's)."""

    def with_filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters.update(FILTERS)

    return TemplateConfig(
        directory=[TEMPLATES, *more], engine=JinjaTemplateEngine, engine_callback=with_filters
    )
