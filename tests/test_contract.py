"""The check conftest.py applies to every response fails on each kind of drift between
the service and openapi.json (and passes what the document describes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.contract import CONTRACT

PROBLEM = "application/problem+json"


def _problem(code: str, status: int, **members: Any) -> dict[str, Any]:
    return {
        "type": f"urn:otpgate:problem:{code}", "title": "t", "status": status, "detail": "d",
        "code": code, **members,
    }  # fmt: skip


def _response(
    method: str, path: str, status: int, body: Any = None, *, media_type: str = PROBLEM,
    headers: dict[str, str] | None = None,
) -> httpx.Response:  # fmt: skip
    content = b"" if body is None else httpx.Response(200, json=body).content
    return httpx.Response(
        status,
        content=content,
        # every answer carries its X-Request-Id (app/http/access.py)
        headers={"content-type": media_type, "x-request-id": "req_test", **(headers or {})},
        request=httpx.Request(method, f"http://otpgate.test{path}"),
    )


def test_a_documented_problem_passes() -> None:
    CONTRACT.check(
        _response(
            "POST", "/v1/verifications", 429,
            _problem("rate_limited", 429, rule="send_per_number", limit=1, window=60,
                     retry_after=5),
            headers={"retry-after": "5"},
        )
    )  # fmt: skip


def test_a_documented_success_passes() -> None:
    CONTRACT.check(
        _response("GET", "/healthz", 200, {"status": "ok"}, media_type="application/json")
    )


@pytest.mark.parametrize(
    ("response", "complaint"),
    [
        (_response("GET", "/v1/blocks", 404, _problem("block_not_found", 404)),
         "not documented"),
        (_response("GET", "/v1/verifications/ver_x", 404, _problem("block_not_found", 404)),
         "with code 'block_not_found'"),
        (_response("GET", "/v1/verifications/ver_x", 404,
                   _problem("verification_not_found", 404, surprise=1)),
         "does not match"),
        (_response("GET", "/v1/verifications/ver_x", 404,
                   _problem("verification_not_found", 404), media_type="application/json"),
         "as 'application/json'"),
        (_response("GET", "/v1/verifications/ver_x", 404,
                   _problem("verification_not_found", 404), headers={"x-secret": "1"}),
         "header 'x-secret'"),
        (_response("POST", "/v1/verifications", 429, _problem("rate_limited", 429),
                   headers={"retry-after": "soon"}),
         "header retry-after"),
        (_response("GET", "/healthz", 200, {"status": "fine"}, media_type="application/json"),
         "does not match"),
        (_response("POST", "/v1/verifications/check", 200, {"id": "ver_x", "valid": True},
                   media_type="application/json"),
         "does not match"),
    ],
    ids=[
        "undocumented status", "code the operation does not list", "undocumented member",
        "wrong media type", "undocumented header", "header against its schema",
        "value outside an enum", "missing required field",
    ],
)  # fmt: skip
def test_drift_is_caught(response: httpx.Response, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        CONTRACT.check(response)


def test_a_literal_segment_wins_over_a_parameter() -> None:
    template, operation = CONTRACT.operation("POST", "/v1/verifications/check") or ("", {})
    assert (template, operation["operationId"]) == (
        "/v1/verifications/check", "checkVerification"
    )  # fmt: skip


def test_routes_outside_the_document_are_not_checked() -> None:
    CONTRACT.check(_response("GET", "/metrics", 200, "anything", media_type="text/plain"))
    assert CONTRACT.operation("PUT", "/v1/verifications/ver_x") is None
