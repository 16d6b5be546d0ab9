"""Where a worker's CPU goes: py-spy samples one server worker under the bench's load.

Starts the service as bench/bench.py does (dev mode, embedded Redis, every rule on,
one worker, argon2 at its minimum cost so that what is left is otpgate's own work),
drives ``--concurrency`` users through send -> outbox -> check for ``--duration``
seconds, and meanwhile records the worker with ``py-spy record --gil`` (only the
thread holding the GIL is sampled: CPU, not waiting). It prints the share of samples
per function, inclusive (the function and what it called) and by itself, and with
``--raw PATH`` keeps py-spy's collapsed stacks (``flamegraph.pl`` or speedscope read
them).

    .venv/bin/python bench/profile.py
    .venv/bin/python bench/profile.py --duration 20 --top 40 --raw /tmp/otpgate.txt

py-spy reads another process's memory: it needs ptrace rights (root, or
``kernel.yama.ptrace_scope=0``, or ``--cap-add SYS_PTRACE`` in a container).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
from app.store.embedded import free_port

PY_SPY = Path(sys.executable).with_name("py-spy")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``function (module path)``, the path from ``app/`` or the package's directory."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/app/", "python3.11/", "python3.12/", "python3.13/"):
        if marker in path:
            path = ("app/" if marker == "/app/" else "") + path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarize(raw: Path, within: str, top: int) -> list[str]:
    """The ``top`` functions by inclusive and by own share of the samples under ``within``."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if within not in stack:
            continue
        frames = [frame_name(frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for name in set(frames[frames.index(next(f for f in frames if within in f)) :]):
            inclusive[name] += int(count)
    if not total:
        return ["no samples (is py-spy allowed to read the process?)"]
    lines = [f"{total} samples in requests ({within})", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "own:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    parts: collections.Counter[str] = collections.Counter()
    for name, n in own.items():
        parts[part_of(name)] += n
    lines += ["", "own, by part:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in parts.most_common()]
    return lines


def part_of(name: str) -> str:
    """Which part of the stack a function belongs to, by its module path."""
    path = name.rpartition(" (")[2].rstrip(")")
    top = path.split("/", 1)[0]
    if top == "app":
        return "otpgate (app/)"
    if top in {"redis", "hiredis"}:
        return "redis-py"
    if top in {"litestar", "prometheus_client", "msgspec"}:
        return f"{top}"
    if top in {"asyncio", "selectors", "socket", "ssl"}:
        return "asyncio (event loop, sockets)"
    return "other (stdlib, phonenumbers, argon2, ...)"


def worker_pid(server_pid: int) -> int:
    """The server process that serves requests (the busiest Python child)."""
    children = [
        child
        for child in psutil.Process(server_pid).children(recursive=True)
        if "redis" not in child.name()
    ]
    if not children:
        return server_pid
    for child in children:
        child.cpu_percent()
    time.sleep(1.0)
    return max(children, key=lambda child: child.cpu_percent()).pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    if not PY_SPY.exists():
        sys.exit(f"{PY_SPY} is missing: `make test` installs the dev dependencies")

    data_dir = Path(tempfile.mkdtemp(prefix="otpgate-profile-"))
    raw = args.raw or data_dir / "stacks.txt"
    api_key = "otpg_bench_" + secrets.token_urlsafe(24)
    port = free_port()
    base_url = f"http://{bench.HOST}:{port}"
    argon2_env = {"OTPGATE_ARGON2_TIME_COST": "1", "OTPGATE_ARGON2_MEMORY_COST": "8"}
    server = bench.start_server(port, data_dir, api_key, 1, argon2_env, "on", None)
    try:
        bench.wait_ready(server, base_url, data_dir)
        redis_url = (data_dir / "redis.url").read_text().strip()
        load = asyncio.run(_load_with_profile(base_url, redis_url, api_key, server.pid, raw, args))
    finally:
        bench.stop_server(server, data_dir)
    print(f"{load} flows; profile of one worker, py-spy --gil at {args.rate} Hz")
    print("\n".join(summarize(raw, "Litestar.__call__", args.top)))
    if args.raw is None:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _load_with_profile(
    base_url: str, redis_url: str, api_key: str, server_pid: int, raw: Path, args: Any
) -> int:
    warm_up = asyncio.create_task(
        bench.run_load(base_url, redis_url, None, api_key, args.concurrency, 2.0, server_pid)
    )
    await warm_up
    loading = asyncio.create_task(
        bench.run_load(
            base_url, redis_url, None, api_key, args.concurrency, args.duration, server_pid
        )
    )
    await asyncio.sleep(0.5)
    pid = await asyncio.to_thread(worker_pid, server_pid)
    spy = await asyncio.create_subprocess_exec(
        str(PY_SPY), "record", "--gil", "--pid", str(pid), "--rate", str(args.rate),
        "--duration", str(max(1, int(args.duration - 2))), "--format", "raw",
        "--output", str(raw), "--nonblocking",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    result = await loading
    with contextlib.suppress(ProcessLookupError):
        await asyncio.wait_for(spy.wait(), timeout=30)
    return result.samples.flows


if __name__ == "__main__":
    main()
