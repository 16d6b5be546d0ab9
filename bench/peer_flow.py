"""otpgate against django-phone-verify: verification flows per second, side by side.

The performance target: at argon2's minimum cost (t=1, m=8 KiB) and with every
throttle and guard on (traffic that trips none), otpgate completes at least 3x the flows
per second of django-phone-verify 3.3 on the same machine, with the same client, in the
same run.

Each target is started fresh for each of its measurements, warmed up, then driven by
``--concurrency`` virtual users in a closed loop for ``--duration`` seconds; the
targets alternate (otpgate, peer, otpgate, peer, ...) so that the machine's drift
affects both. One flow, on a fresh number each time:

* otpgate: POST /v1/verifications -> the code from the dev outbox's Redis list ->
  POST /v1/verifications/check, answered ``valid: true`` (bench/bench.py's flow, with
  its rules and a fresh ``client_ip`` per flow);
* django-phone-verify: POST /api/phone/register -> the code from the recording
  backend's Redis list -> POST /api/phone/verify, answered "Security code is valid."
  (bench/peers/django_phone_verify/).

Every answer is checked: a flow with any unexpected answer is an error, not a flow.
After each peer run the peer's own table must hold at least as many verified rows as
flows were counted. The report gives flows/s, sends/s, checks/s, p50/p99 per request,
CPU seconds of the server's processes (and its Redis) and of the client, per flow, and
the ratio otpgate/peer against the target. Only 127.0.0.1 is contacted.

Run from the repository root (the peer's venv is created on first use):

    .venv/bin/python bench/peer_flow.py                         # both targets, 2 rounds
    .venv/bin/python bench/peer_flow.py --duration 10 --json bench/results/peer.json
    .venv/bin/python bench/peer_flow.py --targets django --peer-server gunicorn-sync
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import redis
from redis.asyncio import Redis

# bench/ for bench.py and peers/, the repository root for app/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lean_http import LeanClient, LeanHTTPError, LeanResponse
from peers.django_phone_verify import peer

import bench
from app.settings import Argon2Settings
from app.store.embedded import free_port
from bench import (
    HOST,
    REQUEST_TIMEOUT,
    BenchError,
    Figures,
    Inbox,
    Samples,
    UnexpectedResponse,
    phone_numbers,
    read_code,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TARGETS = ("otpgate", "django")
TITLES = {
    "otpgate": "otpgate", "django": "django-phone-verify", "uvicorn": "otpgate on uvicorn",
}  # fmt: skip
PEER_VERIFIED = "Security code is valid."
TARGET_RATIO = 3.0


# -- the targets -----------------------------------------------------------------------


class Target:
    """A server under test: started fresh, driven by ``flow``, stopped."""

    name: str
    base_url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pids(self) -> dict[str, list[int]]:
        """The server's processes ("service") and its Redis ("redis"), by pid."""
        raise NotImplementedError

    def inbox(self, client: Redis) -> Inbox:
        raise NotImplementedError

    async def flow(self, client: LeanClient, inbox: Inbox, to: str, samples: Samples) -> bool:
        raise NotImplementedError

    def after_load(self, flows: int) -> None:
        """Check what the server itself recorded; raise BenchError if it disagrees."""


