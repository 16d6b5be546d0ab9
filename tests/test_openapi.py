"""openapi.json at the top of the repository is generated from the app."""

from __future__ import annotations

import json
from pathlib import Path

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
