"""What counting HTTP requests for Prometheus costs per request: Litestar's
``PrometheusMiddleware`` against otpgate's ``route_metrics``, against none.

A trivial Litestar route, called directly as an ASGI app (no server, no sockets) in
rounds that alternate the three apps, so the machine's drift falls on all of them. It
prints microseconds per request, the best round and the median, and what each
middleware adds to the app without one.

    .venv/bin/python bench/route_metrics.py
    .venv/bin/python bench/route_metrics.py --requests 50000 --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.http.route_metrics import route_metrics

_SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/v1/things/1", "raw_path": b"/v1/things/1", "root_path": "",
    "query_string": b"", "headers": [(b"host", b"bench")], "server": ("bench", 80),
    "client": ("127.0.0.1", 40000),
}  # fmt: skip


@get("/v1/things/{thing_id:str}")
async def thing(thing_id: str) -> dict[str, str]:
    return {"id": thing_id}


def apps() -> dict[str, Litestar]:
    litestar = PrometheusConfig(
        app_name="bench", prefix="bench", group_path=True, exclude=["^/metrics", "^/healthz"]
    )
    return {
        "none": Litestar([thing]),
        "litestar": Litestar([thing], middleware=[litestar.middleware]),
        "route_metrics": Litestar([thing], middleware=[route_metrics]),
    }


async def per_request_us(app: Litestar, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(_SCOPE), receive, send)  # type: ignore[arg-type]
    return (time.perf_counter() - started) / requests * 1e6


async def measure(requests: int, rounds: int) -> dict[str, list[float]]:
    candidates = apps()
    for app in candidates.values():
        await per_request_us(app, 500)  # warm up
    figures: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, app in candidates.items():
            figures[name].append(await per_request_us(app, requests))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.requests, args.rounds))
    bare = min(figures["none"])
    print(f"per request, {args.rounds} rounds of {args.requests} (best, median; added to none)")
    for name, rounds in figures.items():
        best, median = min(rounds), statistics.median(rounds)
        print(f"  {name:<14}{best:7.1f} µs  {median:7.1f} µs   +{best - bare:5.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
