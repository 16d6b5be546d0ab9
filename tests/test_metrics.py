"""GET /metrics: Prometheus text with HTTP figures per route template and otpgate's own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH, latest_code

pytestmark = pytest.mark.topologies

TO = "+8613800138000"


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels...}`` in the exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template_and_our_events(
    client: AsyncTestClient[Any],
) -> None:
    before = (await client.get("/metrics")).text
    sent = (await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)).json()
    await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
    await client.post("/v1/verifications/check", json={"to": TO, "code": "000000"}, headers=AUTH)
    code = await latest_code(client, TO)
    await client.post("/v1/verifications/check", json={"to": TO, "code": code}, headers=AUTH)

    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert sent["id"] not in text  # ids never become labels
    assert re.search(r'path="/v1/verifications/\{verification_id', text)
    for name, labels in [
        ("otpgate_sms_attempts_total", {"provider": "outbox", "outcome": "accepted"}),
        ("otpgate_checks_total", {"result": "approved"}),
    ]:
        assert value(text, name, **labels) == value(before, name, **labels) + 1
    wrong = {"result": "wrong"}
    expected_wrong = value(before, "otpgate_checks_total", **wrong) + (0 if code == "000000" else 1)
    assert value(text, "otpgate_checks_total", **wrong) == expected_wrong


def count(text: str, path: str, status: int) -> float:
    return value(text, "otpgate_requests_total", path=path, status_code=str(status))


async def test_every_status_class_is_counted_with_its_own_status(
    client: AsyncTestClient[Any], redis: Any
) -> None:
    from app.apps.keys import ApiKeyStore

    verify_only, _ = await ApiKeyStore(redis).create("default", ["verify"])
    weak = {"Authorization": f"Bearer {verify_only}"}
    path = "/v1/verifications"
    before = (await client.get("/metrics")).text  # counters live as long as the process
    answers = [
        (await client.post(path, json={"to": TO}, headers=AUTH)).status_code,  # 201
        (await client.post(path, json={"to": TO})).status_code,  # 401: no key
        (await client.post(path, json={"to": 5}, headers=AUTH)).status_code,  # 400
        (await client.post(path, json={"to": "+86123"}, headers=AUTH)).status_code,  # 422
        (await client.get("/v1/limits", headers=weak)).status_code,  # 403
    ]
    assert answers == [201, 401, 400, 422, 403]
    text = (await client.get("/metrics")).text
    for route, status in [(path, 201), (path, 401), (path, 400), (path, 422), ("/v1/limits", 403)]:
        assert count(text, route, status) == count(before, route, status) + 1, (route, status)
    assert count(text, path, 200) == count(before, path, 200)


async def test_each_request_is_timed_once_and_probes_and_scrapes_are_not_counted(
    client: AsyncTestClient[Any],
) -> None:
    path, labels = "/v1/verifications", {"method": "POST", "app_name": "otpgate"}
    before = (await client.get("/metrics")).text
    for _ in range(3):
        await client.post(path, json={"to": TO}, headers=AUTH)
    await client.get("/healthz")
    await client.get("/readyz")
    text = (await client.get("/metrics")).text
    timed = value(text, "otpgate_request_duration_seconds_count", path=path, **labels)
    assert timed == value(before, "otpgate_request_duration_seconds_count", path=path, **labels) + 3
    assert value(text, "otpgate_request_duration_seconds_sum", path=path, **labels) > 0
    gauge = 'otpgate_requests_in_progress{app_name="otpgate",method="POST",path="/v1/verifications"'
    assert gauge in text  # it was raised for these requests
    assert value(text, "otpgate_requests_in_progress", path=path, **labels) == 0  # and lowered
    for left_out in ("/healthz", "/readyz", "/metrics"):
        assert f'path="{left_out}"' not in text


async def test_store_outage_is_counted_as_503(make_settings: Any, tmp_path: Any) -> None:
    from app.asgi import create_app
    from tests.stubs.loopback import closed_port_url

    url = closed_port_url().replace("http://", "redis://") + "/0"
    async with AsyncTestClient(create_app(make_settings(redis_url=url, redis_timeout=0.3))) as c:
        scraped = (await c.get("/metrics")).text
        before = count(scraped, "/v1/verifications", 503)
        errors = {"path": "/v1/verifications", "status_code": "503"}
        errors_before = value(scraped, "otpgate_requests_error_total", **errors)
        sent = await c.post("/v1/verifications", json={"to": TO}, headers=AUTH)
        assert sent.status_code == 503
        text = (await c.get("/metrics")).text
    assert count(text, "/v1/verifications", 503) == before + 1
    assert value(text, "otpgate_requests_error_total", **errors) == errors_before + 1  # a 5xx
