"""GET /metrics: Prometheus text with HTTP figures per route template and otpgate's own."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import AUTH, latest_code

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
