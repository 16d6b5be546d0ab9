"""Checks a response of otpgate against openapi.json: the fixtures in conftest.py apply it
to every response the test suite receives, so the code and the contract cannot drift.

Written on jsonschema rather than openapi-core: this also fails on a header the document
does not declare, on a member a schema does not name, and on a problem `code` the
operation does not list, which openapi-core does not check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema

__all__ = ["CONTRACT", "OPENAPI_JSON", "Contract"]

OPENAPI_JSON = Path(__file__).parent.parent / "openapi.json"
# Headers any response may carry, whatever the operation.
_GENERIC_HEADERS = frozenset(
    {"content-type", "content-length", "date", "server", "connection", "transfer-encoding",
     "keep-alive"}
)  # fmt: skip


def _closed(schema: Any) -> Any:
    """``schema`` with every object that names its properties closed to any others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    item: dict[str, Any]


class Contract:
    """The operations of an OpenAPI document, and what each may answer."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._components = _closed(document.get("components", {}))
        routes = [
            _Route(
                template,
                re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
                item,
            )
            for template, item in document["paths"].items()
        ]
        # Litestar prefers a literal segment to a parameter (/check over /{id}): so do we.
        self._routes = sorted(routes, key=lambda route: route.template.count("{"))
        self._validators: dict[int, jsonschema.Draft202012Validator] = {}

    @classmethod
    def from_file(cls, path: Path = OPENAPI_JSON) -> Contract:
        return cls(json.loads(path.read_text()))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The (template, operation) that answers ``method path``, if the document has one."""
        for route in self._routes:
            if route.pattern.match(path):
                operation = route.item.get(method.lower())
                return (route.template, operation) if operation is not None else None
        return None

    def check(self, response: httpx.Response) -> None:
        """Raise AssertionError unless ``response`` is one the document describes."""
        request = response.request
        found = self.operation(request.method, request.url.path)
        if found is None:
            return  # not an API operation: /metrics, /dev/outbox, /schema, a wrong method
        template, operation = found
        where = f"{request.method} {template} answered {response.status_code}"
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            documented = operation["responses"].get("default")
        assert documented is not None, f"{where}, which is not documented: {response.text[:300]}"
        self._check_headers(where, documented.get("headers", {}), response)
        self._check_body(where, documented.get("content"), response)

    def _check_headers(
        self, where: str, declared: dict[str, Any], response: httpx.Response
    ) -> None:
        by_name = {name.lower(): header for name, header in declared.items()}
        for name, value in response.headers.items():
            if name in _GENERIC_HEADERS:
                continue
            assert name in by_name, f"{where} with header {name!r}, which is not documented"
            if schema := by_name[name].get("schema"):
                self._validate(where, f"header {name}", value, schema)
        for name, header in by_name.items():
            if header.get("required"):
                assert name in response.headers, f"{where} without required header {name!r}"

    def _check_body(
        self, where: str, content: dict[str, Any] | None, response: httpx.Response
    ) -> None:
        if not content:
            assert not response.content, f"{where} with a body, but documents none"
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        entry = content.get(media_type) or content.get("*/*")
        assert entry is not None, f"{where} as {media_type!r}; documented: {sorted(content)}"
        if not (media_type == "application/json" or media_type.endswith("+json")):
            return
        body = response.json()
        self._validate(where, "body", body, entry["schema"])
        codes = {example["value"]["code"] for example in entry.get("examples", {}).values()}
        if codes:
            assert body.get("code") in codes, f"{where} with code {body.get('code')!r}; {codes}"

    def _validate(self, where: str, what: str, value: Any, schema: dict[str, Any]) -> None:
        validator = self._validators.get(id(schema))
        if validator is None:
            rooted = {**_closed(schema), "components": self._components}
            validator = self._validators[id(schema)] = jsonschema.Draft202012Validator(rooted)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        assert error is None, f"{where}: its {what} does not match the document: {error}"


CONTRACT = Contract.from_file()
