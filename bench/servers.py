"""Which ASGI server otpgate runs on, by measurement: Granian (what ``otpgate serve``
runs) against uvicorn with its fastest parts (httptools, uvloop).

The same app (``app.cli:served_app``), the same workers, argon2 cost, rules, client and
flow as ``bench/peer_flow.py``, in alternating rounds so that the machine's drift falls
on both. Granian was chosen for what it refuses before the app runs (more than 100
header fields, a head over 16 KiB: uvicorn's parser bounds neither); this says what the
choice costs or gains in speed. uvicorn runs without its access log, as Granian does
(otpgate writes its own line).

    .venv/bin/python bench/servers.py
    .venv/bin/python bench/servers.py --rounds 3 --duration 10
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_flow

import bench
from app.store.embedded import EmbeddedRedis, free_port


class OnUvicorn(peer_flow.Otpgate):
    """otpgate's app under ``uvicorn --factory``, with a Redis this bench starts (what
    ``otpgate serve`` would start itself in dev mode)."""

    name = "uvicorn"

    def start(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="otpgate-servers-"))
        self.redis = EmbeddedRedis(self.data_dir / "redis", persistent=False).start()
        (self.data_dir / "redis.url").write_text(self.redis.url)
        port = free_port()
        self.base_url = f"http://{bench.HOST}:{port}"
        workers = self.workers or bench.worker_count(0)
        env = bench.server_env(
            self.data_dir, self.api_key, workers, self.argon2_env, self.rules, None
        )
        env["OTPGATE_REDIS_URL"] = self.redis.url
        if workers > 1:  # as `otpgate serve` does: every worker's metrics, summed
            metrics = self.data_dir / "prometheus"
            metrics.mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        command = [
            sys.executable, "-m", "uvicorn", "app.cli:served_app", "--factory",
            "--host", bench.HOST, "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        self.server = bench.spawn(command, env, self.data_dir)
        bench.wait_ready(self.server, self.base_url, self.data_dir)

    def stop(self) -> None:
        if self.server is not None:
            bench.stop_server(self.server, self.data_dir)  # also shuts down redis.url's
            self.server = None
        self.redis.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def pids(self) -> dict[str, list[int]]:
        found = super().pids()
        process = self.redis._process
        found["redis"] = [process.pid] if process is not None else []
        return found


def main(argv: list[str] | None = None) -> int:
    args = peer_flow.parse_args(["--targets", "otpgate", *(argv or sys.argv[1:])])
    argon2_env = {
        f"OTPGATE_ARGON2_{name.upper()}": str(value)
        for name, value in bench.argon2_overrides(args).items()
    }
    targets = {
        "otpgate": peer_flow.Otpgate(args.workers, argon2_env, args.rules),
        "uvicorn": OnUvicorn(args.workers, argon2_env, args.rules),
    }
    runs: dict[str, list[peer_flow.Run]] = {name: [] for name in targets}
    try:
        for round_ in range(1, args.rounds + 1):
            for name, target in targets.items():
                runs[name].append(peer_flow.measure(target, args, round_))
    except bench.BenchError as exc:
        print(f"servers: {exc}", file=sys.stderr)
        return 1
    workers = args.workers or bench.worker_count(0)
    granian, uvicorn = (
        peer_flow.summarize(name, f"{server}, {workers} workers, rules {args.rules}", runs[name])
        for name, server in (("otpgate", "granian"), ("uvicorn", "uvicorn"))
    )
    print(peer_flow.format_report([granian, uvicorn], args))
    print(f"  both: {peer_flow.configs(args)['otpgate']}")
    by_round = "  ".join(f"{r:.2f}" for r in peer_flow.ratios(granian, uvicorn))
    cpu = granian.cpu_ms_per_flow["service"], uvicorn.cpu_ms_per_flow["service"]
    print(
        f"\n  flows/s granian / uvicorn   {granian.flows_per_s / uvicorn.flows_per_s:.2f}x"
        f"  (by round {by_round})\n"
        f"  service CPU per flow        {cpu[0]:.2f} vs {cpu[1]:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
