"""How many server workers and hashing threads a process runs when the settings say 0."""

from __future__ import annotations

import os

__all__ = ["cores", "hashing_threads", "worker_count"]


def cores() -> int:
    """The CPU cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(workers: int) -> int:
    """``workers``, with 0 resolved to one server process per core."""
    return workers or cores()


def hashing_threads(hash_threads: int, workers: int) -> int:
    """``hash_threads``, with 0 resolved to one worker's share of the cores (at least 1)."""
    return hash_threads or max(1, cores() // worker_count(workers))
