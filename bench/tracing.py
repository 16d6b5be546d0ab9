"""What traces cost: a worker's CPU per request with tracing off and on, side by side.

Starts three services as bench/bench.py does (dev mode, embedded Redis, one worker, every
rule on, argon2 at its minimum cost so that what is left is otpgate's own work): one
without tracing, two exporting to a loopback OTLP/HTTP collector in this process (which
decodes and counts the spans), one keeping a tenth of the traces (``sample_ratio`` 0.1),
one all of them. It then drives the bench's flow (send -> outbox -> check, and the
/healthz poll) at each in turn, ``--rounds`` times over (this machine's speed drifts: the
rounds interleave), and prints each one's service CPU (event loop, hashing threads, the
SDK's export thread) per HTTP request and per flow, and its ratio to tracing off; then
the spans exported, and what the off path costs a call, in-process.

    .venv/bin/python bench/tracing.py
    .venv/bin/python bench/tracing.py --rounds 4 --duration 8 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
import threading
import timeit
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
from app.store.embedded import free_port
from app.tracing.spans import child_tracer

if TYPE_CHECKING:
    from collections.abc import Iterator

#: argon2 at its minimum, as bench/profile.py: the hash would otherwise be most of the CPU.
CHEAP_ARGON2 = {"OTPGATE_ARGON2_TIME_COST": "1", "OTPGATE_ARGON2_MEMORY_COST": "8"}


@dataclass
class Totals:
    """One service's load over every round."""

    cpu: float = 0.0
    requests: int = 0
    flows: int = 0
    errors: int = 0


class Sink:
    """A loopback OTLP/HTTP traces endpoint that counts the spans it receives."""

    def __init__(self) -> None:
        self.spans = 0
        self.url = f"http://{bench.HOST}:{free_port()}/v1/traces"

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                sink.spans += sum(
                    len(scope.spans)
                    for resource in request.resource_spans
                    for scope in resource.scope_spans
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        server = ThreadingHTTPServer((bench.HOST, port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()


async def _round(base_url: str, redis_url: str, api_key: str, pid: int, args: Any) -> Totals:
    load = await bench.run_load(
        base_url, redis_url, None, api_key, args.concurrency, args.duration, pid
    )
    samples = load.samples
    answered = sum(len(samples.latencies[kind]) for kind in ("send", "check", "healthz"))
    return Totals(load.cpu["service"], answered, samples.flows, sum(samples.errors.values()))


def _measure(args: Any, sink: Sink, root: Path) -> dict[str, Totals]:
    api_key = "otpg_bench_" + secrets.token_urlsafe(24)
    traced = {"OTPGATE_TRACING_ENDPOINT": sink.url}
    scenarios = {
        "off": {},
        "on 10 %": {**traced, "OTPGATE_TRACING_SAMPLE_RATIO": "0.1"},
        "on 100 %": traced,
    }
    servers: dict[str, Any] = {}
    totals = {name: Totals() for name in scenarios}
    try:
        for name, extra in scenarios.items():
            data_dir = root / name.replace(" ", "").replace("%", "")
            data_dir.mkdir()
            port = free_port()
            # start_server passes its argon2 variables on as they are: tracing's go with them
            env = {**CHEAP_ARGON2, **extra}
            server = bench.start_server(port, data_dir, api_key, 1, env, "on", None)
            servers[name] = (server, data_dir, f"http://{bench.HOST}:{port}")
            bench.wait_ready(server, servers[name][2], data_dir)
        names = list(scenarios)
        for number in range(len(names) * (args.rounds + 1)):
            name = names[number % len(names)]
            server, data_dir, base_url = servers[name]
            redis_url = (data_dir / "redis.url").read_text().strip()
            result = asyncio.run(_round(base_url, redis_url, api_key, server.pid, args))
            if number < len(names):  # each one's warm-up: connections, the scripts' loads
                continue
            total = totals[name]
            total.cpu += result.cpu
            total.requests += result.requests
            total.flows += result.flows
            total.errors += result.errors
            print(f"tracing {name}: {result.flows} flows", file=sys.stderr)
    finally:
        for server, data_dir, _ in servers.values():
            bench.stop_server(server, data_dir)
    return totals


def _off_path_ns() -> float:
    """Nanoseconds of one ``child_tracer()`` outside a traced request: what a Redis round
    trip or a provider attempt pays with tracing off."""
    calls = 200_000
    return timeit.timeit(child_tracer, number=calls) / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per service")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per round")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sink = Sink()
    with sink.running(), tempfile.TemporaryDirectory(prefix="otpgate-tracing-") as tmp:
        totals = _measure(args, sink, Path(tmp))
    spans = sink.spans  # everything exported by then: the traced services have stopped
    print(f"{args.rounds} rounds of {args.duration:g} s each, {args.concurrency} users, 1 worker")
    off = totals["off"].cpu / max(totals["off"].requests, 1)
    for name, total in totals.items():
        per_request = total.cpu / max(total.requests, 1)
        print(
            f"  tracing {name:<9}{1e6 * per_request:7.0f} us CPU per request "
            f"{1e6 * total.cpu / max(total.flows, 1):7.0f} us per flow   "
            f"x {per_request / off if off else float('nan'):.3f}   "
            f"{total.requests} requests, {total.errors} errors"
        )
    print(f"  spans exported   {spans} (warm-up rounds included)")
    print(f"  off path         {_off_path_ns():.0f} ns per child_tracer() call")


if __name__ == "__main__":
    main()
