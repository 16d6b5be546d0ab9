"""What an operator watches: every answer's X-Request-Id, JSON log lines that carry it
(one per request and per send, numbers masked), and the Prometheus figures a dashboard
reads, the Grafana dashboard in deploy/ included."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.logs import REQUEST_ID, JsonFormatter, TextFormatter, masked
from app.metrics import REFUSALS
from tests.conftest import AUTH, ClientFactory
from tests.test_log_privacy import _start

ROOT = Path(__file__).parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "otpgate.json"
_GENERATED = re.compile(r"^req_[0-9a-z]{20}$")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [("POST", "/v1/verifications", {"to": "+14155552671"}, 201),
     ("GET", "/v1/no-such-route", None, 404),
     ("DELETE", "/v1/verifications/check", None, 405),
     ("POST", "/v1/verifications", {"to": "x" * 20000}, 413),
     ("GET", "/healthz", None, 200)],
)  # fmt: skip
async def test_every_answer_carries_a_request_id(
    client: AsyncTestClient[Any], method: str, path: str, body: Any, status: int
) -> None:
    answer = await client.request(method, path, json=body, headers=AUTH)
    assert answer.status_code == status
    assert _GENERATED.match(answer.headers["x-request-id"])


async def test_a_sane_request_id_is_kept_and_any_other_replaced(
    client: AsyncTestClient[Any],
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "edge-7f3a.2_b"})
    assert kept.headers["x-request-id"] == "edge-7f3a.2_b"
    for insane in ("a" * 65, "has space", "semi;colon", ""):
        answer = await client.get("/healthz", headers={"X-Request-Id": insane})
        assert _GENERATED.match(answer.headers["x-request-id"]), insane
    unauthorized = await client.get("/v1/stats", headers={"X-Request-Id": "trace-1"})
    assert (unauthorized.status_code, unauthorized.headers["x-request-id"]) == (401, "trace-1")


def _record(message: str, *args: Any, **fields: Any) -> logging.LogRecord:
    record = logging.LogRecord("otpgate.test", logging.INFO, __file__, 1, message, args, None)
    record.request_id = "req_1"
    record.fields = fields
    return record


def test_json_lines_and_text_lines_mask_every_number() -> None:
    line = json.loads(JsonFormatter().format(_record("to %s", "+8613800138000", route="/v1")))
    assert line["message"] == "to +86138****8000"
    assert (line["level"], line["logger"], line["request_id"], line["route"]) == (
        "INFO", "otpgate.test", "req_1", "/v1",
    )  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    text = TextFormatter().format(_record("to %s", "+14155552671"))
    assert text.endswith("to +1415***2671 [req_1]")
    assert masked("call +442071838750 or 123456") == "call +44207***8750 or 123456"
    assert REQUEST_ID.get() is None  # outside a request


async def test_a_served_request_logs_json_lines_with_its_id(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "otpgate.toml"
    config.write_text('[routes]\ndefault = ["outbox"]\n')
    log = tmp_path / "serve.log"
    process, base = _start(
        config,
        redis_url,
        log,
        OTPGATE_LOG_FORMAT="json",
        OTPGATE_BOOTSTRAP_API_KEY=AUTH["Authorization"].removeprefix("Bearer "),
    )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            headers = {**AUTH, "X-Request-Id": "trace-abc.1"}
            sent = await http.post(
                "/v1/verifications", json={"to": "+14155552671"}, headers=headers
            )
            assert sent.status_code == 201 and sent.headers["x-request-id"] == "trace-abc.1"
            assert (
                await http.get("/v1/limits", params={"to": "+14155552671"}, headers=AUTH)
            ).is_success
            # An access line is written once the answer has gone: wait for it, rather
            # than stop the server while the request's last lines are still on their way.
            await _logged(log, '"route":"/v1/limits"')
    finally:
        os.killpg(process.pid, 15)
        process.wait(20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("request_id") == "trace-abc.1"]
    access = next(line for line in ours if line["logger"] == "otpgate.access")
    assert (access["method"], access["route"], access["status"], access["app"]) == (
        "POST", "/v1/verifications", 201, "default",
    )  # fmt: skip
    assert access["duration_ms"] > 0
    assert any(line["message"].startswith("sms provider=outbox") for line in ours)
    text = log.read_text()
    assert "+14155552671" not in text and "14155552671" not in text
    assert any(line.get("route") == "/v1/limits" for line in lines)  # never the query


async def _logged(log: Path, text: str, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while text not in await asyncio.to_thread(log.read_text):
        assert asyncio.get_running_loop().time() < deadline, f"{text} never logged"
        await asyncio.sleep(0.05)


async def test_metrics_show_latency_refusals_circuits_backlog_and_the_hash_queue(
    make_client: ClientFactory,
) -> None:
    limits = {"send_per_number": ["1/hour"], "send_per_ip": [], "wrong_checks_per_number": [],
              "checks_per_ip": []}  # fmt: skip
    before = REFUSALS.labels("send_per_number")._value.get()  # the process's counter
    async with make_client(limits=limits) as client:
        assert (
            await client.post("/v1/verifications", json={"to": "+14155552671"}, headers=AUTH)
        ).is_success
        throttled = await client.post(
            "/v1/verifications", json={"to": "+14155552671", "purpose": "signup"}, headers=AUTH
        )
        assert throttled.json()["code"] == "rate_limited"
        text = (await client.get("/metrics")).text
    assert re.search(
        r'otpgate_provider_latency_seconds_count\{outcome="accepted",provider="outbox"\} \d', text
    )
    refused = re.search(r'otpgate_refusals_total\{reason="send_per_number"\} ([0-9.]+)', text)
    assert refused and float(refused.group(1)) == before + 1
    assert 'otpgate_provider_circuit_state{provider="outbox"} 0.0' in text
    assert re.search(r'otpgate_events\{state="pending"\} \d', text)
    assert "otpgate_hash_queue 0.0" in text


def _dashboard_metrics() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    return {name for expr in exprs for name in re.findall(r"\b(otpgate_[a-z_]+)", expr)}


async def test_the_grafana_dashboard_uses_only_metrics_otpgate_serves(
    client: AsyncTestClient[Any],
) -> None:
    await client.post("/v1/verifications", json={"to": "+14155552671"}, headers=AUTH)
    served = (await client.get("/metrics")).text
    names = {m.group(1) for m in re.finditer(r"^(?:# TYPE )?(otpgate_[a-z_]+)", served, re.M)}
    used = _dashboard_metrics()
    assert len(used) >= 8
    base = {re.sub(r"_(bucket|count|sum|total|created)$", "", name) for name in names}
    for name in used:
        assert name in names or re.sub(r"_(bucket|count|sum|total)$", "", name) in base, name
