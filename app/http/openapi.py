"""How the OpenAPI document is made, and its docs page at ``/schema``, which works offline."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
from pathlib import Path
from typing import TYPE_CHECKING

from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar import Router
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

__all__ = ["DOCS_PATH", "DocumentedStructs", "OfflineSwaggerUI", "openapi_config"]

DOCS_PATH = "/schema"
_ASSETS = "/static"


class DocumentedStructs(StructSchemaPlugin):
    """Litestar's schemas of msgspec Structs, described by each Struct's docstring
    (Litestar reads the docstrings of enums only), and a field that may be absent
    (``X | UnsetType``) typed ``X``, not ``oneOf: [X]``.

    Litestar's struct plugin is not public API: the openapi.json drift test shows at once
    if an upgrade changes what it makes.
    """

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        doc = field_definition.type_.__doc__
        if schema.description is None and doc:
            schema.description = inspect.cleandoc(doc)
        properties = schema.properties or {}
        for name, field in properties.items():
            if (
                isinstance(field, Schema)
                and field.one_of is not None
                and len(field.one_of) == 1
                and isinstance(field.one_of[0], Schema)
            ):
                own = {key: value for key, value in vars(field).items() if value is not None}
                del own["one_of"]
                properties[name] = dataclasses.replace(field.one_of[0], **own)
        return schema


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
        description="Self-hosted SMS verification codes: send, check, cancel. Every error is "
        "`application/problem+json` (the `Problem` schema) with a stable `code`.",
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="API key; or a signed request instead "
                    "(`Authorization: OTPGATE-HMAC-SHA256 key=…,ts=…,nonce=…,sig=…`, see README)",
                )
            }
        ),
        use_handler_docstrings=True,
        path=DOCS_PATH,
        render_plugins=[OfflineSwaggerUI()],
    )
