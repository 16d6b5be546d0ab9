"""openapi.json at the top of the repository is generated from the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from app.asgi import openapi_document

COMMITTED = Path(__file__).parent.parent / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text() == openapi_document(), (
        "openapi.json is stale: run `otpgate openapi` (make openapi) and commit it"
    )


def test_openapi_documents_every_public_route_with_an_operation_id() -> None:
    document = json.loads(openapi_document())
    operations = {
        (method.upper(), path): operation.get("operationId")
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert operations == {
        ("POST", "/v1/verifications"): "startVerification",
        ("GET", "/v1/verifications/{verification_id}"): "getVerification",
        ("POST", "/v1/verifications/check"): "checkVerification",
        ("POST", "/v1/verifications/{verification_id}/cancel"): "cancelVerification",
        ("GET", "/v1/limits"): "getLimits",
        ("DELETE", "/v1/limits"): "resetLimits",
        ("GET", "/v1/blocks"): "listBlocks",
        ("DELETE", "/v1/blocks/{block_id}"): "liftBlock",
        ("GET", "/v1/providers"): "listProviders",
        ("POST", "/v1/callbacks/{provider}/{token}"): "providerCallback",
        ("GET", "/v1/callbacks/{provider}/{token}"): "providerCallbackByGet",
        ("GET", "/v1/stats"): "getStats",
        ("GET", "/v1/events/dead"): "listDeadEvents",
        ("POST", "/v1/events/{event_id}/replay"): "replayEvent",
        ("GET", "/healthz"): "health",
        ("GET", "/readyz"): "ready",
    }
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


DOCUMENT = json.loads(COMMITTED.read_text())


async def test_the_docs_page_loads_nothing_but_otpgate_s_own_assets(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) == 4  # Swagger UI's bundle, preset, stylesheet, and the icon
    assert all(url.startswith("/schema/static/") for url in urls), urls
    assert "cdn" not in page.text.lower()
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
        assert kinds[Path(url).suffix] in asset.headers["content-type"], url
    assert (await client.get("/schema/swagger")).text == page.text
    assert (await client.get("/schema/openapi.json")).json() == DOCUMENT
