"""openapi.json at the top of the repository is generated from the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import openapi_document
from app.errors import ERRORS
from app.http.contract import API_KEY_PROBLEMS
from app.providers.registry import ADAPTERS, OUTBOX
from tests.contract import Contract

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
        ("POST", "/v1/verifications/{verification_id}/approve"): "approveVerification",
        ("GET", "/v1/limits"): "getLimits",
        ("DELETE", "/v1/limits"): "resetLimits",
        ("GET", "/v1/blocks"): "listBlocks",
        ("DELETE", "/v1/blocks/{block_id}"): "liftBlock",
        ("GET", "/v1/providers"): "listProviders",
        ("POST", "/v1/callbacks/{provider}/{token}"): "providerCallback",
        ("GET", "/v1/callbacks/{provider}/{token}"): "providerCallbackByGet",
        ("POST", "/v1/inbound/{provider}/{app}/{token}"): "providerInbound",
        ("GET", "/v1/inbound/{provider}/{app}/{token}"): "providerInboundByGet",
        ("GET", "/v1/stats"): "getStats",
        ("GET", "/v1/apps/{app}/usage"): "getAppUsage",
        ("POST", "/v1/factors"): "createFactor",
        ("GET", "/v1/factors"): "listFactors",
        ("GET", "/v1/factors/{factor_id}"): "getFactor",
        ("DELETE", "/v1/factors/{factor_id}"): "deleteFactor",
        ("POST", "/v1/factors/{factor_id}/confirm"): "confirmFactor",
        ("POST", "/v1/factors/{factor_id}/check"): "checkFactor",
        ("POST", "/v1/factors/unlock"): "unlockFactorSubject",
        ("GET", "/v1/events/dead"): "listDeadEvents",
        ("POST", "/v1/events/{event_id}/replay"): "replayEvent",
        ("GET", "/v1/apps"): "listApps",
        ("POST", "/v1/apps"): "createApp",
        ("GET", "/v1/apps/{app}"): "getApp",
        ("PATCH", "/v1/apps/{app}"): "updateApp",
        ("DELETE", "/v1/apps/{app}"): "disableApp",
        ("GET", "/v1/apps/{app}/audit"): "getAppAudit",
        ("GET", "/v1/apps/{app}/keys"): "listKeys",
        ("POST", "/v1/apps/{app}/keys"): "createKey",
        ("DELETE", "/v1/apps/{app}/keys/{key_id}"): "revokeKey",
        ("POST", "/v1/apps/{app}/keys/{key_id}/rotate"): "rotateKey",
        ("GET", "/v1/apps/{app}/safe-numbers"): "listSafeNumbers",
        ("POST", "/v1/apps/{app}/safe-numbers"): "addSafeNumber",
        ("DELETE", "/v1/apps/{app}/safe-numbers/{number_id}"): "removeSafeNumber",
        ("GET", "/v1/apps/{app}/test-numbers"): "listTestNumbers",
        ("POST", "/v1/apps/{app}/test-numbers"): "addTestNumber",
        ("DELETE", "/v1/apps/{app}/test-numbers/{number_id}"): "removeTestNumber",
        ("GET", "/v1/apps/{app}/templates"): "listTemplates",
        ("GET", "/v1/apps/{app}/templates/audit"): "getTemplateAudit",
        ("GET", "/v1/apps/{app}/templates/{purpose}/{locale}"): "getTemplate",
        ("PUT", "/v1/apps/{app}/templates/{purpose}/{locale}"): "saveTemplate",
        ("DELETE", "/v1/apps/{app}/templates/{purpose}/{locale}"): "deleteTemplate",
        ("POST", "/v1/apps/{app}/templates/{purpose}/{locale}/submit"): "submitTemplate",
        ("POST", "/v1/apps/{app}/templates/{purpose}/{locale}/refresh"): "refreshTemplate",
        ("POST", "/v1/apps/{app}/templates/{purpose}/{locale}/preview"): "previewTemplate",
        ("GET", "/v1/apps/{app}/opt-outs"): "listOptOuts",
        ("DELETE", "/v1/apps/{app}/opt-outs/{opt_out_id}"): "removeOptOut",
        ("POST", "/v1/apps/{app}/opt-outs/remove"): "removeOptOutByNumber",
        ("GET", "/healthz"): "health",
        ("GET", "/readyz"): "ready",
    }
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


DOCUMENT = json.loads(COMMITTED.read_text())
OPERATIONS = {
    operation["operationId"]: operation
    for item in DOCUMENT["paths"].values()
    for operation in item.values()
}


def _problem_codes(response: dict[str, Any]) -> set[str]:
    examples = response["content"]["application/problem+json"]["examples"]
    return {example["value"]["code"] for example in examples.values()}


def test_every_schema_and_every_field_is_described() -> None:
    undescribed = [
        f"{name}.{field}" if field else name
        for name, schema in DOCUMENT["components"]["schemas"].items()
        for field in [None, *schema.get("properties", {})]
        if not (schema if field is None else schema["properties"][field]).get("description")
        and "$ref" not in (schema if field is None else schema["properties"][field])
    ]
    assert undescribed == []


def test_every_error_is_a_problem_with_its_codes_as_examples() -> None:
    for operation_id, operation in OPERATIONS.items():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response["content"]
            assert list(content) == ["application/problem+json"], (operation_id, status)
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
            for code in _problem_codes(response):
                assert ERRORS[code][0] == int(status), (operation_id, status, code)
                assert f"`{code}`" in response["description"], (operation_id, code)


def test_every_problem_example_is_a_valid_problem() -> None:
    contract = Contract(DOCUMENT)
    for operation_id, operation in OPERATIONS.items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response["content"]["application/problem+json"]
                for example in content["examples"].values():
                    contract._validate(operation_id, "example", example["value"], content["schema"])


def test_the_problem_schema_names_every_error_code_and_every_member_the_service_sends() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorCode"]["enum"] == list(ERRORS)
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    assert {
        "instance", "errors", "rule", "limit", "window", "retry_after", "block_id", "provider",
        "provider_error", "error_kind", "verification_id", "verification_status", "country",
        "number_type",
    } <= set(schemas["Problem"]["properties"])  # fmt: skip
    assert schemas["FieldError"]["properties"]["source"]["enum"] == [
        "body", "query", "path", "header", "cookie"
    ]  # fmt: skip


def test_every_api_key_route_documents_the_errors_of_the_key_and_of_redis() -> None:
    for operation_id, operation in OPERATIONS.items():
        if operation.get("security"):
            documented = {
                code
                for status, response in operation["responses"].items()
                if int(status) >= 400
                for code in _problem_codes(response)
            }
            assert set(API_KEY_PROBLEMS) <= documented, operation_id


#: 429s that waiting does not cure: they carry no Retry-After.
NO_WAIT = {"max_sends_reached", "max_attempts_reached", "factor_locked"}


def test_retry_after_is_declared_on_every_429_and_503() -> None:
    for operation_id, operation in OPERATIONS.items():
        for status in ("429", "503"):
            response = operation["responses"].get(status)
            if response is not None and set(_problem_codes(response)) - NO_WAIT:
                assert "Retry-After" in response["headers"], (operation_id, status)
    assert "Retry-After" in OPERATIONS["startVerification"]["responses"]["403"]["headers"]
    assert "WWW-Authenticate" in OPERATIONS["getVerification"]["responses"]["401"]["headers"]


def test_a_send_declares_its_rate_limit_and_replay_headers() -> None:
    headers = OPERATIONS["startVerification"]["responses"]["201"]["headers"]
    assert set(headers) == {
        "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
        "Idempotent-Replayed", "X-Request-Id",
    }  # fmt: skip
    assert all(header["description"] for header in headers.values())


def test_every_answer_of_every_operation_declares_its_request_id() -> None:
    for operation_id, operation in OPERATIONS.items():
        for status, response in operation["responses"].items():
            assert response["headers"]["X-Request-Id"]["required"], (operation_id, status)


@pytest.mark.parametrize(
    ("schema", "field", "values"),
    [
        ("VerificationView", "status", {"pending", "approved", "canceled", "expired", "failed",
                                        "max_attempts_reached"}),
        ("CheckResult", "status", {"pending", "approved", "canceled", "expired", "failed",
                                   "max_attempts_reached"}),
        ("VerificationView", "channel", {"sms", "voice", "whatsapp", "email"}),
        ("StartVerification", "channel", {"sms", "voice", "whatsapp", "email"}),
        ("MessageView", "channel", {"sms", "voice", "whatsapp", "email"}),
        ("MessageView", "fallback", {"no_receipt", "undelivered", "failed", None}),
        ("MessageView", "status", {"queued", "sent", "delivered", "undelivered", "failed",
                                   "skipped", "unknown"}),
        ("TimelineEvent", "status", {"queued", "sent", "delivered", "undelivered", "failed"}),
        ("AttemptView", "outcome", {"accepted", "retryable", "permanent", "account", "skipped"}),
        ("ProviderHealth", "state", {"closed", "open", "half_open"}),
        ("Block", "kind", {"prefix", "country"}),
        ("Event", "type", {"verification.approved", "verification.failed",
                           "verification.expired", "verification.canceled",
                           "message.delivered", "message.failed", "message.fallback",
                           "quota.exceeded", "number.opted_out", "number.opted_in"}),
        ("Problem", "error_kind", {"retryable", "permanent", "account"}),
        ("StatsView", "window", {"1h", "24h", "7d"}),
        ("RuleState", "rule", {"send_per_number", "send_per_ip", "send_per_app",
                               "send_per_country", "wrong_checks_per_number", "checks_per_ip"}),
        ("Health", "status", {"ok", "ready"}),
        ("StoredTemplate", "state", {"draft", "submitted", "approved", "rejected"}),
        ("ProviderReview", "reviewed_by", {"provider", "admin"}),
        ("TemplatePreview", "encoding", {"GSM-7", "UCS-2"}),
    ],
)  # fmt: skip
def test_closed_sets_are_enums(schema: str, field: str, values: set[str | None]) -> None:
    documented = DOCUMENT["components"]["schemas"][schema]["properties"][field]
    assert set(documented.get("enum") or [documented["const"]]) == values


def test_the_provider_types_are_the_registry_s_adapters() -> None:
    schema = DOCUMENT["components"]["schemas"]["ProviderStatus"]["properties"]["type"]
    assert set(schema["enum"]) == {*ADAPTERS, OUTBOX}


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
