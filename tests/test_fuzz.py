"""Schemathesis over openapi.json against a live otpgate, bounded (``make fuzz`` is the
long run): no server error, and every response true to the document, in status, media
type, body and headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import settings

from app.asgi import create_app
from app.settings import load_settings
from tests.conftest import API_KEY, AUTH, FAST_ARGON2
from tests.fuzz import CHECKS, OPENAPI_JSON
from tests.stubs.loopback import serve


@pytest.fixture(scope="module")
def live_url(redis_url: str) -> Iterator[str]:
    """otpgate as deployed (default throttles and cooldown), on loopback."""
    overrides = {"env": "test", "redis_url": redis_url, "bootstrap_api_key": API_KEY}
    with serve(
        create_app(load_settings({}, overrides={**overrides, "argon2": FAST_ARGON2}))
    ) as url:
        yield url


schema = schemathesis.openapi.from_path(OPENAPI_JSON)
schema.config.checks.update(included_check_names=list(CHECKS))


@schema.parametrize()
@settings(max_examples=5, deadline=None, database=None)
def test_every_operation_answers_as_openapi_json_says(case: Any, live_url: str) -> None:
    case.call_and_validate(base_url=live_url, headers=AUTH)