class Otpgate(Target):
    """``otpgate serve`` as bench/bench.py starts it, with its argon2 and rules."""

    name = "otpgate"

    def __init__(self, workers: int, argon2_env: dict[str, str], rules: str) -> None:
        self.workers, self.argon2_env, self.rules = workers, argon2_env, rules
        self.api_key = "otpg_bench_" + secrets.token_urlsafe(24)
        self.auth = {"Authorization": f"Bearer {self.api_key}"}
        self.server: subprocess.Popen[bytes] | None = None
        self.data_dir = Path()

    def start(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="otpgate-peer-flow-"))
        port = free_port()
        self.base_url = f"http://{HOST}:{port}"
        self.server = bench.start_server(
            port, self.data_dir, self.api_key, self.workers, self.argon2_env, self.rules, None
        )
        bench.wait_ready(self.server, self.base_url, self.data_dir)

    def stop(self) -> None:
        if self.server is not None:
            bench.stop_server(self.server, self.data_dir)
            self.server = None
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def pids(self) -> dict[str, list[int]]:
        assert self.server is not None
        found: dict[str, list[int]] = {"service": [], "redis": []}
        root = psutil.Process(self.server.pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                kind = "redis" if "redis-server" in process.name() else "service"
                found[kind].append(process.pid)
        return found

    def inbox(self, client: Redis) -> Inbox:
        return bench.RedisOutbox(client)

    @property
    def redis_url(self) -> str:
        return (self.data_dir / "redis.url").read_text().strip()

    async def flow(self, client: LeanClient, inbox: Inbox, to: str, samples: Samples) -> bool:
        return await bench.flow(client, inbox, self.auth, to, samples)


class PeerOutbox:
    """What the peer's recording backend pushed for a number (newest first)."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def newest(self, to: str) -> list[Any]:
        items: list[str] = await self._client.lrange(peer.OUTBOX_PREFIX + to, 0, 0)  # type: ignore[misc]
        return [json.loads(item) for item in items]


def peer_problem(response: LeanResponse) -> str:
    """``<status> <reason>`` and the first message DRF gave, if any."""
    detail = ""
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            for value in body.values():
                detail = str(value[0] if isinstance(value, list) and value else value)
                break
    return f"{response.status_code} {response.reason_phrase} {detail}".strip()


def session_token(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("session_token"), str):
        return str(body["session_token"])
    raise UnexpectedResponse("200 without a session_token")


def peer_verified(body: Any) -> str:
    if isinstance(body, dict) and body.get("message") == PEER_VERIFIED:
        return PEER_VERIFIED
    raise UnexpectedResponse(f"200 without {PEER_VERIFIED!r}")


async def peer_step(
    samples: Samples,
    kind: str,
    request: Any,
    parse: Any,
) -> str | None:
    """Like ``Samples.step`` for a 200, but naming DRF's message on an error."""
    started = time.perf_counter()
    try:
        response: LeanResponse = await request
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise UnexpectedResponse(peer_problem(response))
        value: str = parse(response.json())
    except (LeanHTTPError, UnexpectedResponse, ValueError) as exc:
        reason = str(exc) if isinstance(exc, UnexpectedResponse) else type(exc).__name__
        samples.errors[f"{kind}: {reason}"] += 1
        return None
    samples.latencies[kind].append(elapsed)
    return value


class DjangoPhoneVerify(Target):
    """django-phone-verify 3.3 in its own venv (bench/peers/django_phone_verify/)."""

    name = "django"

    def __init__(self, server: str, workers: int, threads: int) -> None:
        self.server, self.workers, self.threads = server, workers, threads
        self.peer: peer.PeerServer | None = None

    def start(self) -> None:
        try:
            self.peer = peer.start(
                free_port(), server=self.server, workers=self.workers, threads=self.threads
            )
        except RuntimeError as exc:
            raise BenchError(str(exc)) from exc
        self.base_url = self.peer.base_url

    def stop(self) -> None:
        if self.peer is not None:
            peer.stop(self.peer)
            self.peer = None

    def pids(self) -> dict[str, list[int]]:
        assert self.peer is not None
        root = psutil.Process(self.peer.pid)
        service = [root.pid, *(child.pid for child in root.children(recursive=True))]
        return {"service": service, "redis": [self.peer.redis_pid]}

    def inbox(self, client: Redis) -> Inbox:
        return PeerOutbox(client)

    @property
    def redis_url(self) -> str:
        assert self.peer is not None
        return self.peer.outbox_url

    async def flow(self, client: LeanClient, inbox: Inbox, to: str, samples: Samples) -> bool:
        register = client.post("/api/phone/register", json={"phone_number": to})
        token = await peer_step(samples, "send", register, session_token)
        if token is None:
            return False
        code = await read_code(inbox, to, samples)
        if code is None:
            return False
        body = {"phone_number": to, "session_token": token, "security_code": code}
        verify = client.post("/api/phone/verify", json=body)
        return await peer_step(samples, "check", verify, peer_verified) is not None

    def after_load(self, flows: int) -> None:
        assert self.peer is not None
        verified = self.peer.verified()
        if verified < flows:
            raise BenchError(
                f"django-phone-verify answered {flows} flows valid but marked only "
                f"{verified} rows verified"
            )


# -- the load --------------------------------------------------------------------------


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of this process ("client") and of each kind of server process."""
    used = {"client": time.process_time(), "service": 0.0, "redis": 0.0}
    for kind, numbers in pids.items():
        for pid in numbers:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                used[kind] += times.user + times.system
    return used


@dataclass(frozen=True)
class Run:
    """One measurement of one target."""

    target: str
    round: int
    elapsed_s: float
    flows: int
    warmup_flows: int
    latencies: dict[str, list[float]]
    #: CPU seconds during the measured load, by who used them
    cpu_s: dict[str, float]
    errors: dict[str, int]


async def drive(
    target: Target,
    client: LeanClient,
    inbox: Inbox,
    numbers: Iterator[str],
    concurrency: int,
    duration: float,
) -> tuple[Samples, float]:
    """``concurrency`` users for ``duration`` seconds; no flow starts after it."""
    samples = Samples()
    deadline = time.monotonic() + duration

    async def user() -> None:
        while time.monotonic() < deadline:
            if await target.flow(client, inbox, next(numbers), samples):
                samples.flows += 1

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


async def load(
    target: Target, concurrency: int, duration: float, warmup: float, round_: int
) -> Run:
    numbers = phone_numbers()
    async with (
        LeanClient(target.base_url, max_connections=concurrency, timeout=REQUEST_TIMEOUT) as client,
        Redis.from_url(target.redis_url, decode_responses=True) as outbox,  # type: ignore[attr-defined]
    ):
        inbox = target.inbox(outbox)
        warm, _ = (
            await drive(target, client, inbox, numbers, concurrency, warmup)
            if warmup
            else (Samples(), 0.0)
        )
        pids = target.pids()  # after the warm-up: every worker is up
        cpu_started = cpu_seconds(pids)
        samples, elapsed = await drive(target, client, inbox, numbers, concurrency, duration)
        cpu_ended = cpu_seconds(pids)
    errors = Counter(samples.errors)
    errors.update({f"warm-up {what}": count for what, count in warm.errors.items()})
    return Run(
        target=target.name,
        round=round_,
        elapsed_s=elapsed,
        flows=samples.flows,
        warmup_flows=warm.flows,
        latencies=samples.latencies,
        cpu_s={who: cpu_ended[who] - cpu_started[who] for who in cpu_ended},
        errors=dict(errors.most_common()),
    )


def measure(target: Target, args: argparse.Namespace, round_: int) -> Run:
    print(
        f"round {round_}: {TITLES[target.name]}, {args.concurrency} users for "
        f"{args.duration:g} s (+{args.warmup:g} s warm-up)",
        file=sys.stderr,
    )
    target.start()
    try:
        run = asyncio.run(load(target, args.concurrency, args.duration, args.warmup, round_))
        target.after_load(run.flows + run.warmup_flows)
    finally:
        target.stop()
    return run


# -- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One target's runs taken together (counts over total time; latencies pooled)."""

    target: str
    title: str
    config: str
    runs: int
    elapsed_s: float
    flows: int
    flows_per_s: float
    flows_per_s_by_round: list[float]
    sends: Figures
    checks: Figures
    code_reads: Figures
    #: CPU milliseconds per flow, by who used them; "server" is service + redis
    cpu_ms_per_flow: dict[str, float]
    cores_busy: dict[str, float]
    errors: dict[str, int] = field(default_factory=dict)


def summarize(name: str, config: str, runs: list[Run]) -> Summary:
    elapsed = sum(run.elapsed_s for run in runs)
    flows = sum(run.flows for run in runs)

    def pooled(kind: str) -> Figures:
        return Figures.of([value for run in runs for value in run.latencies[kind]], elapsed)

    cpu = {who: sum(run.cpu_s[who] for run in runs) for who in ("service", "redis", "client")}
    cpu["server"] = cpu["service"] + cpu["redis"]
    errors: Counter[str] = Counter()
    for run in runs:
        errors.update(run.errors)
    return Summary(
        target=name,
        title=TITLES[name],
        config=config,
        runs=len(runs),
        elapsed_s=elapsed,
        flows=flows,
        flows_per_s=flows / elapsed if elapsed else 0.0,
        flows_per_s_by_round=[run.flows / run.elapsed_s for run in runs],
        sends=pooled("send"),
        checks=pooled("check"),
        code_reads=pooled("outbox"),
        cpu_ms_per_flow={who: 1000 * s / flows if flows else 0.0 for who, s in cpu.items()},
        cores_busy={who: s / elapsed if elapsed else 0.0 for who, s in cpu.items()},
        errors=dict(errors.most_common()),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rate(figures: Figures) -> str:
    return f"{figures.per_s:7.1f}/s  p50 {_ms(figures.p50_ms):>6}  p99 {_ms(figures.p99_ms):>6}"


def format_report(summaries: list[Summary], args: argparse.Namespace) -> str:
    width = 44
    rows: list[tuple[str, list[str]]] = [
        ("", [s.title for s in summaries]),
        ("serving", [s.config for s in summaries]),
        ("runs", [f"{s.runs} x {args.duration:g} s ({s.elapsed_s:.1f} s)" for s in summaries]),
        ("flows", [f"{s.flows_per_s:7.1f}/s  ({s.flows} flows)" for s in summaries]),
        ("  by round", ["  ".join(f"{v:.1f}" for v in s.flows_per_s_by_round) for s in summaries]),
        ("sends (ms)", [_rate(s.sends) for s in summaries]),
        ("checks (ms)", [_rate(s.checks) for s in summaries]),
        ("code reads (ms)", [_rate(s.code_reads) for s in summaries]),
        ("server CPU/flow", [
            f"{s.cpu_ms_per_flow['server']:.2f} ms  (service {s.cpu_ms_per_flow['service']:.2f}"
            f" + redis {s.cpu_ms_per_flow['redis']:.2f})" for s in summaries
        ]),
        ("client CPU/flow", [f"{s.cpu_ms_per_flow['client']:.2f} ms" for s in summaries]),
        ("cores busy", [
            f"server {s.cores_busy['server']:.2f}  client {s.cores_busy['client']:.2f}"
            for s in summaries
        ]),
        ("errors", [str(sum(s.errors.values()) or "none") for s in summaries]),
    ]  # fmt: skip
    lines = [
        f"{' vs '.join(s.title for s in summaries)}: {args.concurrency} users, closed loop, "
        f"fresh number per flow; cpu count {psutil.cpu_count()}",
    ]
    lines += [f"  {label:<17}" + "".join(f"{c:<{width}}" for c in cells) for label, cells in rows]
    lines.append("  (code reads: from each target's Redis outbox, timed but not counted)")
    for s in summaries:
        lines += [f"    {count:6d}  {s.title}: {what}" for what, count in s.errors.items()]
    by_name = {s.target: s for s in summaries}
    if "otpgate" in by_name and "django" in by_name:
        lines.append("")
        lines.append(format_ratio(by_name["otpgate"], by_name["django"]))
    return "\n".join(lines)


def ratios(otpgate: Summary, django: Summary) -> list[float]:
    """otpgate/peer of each round's pair of runs."""
    return [
        o / d
        for o, d in zip(otpgate.flows_per_s_by_round, django.flows_per_s_by_round, strict=False)
        if d
    ]


def format_ratio(otpgate: Summary, django: Summary) -> str:
    ratio = otpgate.flows_per_s / django.flows_per_s if django.flows_per_s else float("nan")
    by_round = "  ".join(f"{r:.2f}" for r in ratios(otpgate, django))
    cpu = (
        django.cpu_ms_per_flow["server"] / otpgate.cpu_ms_per_flow["server"]
        if otpgate.cpu_ms_per_flow["server"]
        else float("nan")
    )
    met = "met" if ratio >= TARGET_RATIO else "MISSED"
    return (
        f"  flows/s otpgate / django-phone-verify   {ratio:.2f}x  (by round {by_round})   "
        f"target >= {TARGET_RATIO:g}x: {met}\n"
        f"  server CPU per flow, peer / otpgate     {cpu:.2f}x"
    )


# -- the command -----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    bounded = bench._bounded
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated, of otpgate and django (default both)",
    )
    parser.add_argument("--concurrency", type=bounded(int, 1, 1024), default=16)
    parser.add_argument("--duration", type=bounded(float, 1, bench.MAX_DURATION), default=15.0)
    parser.add_argument(
        "--rounds",
        type=bounded(int, 1, 20),
        default=2,
        help="measurements of each target, alternating (default 2)",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(float, 0, 60),
        default=1.0,
        help="seconds of uncounted flows after each start (default 1)",
    )
    parser.add_argument("--argon2-time-cost", type=bounded(int, 1, 100), default=1)
    parser.add_argument("--argon2-memory-cost", type=bounded(int, 8, 4 * 1024 * 1024), default=8)
    parser.add_argument(
        "--rules",
        choices=["on", "off"],
        default="on",
        help="otpgate's throttles and guards, as bench/bench.py sets them (default on)",
    )
    parser.add_argument(
        "--workers", type=bounded(int, 0, 64), default=0, help="otpgate's (0: one per core)"
    )
    parser.add_argument("--peer-server", choices=sorted(peer.SERVERS), default=peer.DEFAULT_SERVER)
    parser.add_argument("--peer-workers", type=bounded(int, 1, 64), default=peer.DEFAULT_WORKERS)
    parser.add_argument("--peer-threads", type=bounded(int, 1, 256), default=peer.DEFAULT_THREADS)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown or not args.targets:
        parser.error(f"--targets takes otpgate and/or django, not {', '.join(unknown) or '-'}")
    return args


def configs(args: argparse.Namespace) -> dict[str, str]:
    params = Argon2Settings(**bench.argon2_overrides(args))
    threads = f" x {args.peer_threads} threads" if args.peer_server != "gunicorn-sync" else ""
    return {
        "otpgate": f"{args.workers or os.cpu_count()} workers, argon2 t={params.time_cost} "
        f"m={params.memory_cost} p={params.parallelism}, rules {args.rules}",
        "django": f"{args.peer_server}, {args.peer_workers} workers{threads}, SQLite WAL",
    }


def make_targets(args: argparse.Namespace) -> dict[str, Target]:
    argon2_env = {
        f"OTPGATE_ARGON2_{name.upper()}": str(value)
        for name, value in bench.argon2_overrides(args).items()
    }
    made: dict[str, Target] = {}
    if "otpgate" in args.targets:
        made["otpgate"] = Otpgate(args.workers, argon2_env, args.rules)
    if "django" in args.targets:
        made["django"] = DjangoPhoneVerify(args.peer_server, args.peer_workers, args.peer_threads)
    return made


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    targets = make_targets(args)
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    try:
        if "django" in targets:
            try:
                peer.ensure_venv()
            except subprocess.CalledProcessError as exc:
                raise BenchError(f"installing the peer's venv failed: {exc}") from exc
        for round_ in range(1, args.rounds + 1):
            for name, target in targets.items():
                runs[name].append(measure(target, args, round_))
    except (BenchError, redis.RedisError) as exc:
        print(f"peer_flow: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("peer_flow: interrupted; the servers are stopped", file=sys.stderr)
        return 130
    described = configs(args)
    summaries = [summarize(name, described[name], runs[name]) for name in targets]
    print(format_report(summaries, args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "cpu_count": psutil.cpu_count(),
            "summaries": [asdict(s) for s in summaries],
            "runs": [
                {k: v for k, v in asdict(run).items() if k != "latencies"}
                for name in targets
                for run in runs[name]
            ],
        }
        if "otpgate" in targets and "django" in targets:
            by_name = {s.target: s for s in summaries}
            o, d = by_name["otpgate"], by_name["django"]
            document["ratio_otpgate_over_peer"] = o.flows_per_s / d.flows_per_s if d.flows else None
            document["ratio_by_round"] = ratios(o, d)
            document["target_ratio"] = TARGET_RATIO
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
