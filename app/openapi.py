"""How the OpenAPI document is made, and its docs page at ``/schema``, which works offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar import Router

__all__ = ["DOCS_PATH", "OfflineSwaggerUI", "openapi_config"]

DOCS_PATH = "/schema"
_ASSETS = "/static"


def _swagger_ui_files() -> Path:
    # find_spec locates the package without running its __init__ (a web-framework adapter).
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: reinstall otpgate")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class OfflineSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI at ``/schema``, its JavaScript, CSS and icon served by otpgate itself from
    the swagger-ui-py package: the page needs no CDN, and tells none about its visitors."""

    def __init__(self) -> None:
        assets = DOCS_PATH + _ASSETS
        super().__init__(
            js_url=f"{assets}/swagger-ui-bundle.js",
            css_url=f"{assets}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
            path=["/", "/swagger"],
            favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(
            create_static_files_router(
                _ASSETS,
                directories=[_swagger_ui_files()],
                name="swagger-ui",
                cache_control=CacheControlHeader(max_age=86400, public=True),
            )
        )


def openapi_config(version: str) -> OpenAPIConfig:
    """The OpenAPI document of otpgate ``version``, served at ``/schema/openapi.json``."""
    return OpenAPIConfig(
        title="otpgate",
        version=version,
        description="Self-hosted SMS verification codes: send, check, cancel.",
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")
            }
        ),
        use_handler_docstrings=True,
        path=DOCS_PATH,
        render_plugins=[OfflineSwaggerUI()],
    )
