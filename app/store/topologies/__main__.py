"""``python -m app.store.topologies cluster|sentinel``: a local Redis Cluster or Sentinel
set for development, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.store.topologies.cluster import LocalCluster
from app.store.topologies.sentinel import LocalSentinel

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.store.topologies",
        description="Run a local Redis Cluster (3 masters, 3 replicas) or Sentinel set "
        "(a primary, 2 replicas, 3 sentinels) on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("kind", choices=["cluster", "sentinel"])
    parser.add_argument(
        "--data-dir", type=Path, help="where the nodes keep data and logs (default: var/KIND)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="first of consecutive ports (default: free ports)"
    )
    parser.add_argument("--password", help="requirepass of every node (and sentinel)")
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = args.data_dir or Path("var") / args.kind
    topology: LocalCluster | LocalSentinel
    if args.kind == "cluster":
        topology = LocalCluster(data_dir, port=args.port, password=args.password)
    else:
        topology = LocalSentinel(data_dir, port=args.port, password=args.password)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the nodes as on Ctrl-C
    started = time.monotonic()
    try:
        with topology:
            print(f"Redis {args.kind} ready in {time.monotonic() - started:.1f} s:")
            leaders = (
                topology.masters() if isinstance(topology, LocalCluster) else [topology.primary()]
            )
            for node in topology.nodes:
                role = "sentinel" if node.sentinel else "master" if node in leaders else "replica"
                print(f"  {node.name:<11} {role:<8} {node.host}:{node.port}  {node.directory}")
            print(f"\nPoint otpgate at it:\n  OTPGATE_REDIS_URL='{topology.url}' make run")
            print("\nCtrl-C stops every node.", flush=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
