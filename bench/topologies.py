"""How long the local Redis topologies take on this machine: start, failover after a
SIGKILL, and heal (restart the killed node and wait until whole), for a Redis Cluster
(3 masters, 3 replicas, cluster-node-timeout 1 s) and a Sentinel set (a primary, 2
replicas, 3 sentinels, down-after-milliseconds 1 s).

Run from the repository root (only 127.0.0.1 is used, in a temporary directory):

    .venv/bin/python bench/topologies.py             # 3 rounds of each
    .venv/bin/python bench/topologies.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from app.store.topologies import LocalCluster, LocalSentinel

if TYPE_CHECKING:
    from collections.abc import Callable


def _timed(results: dict[str, list[float]], name: str, *steps: Callable[[], object]) -> None:
    started = time.monotonic()
    for step in steps:
        step()
    results[name].append(time.monotonic() - started)


def measure(data_dir: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds per step; a failover counts from the SIGKILL until the successor answers."""
    results: dict[str, list[float]] = defaultdict(list)
    for round_ in range(rounds):
        cluster = LocalCluster(data_dir / f"cluster-{round_}")
        _timed(results, "cluster start", cluster.start)
        try:
            _timed(results, "cluster failover", cluster.kill_master, cluster.wait_for_failover)
            _timed(results, "cluster heal", cluster.heal)
        finally:
            cluster.stop()
        sentinel = LocalSentinel(data_dir / f"sentinel-{round_}")
        _timed(results, "sentinel start", sentinel.start)
        try:
            _timed(results, "sentinel failover", sentinel.kill_primary, sentinel.wait_for_failover)
            _timed(results, "sentinel heal", sentinel.heal)
        finally:
            sentinel.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otpgate-topologies-") as data_dir:
        results = measure(Path(data_dir), args.rounds)
    print(f"{'step':<18} {'median':>7} {'min':>6} {'max':>6}  ({args.rounds} rounds, seconds)")
    for name, times in results.items():
        print(f"{name:<18} {statistics.median(times):>7.2f} {min(times):>6.2f} {max(times):>6.2f}")


if __name__ == "__main__":
    main()
