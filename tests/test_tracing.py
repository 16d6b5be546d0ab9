"""OpenTelemetry traces, received by a loopback OTLP/HTTP collector: a request is a server
span whose children are its Redis round trips and provider attempts; a caller's
traceparent is continued; tracing is off unless an endpoint is set; a collector that
refuses connections fails no request; and no number, code or key is ever exported."""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from app.store.embedded import free_port
from tests.conftest import API_KEY, AUTH, ClientFactory, latest_code
from tests.providers import test_twilio
from tests.providers.test_routing import provider, received, running

TO = "+14155552671"
COLLECTOR_KEY = "collector-key-" + "c" * 24
SERVER, CLIENT = ProtoSpan.SPAN_KIND_SERVER, ProtoSpan.SPAN_KIND_CLIENT


@dataclass
class Exported:
    """One span as the collector decoded it: ids in hex, attributes as Python values."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    error: bool


@dataclass
class Collector:
    """What a loopback OTLP/HTTP traces endpoint received: request bodies and headers."""

    url: str
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def spans(self) -> list[Exported]:
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    found += [_exported(span) for span in scope.spans]
        return found

    def resource(self) -> dict[str, Any]:
        request = ExportTraceServiceRequest.FromString(self.bodies[0])
        return _attributes(request.resource_spans[0].resource.attributes)


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _exported(span: ProtoSpan) -> Exported:
    return Exported(
        span.name, span.kind, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
        _attributes(span.attributes), span.status.code == span.status.STATUS_CODE_ERROR,
    )  # fmt: skip


@pytest.fixture
def collector() -> Iterator[Collector]:
    port = free_port()
    received = Collector(f"http://127.0.0.1:{port}/v1/traces")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.bodies.append(body)
            received.headers.append({k.lower(): v for k, v in self.headers.items()})
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _flow(client: Any, to: str = TO, **headers: str) -> tuple[dict[str, str], str]:
    """Send a code to ``to``, read it from the outbox, check it: the request ids of the
    send and the check, and the code."""
    sent = await client.post("/v1/verifications", json={"to": to}, headers={**AUTH, **headers})
    assert sent.status_code == 201, sent.text
    code = await latest_code(client, to)
    checked = await client.post(
        "/v1/verifications/check", json={"id": sent.json()["id"], "code": code}, headers=AUTH
    )
    assert checked.json()["status"] == "approved", checked.text
    ids = {"send": sent.headers["x-request-id"], "check": checked.headers["x-request-id"]}
    return ids, code


def _request_span(spans: list[Exported], request_id: str) -> Exported:
    [span] = [s for s in spans if s.attributes.get("otpgate.request_id") == request_id]
    return span


def _children(spans: list[Exported], parent: Exported) -> list[Exported]:
    return [s for s in spans if s.parent_id == parent.span_id and s.trace_id == parent.trace_id]


async def test_each_request_is_a_server_span_named_by_its_route_template(
    make_client: ClientFactory, collector: Collector
) -> None:
    tracing = {"endpoint": collector.url, "service_name": "otpgate-test",
               "headers": {"x-collector-key": COLLECTOR_KEY}}  # fmt: skip
    async with make_client(tracing=tracing) as client:
        ids, _ = await _flow(client)
        unrouted = await client.get("/v1/no-such-route", headers=AUTH)
    spans = collector.spans()  # the app's stop exported every span
    send = _request_span(spans, ids["send"])
    assert (send.name, send.kind, send.parent_id, send.error) == (
        "POST /v1/verifications", SERVER, "", False,
    )  # fmt: skip
    assert send.attributes == {
        "http.request.method": "POST", "http.route": "/v1/verifications",
        "http.response.status_code": 201, "otpgate.request_id": ids["send"],
        "otpgate.app": "default",
    }  # fmt: skip
    assert _request_span(spans, ids["check"]).name == "POST /v1/verifications/check"
    lost = _request_span(spans, unrouted.headers["x-request-id"])
    assert (lost.name, lost.error, lost.attributes["http.response.status_code"]) == (
        "GET",
        False,
        404,
    )
    assert "http.route" not in lost.attributes
    assert collector.resource()["service.name"] == "otpgate-test"
    assert collector.headers and all(
        h["x-collector-key"] == COLLECTOR_KEY for h in collector.headers
    )


async def test_a_5xx_answer_marks_the_request_span_failed(
    make_client: ClientFactory, collector: Collector
) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: 503 store_unavailable
    async with make_client(tracing={"endpoint": collector.url}, redis_url=down) as client:
        answer = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
    assert answer.status_code == 503, answer.text
    span = _request_span(collector.spans(), answer.headers["x-request-id"])
    assert (span.error, span.attributes["error.type"]) == (True, "503")
    [trip] = [s for s in collector.spans() if s.parent_id == span.span_id]
    assert trip.error and trip.attributes["error.type"] == "ConnectionError"


@pytest.mark.topologies  # make test runs it on Cluster and Sentinel too: Redis spans
async def test_a_send_is_a_server_span_over_its_redis_round_trips_and_provider_attempt(
    make_client: ClientFactory, collector: Collector
) -> None:
    async with make_client(tracing={"endpoint": collector.url}) as client:
        ids, _ = await _flow(client)
    spans = collector.spans()
    send = _request_span(spans, ids["send"])
    children = _children(spans, send)
    trips = [s for s in children if s.attributes.get("db.system.name") == "redis"]
    assert trips and all(s.kind == CLIENT for s in trips)
    # the server that answered (on Cluster: the nodes a batch went to)
    assert all({"server.address", "otpgate.redis.nodes"} & s.attributes.keys() for s in trips)
    assert any("EVALSHA send" in s.attributes["otpgate.redis.commands"] for s in trips)
    [attempt] = [s for s in children if s.name.startswith("send ")]
    assert (attempt.name, attempt.kind, attempt.error) == ("send sms outbox", CLIENT, False)
    assert attempt.attributes == {
        "otpgate.provider.name": "outbox", "otpgate.provider.type": "outbox",
        "otpgate.channel": "sms", "otpgate.provider.outcome": "accepted",
    }  # fmt: skip
    [kept] = _children(spans, attempt)  # the outbox keeps the message in one round trip
    assert kept.attributes["db.operation.name"] == "PIPELINE"
    check = _request_span(spans, ids["check"])
    assert {"EVALSHA reserve_attempt", "EVALSHA conclude"} <= {
        name for s in _children(spans, check) for name in s.attributes["otpgate.redis.commands"]
    }


async def test_a_callers_traceparent_is_continued(
    make_client: ClientFactory, collector: Collector
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with make_client(tracing={"endpoint": collector.url}) as client:
        ids, _ = await _flow(client, traceparent=f"00-{trace_id}-{parent_id}-01")
    spans = collector.spans()
    send = _request_span(spans, ids["send"])
    assert (send.trace_id, send.parent_id) == (trace_id, parent_id)
    assert {s.trace_id for s in _children(spans, send)} == {trace_id}
    assert _request_span(spans, ids["check"]).trace_id != trace_id  # a request of its own


async def test_with_no_share_sampled_only_a_callers_sampled_trace_is_exported(
    make_client: ClientFactory, collector: Collector
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    async with make_client(tracing={"endpoint": collector.url, "sample_ratio": 0}) as client:
        ids, _ = await _flow(client, traceparent=f"00-{trace_id}-b7ad6b7169203331-01")
    spans = collector.spans()
    assert {s.trace_id for s in spans} == {trace_id}
    assert _children(spans, _request_span(spans, ids["send"]))
    assert not [s for s in spans if s.attributes.get("otpgate.request_id") == ids["check"]]


def _export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("OtelBatch") and t.is_alive()]


async def test_tracing_is_off_by_default(make_client: ClientFactory, collector: Collector) -> None:
    before = _export_threads()
    async with make_client() as client:
        assert client.app.tracer is None
        assert _export_threads() == before  # no SDK processor, no export thread
        await _flow(client, traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert collector.bodies == []


async def test_a_collector_that_refuses_connections_fails_no_request(
    make_client: ClientFactory,
) -> None:
    refused = f"http://127.0.0.1:{free_port()}/v1/traces"
    async with make_client(tracing={"endpoint": refused}) as client:
        assert client.app.tracer is not None
        for number in range(3):
            await _flow(client, f"+1415555{2671 + number}")
    # and the app stopped: the spans it could not export were dropped, within a bound


def _digit_runs(number: str, shortest: int = 6) -> set[str]:
    digits = re.sub(r"\D", "", number)
    return {digits[i : i + shortest] for i in range(len(digits) - shortest + 1)}


async def test_no_number_code_or_key_is_exported(
    make_client: ClientFactory, collector: Collector
) -> None:
    tracing = {"endpoint": collector.url}
    codes = []
    async with make_client(tracing=tracing) as client:
        codes.append((await _flow(client))[1])
        await client.get("/v1/limits", params={"to": TO}, headers=AUTH)
        await client.get(f"/dev/outbox?to={TO}&format=json")
    with running("twilio") as (stub, url):
        settings = {
            "providers": {"twilio": provider("twilio", url)},
            "routes": {"default": ["twilio"]},
        }
        async with make_client(tracing=tracing, **settings) as client:
            sent = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
            assert sent.status_code == 201, sent.text
        [request] = received(stub)
        assert "traceparent" not in request.headers  # a vendor's API is not ours to trace
    codes += re.findall(r"(?<!\d)\d{6}(?!\d)", request.form["Body"])
    exported = b"".join(collector.bodies)
    assert exported
    for secret in [*_digit_runs(TO), *codes, API_KEY, test_twilio.AUTH_TOKEN, "/v1/limits?"]:
        assert secret.encode() not in exported, secret
    [attempt] = [s for s in collector.spans() if s.name == "send sms twilio"]
    assert attempt.attributes["otpgate.provider.type"] == "twilio"
    assert attempt.attributes["http.response.status_code"] == 201
    assert attempt.attributes["server.address"] == "127.0.0.1"
    routes = {s.attributes.get("http.route") for s in collector.spans() if s.kind == SERVER}
    assert routes == {"/v1/verifications", "/v1/verifications/check", "/v1/limits", "/dev/outbox"}
