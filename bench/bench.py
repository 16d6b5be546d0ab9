"""Benchmark otpgate: how much of the machine's argon2 capacity becomes API work.

Every send hashes a code with argon2id and every check verifies one, so argon2 is the
ceiling on sends + checks per second. This script

1. starts the service as a user would (``python -m app serve`` in dev mode, with its own
   embedded redis-server in a fresh temporary data dir) and waits for ``/healthz``;
2. measures the argon2 bound: hashes per second with the service's argon2 parameters on
   one thread per CPU core, before the load so nothing competes with it;
3. runs ``--concurrency`` virtual users for ``--duration`` seconds, each repeating one
   verification flow: send a code to a fresh number over HTTP/1.1 keep-alive, read the
   code from the dev outbox's Redis list (bookkeeping, timed but not counted), check it
   over HTTP;
4. meanwhile polls ``/healthz`` every 20 ms (``--health-interval``) on a connection of
   its own, to see whether the event loop stays responsive while the hashing pool is
   saturated;
5. prints sends/s, checks/s, flows/s, latencies, the argon2 bound, the share of it turned
   into API work ((sends/s + checks/s) / bound, target >= 90 %), /healthz latency
   (target p99 < 20 ms) and errors; ``--json PATH`` also writes them as JSON.

The service is always stopped at the end (SIGTERM, SIGKILL after 15 s), also on Ctrl-C.
Only 127.0.0.1 is contacted.

Run from the repository root:

    .venv/bin/python bench/bench.py                 # 15 s, 16 virtual users, 1 worker
    .venv/bin/python bench/bench.py --quick         # 3 s, 4 virtual users: a smoke run
    .venv/bin/python bench/bench.py --workers 2 --json bench/results/run.json
    .venv/bin/python bench/bench.py --provider-stub   # also through the http adapter
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import argon2
import httpx
import psutil
import redis
from redis.asyncio import Redis

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from lean_http import LeanClient, LeanHTTPError, LeanResponse  # noqa: E402

from app.cores import worker_count  # noqa: E402
from app.settings import Argon2Settings  # noqa: E402
from app.store.embedded import free_port  # noqa: E402
from app.store.keys import Keys  # noqa: E402
from app.verify.codes import HASHING_THREAD_NAME  # noqa: E402
from tests.stubs.http_gateway import PATH as GATEWAY_PATH  # noqa: E402
from tests.stubs.http_gateway import SECRET as GATEWAY_SECRET  # noqa: E402
from tests.stubs.http_gateway import HttpGatewayStub  # noqa: E402
from tests.stubs.loopback import serve  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0
ARGON2_SECONDS = 3.0
HEALTH_INTERVAL = 0.02
MAX_DURATION = 600.0
CODE = re.compile(r"\d{6}")
SHARE_TARGET = 90  # % of the argon2 bound turned into sends + checks (issue #11)
HEALTH_P99_TARGET = 20  # ms, while hashing saturates the cores


class BenchError(Exception):
    """The benchmark cannot run; the message says why."""


class UnexpectedResponse(Exception):
    """A response with another status or body than the flow expects."""


# -- the service -----------------------------------------------------------------------


#: ``--rules on``: every throttle and guard of issue #4 on, at defaults or, for the
#: budgets that are off by default, at values the load never reaches (so they are
#: counted on every send, which is what costs). ``off``: no throttles, and every number
#: on the safe list, so the pumping guards are skipped too.
RULES_CONFIG = {
    "on": """
[limits]
send_per_app = ["10000000/minute", "100000000/day"]
send_per_country = ["10000000/minute"]
""",
    "off": """
[limits]
send_per_number = []
send_per_ip = []
wrong_checks_per_number = []
checks_per_ip = []
[abuse]
safe_prefixes = ["+"]
""",
}


def gateway_config(stub_url: str) -> str:
    """Send through the real ``http`` adapter (signed JSON) to the loopback gateway stub."""
    return f"""
[providers.gateway]
type = "http"
url = "{stub_url}{GATEWAY_PATH}"
secret = "{GATEWAY_SECRET}"
[routes]
default = ["gateway"]
"""


def start_server(
    port: int,
    data_dir: Path,
    api_key: str,
    workers: int,
    argon2_env: dict[str, str],
    rules: str,
    stub_url: str | None,
) -> subprocess.Popen[bytes]:
    """``python -m app serve`` in dev mode, its output going to ``data_dir/server.log``."""
    env = server_env(data_dir, api_key, workers, argon2_env, rules, stub_url)
    return spawn([sys.executable, "-m", "app", "serve", "--port", str(port)], env, data_dir)


def server_env(
    data_dir: Path,
    api_key: str,
    workers: int,
    argon2_env: dict[str, str],
    rules: str,
    stub_url: str | None,
) -> dict[str, str]:
    """The environment of a benchmarked service: dev mode, the bench's rules and key."""
    config = data_dir / "otpgate.toml"
    config.write_text(RULES_CONFIG[rules] + (gateway_config(stub_url) if stub_url else ""))
    # Inherited OTPGATE_* settings (a Redis URL, a config file) would change what is measured.
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTPGATE_")}
    env.update(
        OTPGATE_ENV="dev",
        OTPGATE_DATA_DIR=str(data_dir),
        OTPGATE_BOOTSTRAP_API_KEY=api_key,
        OTPGATE_RESEND_COOLDOWN="0",
        OTPGATE_WORKERS=str(workers),
        OTPGATE_CONFIG=str(config),
        **argon2_env,
    )
    return env


def spawn(command: list[str], env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    with (data_dir / "server.log").open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C reaches only us, and we stop it in order.
            start_new_session=True,
        )


def log_tail(data_dir: Path, lines: int = 20) -> str:
    text = (data_dir / "server.log").read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(server: subprocess.Popen[bytes], base_url: str, data_dir: Path) -> None:
    """Return once ``GET /healthz`` answers 200; raise if the service exits or is too slow."""
    deadline = time.monotonic() + READY_TIMEOUT
    with httpx.Client(base_url=base_url, timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise BenchError(
                    f"the service exited with status {server.returncode}:\n{log_tail(data_dir)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(
        f"/healthz did not answer 200 within {READY_TIMEOUT:.0f} s:\n{log_tail(data_dir)}"
    )


def stop_server(server: subprocess.Popen[bytes], data_dir: Path) -> None:
    """SIGTERM and wait; SIGKILL the process group after STOP_TIMEOUT."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    stop_orphaned_redis(data_dir)


def stop_orphaned_redis(data_dir: Path) -> None:
    """Shut down the embedded Redis if the launcher died without stopping it.

    The launcher removes ``redis.url`` after stopping Redis, and Redis runs in a session
    of its own, so a leftover file means a server that the process-group kill missed.
    """
    url_file = data_dir / "redis.url"
    if not url_file.exists():
        return
    url = url_file.read_text().strip()
    if not url.startswith(f"redis://{HOST}:"):
        return
    with contextlib.suppress(redis.RedisError), redis.Redis.from_url(url) as client:
        client.shutdown(nosave=True)


# -- the argon2 bound ------------------------------------------------------------------


def argon2_bound(params: Argon2Settings, seconds: float, threads: int) -> float:
    """argon2id hashes per second of a 32-byte input on ``threads`` threads."""
    hasher = argon2.PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )
    secret = secrets.token_bytes(32)  # the size of the HMAC digest the service hashes
    started = time.perf_counter()
    deadline = started + seconds

    def hash_until_deadline() -> int:
        count = 0
        while time.perf_counter() < deadline:
            hasher.hash(secret)
            count += 1
        return count

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(hash_until_deadline) for _ in range(threads)]
        total = sum(future.result() for future in futures)
    return total / (time.perf_counter() - started)


# -- the load --------------------------------------------------------------------------


def phone_numbers() -> Iterator[str]:
    """Distinct valid Chinese mobile numbers (+86 13x xxxx xxxx), one per flow.

    Every +86 13x number is a valid mobile number (tests/test_bench.py checks a sample
    with phonenumbers), so none is parsed here, on the client's share of the cores.
    """
    used: set[int] = set()
    while True:
        value = random.randrange(10**9)
        if value not in used:
            used.add(value)
            yield f"+8613{value:09d}"


def problem(response: LeanResponse) -> str:
    """``<status> <problem code>``, or the reason phrase when the body has no code."""
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and body.get("code"):
            return f"{response.status_code} {body['code']}"
    return f"{response.status_code} {response.reason_phrase}"


def verification_id(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    raise UnexpectedResponse("201 without an id")


def outbox_code(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        match = CODE.search(str(body[0].get("text", "")))
        if match:
            return match.group()
    raise UnexpectedResponse("no code in the outbox")


def approved(body: Any) -> str:
    if isinstance(body, dict) and body.get("valid") is True:
        return str(body.get("status"))
    status = body.get("status") if isinstance(body, dict) else None
    raise UnexpectedResponse(f"200 valid=false (status {status})")


def healthy(body: Any) -> str:
    if isinstance(body, dict) and body.get("status") == "ok":
        return "ok"
    raise UnexpectedResponse("200 without status ok")


@dataclass
class Samples:
    """Latencies (seconds) of the requests that did what the flow expects, and errors."""

    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"send": [], "outbox": [], "check": [], "healthz": []}
    )
    errors: Counter[str] = field(default_factory=Counter)
    flows: int = 0

    async def step(
        self,
        kind: str,
        request: Awaitable[LeanResponse],
        expected: int,
        parse: Callable[[Any], str],
    ) -> str | None:
        """What ``parse`` takes from the response, or None (and an error counted)."""
        started = time.perf_counter()
        try:
            response = await request
            elapsed = time.perf_counter() - started
            if response.status_code != expected:
                raise UnexpectedResponse(problem(response))
            value = parse(response.json())
        except (LeanHTTPError, UnexpectedResponse, ValueError) as exc:
            reason = str(exc) if isinstance(exc, UnexpectedResponse) else type(exc).__name__
            self.errors[f"{kind}: {reason}"] += 1
            return None
        self.latencies[kind].append(elapsed)
        return value


class Inbox(Protocol):
    """Where the bench finds the messages the service sent."""

    async def newest(self, to: str) -> list[Any]: ...


class RedisOutbox:
    """The dev outbox, read straight from its Redis list.

    Reading it over HTTP would make a third of the requests bookkeeping that competes
    with the measured sends and checks for the same two cores.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def newest(self, to: str) -> list[Any]:
        items: list[str] = await self._client.lrange(Keys.outbox_to(to), 0, 0)  # type: ignore[misc]
        return [json.loads(item) for item in items]


class GatewayInbox:
    """What the loopback gateway stub received (``--provider http-stub``)."""

    def __init__(self, stub: HttpGatewayStub) -> None:
        self._stub = stub

    async def newest(self, to: str) -> list[Any]:
        for received in reversed(self._stub.received):
            if received.body.get("to") == to:
                return [received.body]
        return []


async def read_code(inbox: Inbox, to: str, samples: Samples) -> str | None:
    """The code in the newest message to ``to``."""
    started = time.perf_counter()
    try:
        code = outbox_code(await inbox.newest(to))
    except (redis.RedisError, UnexpectedResponse, ValueError) as exc:
        reason = str(exc) if isinstance(exc, UnexpectedResponse) else type(exc).__name__
        samples.errors[f"outbox: {reason}"] += 1
        return None
    samples.latencies["outbox"].append(time.perf_counter() - started)
    return code


async def flow(
    client: LeanClient, inbox: Inbox, auth: dict[str, str], to: str, samples: Samples
) -> bool:
    """Send a code to ``to``, read it from the outbox, check it; True when approved."""
    # A fresh end-user IP per flow, so that per-IP rules are counted but never reached.
    client_ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    body = {"to": to, "purpose": "bench", "client_ip": client_ip}
    send = client.post("/v1/verifications", json=body, headers=auth)
    sent_id = await samples.step("send", send, 201, verification_id)
    if sent_id is None:
        return False
    code = await read_code(inbox, to, samples)
    if code is None:
        return False
    body = {"id": sent_id, "code": code, "client_ip": client_ip}
    check = client.post("/v1/verifications/check", json=body, headers=auth)
    return await samples.step("check", check, 200, approved) is not None


async def virtual_user(
    client: LeanClient,
    inbox: Inbox,
    auth: dict[str, str],
    numbers: Iterator[str],
    samples: Samples,
    deadline: float,
) -> None:
    while time.monotonic() < deadline:
        if await flow(client, inbox, auth, next(numbers), samples):
            samples.flows += 1


async def poll_health(
    base_url: str, samples: Samples, deadline: float, interval: float = HEALTH_INTERVAL
) -> None:
    """``GET /healthz`` every ``interval`` s on a connection of its own until ``deadline``."""
    async with LeanClient(base_url, max_connections=1, timeout=REQUEST_TIMEOUT) as client:
        next_poll = time.monotonic()
        while next_poll < deadline:
            await samples.step("healthz", client.get("/healthz"), 200, healthy)
            # A slow answer delays the next poll rather than causing a catch-up burst.
            next_poll = max(next_poll + interval, time.monotonic())
            await asyncio.sleep(next_poll - time.monotonic())


@dataclass(frozen=True)
class LoadResult:
    samples: Samples
    elapsed: float
    #: CPU seconds used during the load by the bench client, the service's processes
    #: (event loop and hashing threads) and the embedded redis-server.
    cpu: dict[str, float]


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the service's hashing threads, the rest of its processes
    (event loops, the server's own threads, logging) and its redis-server."""
    used = {"client": time.process_time(), "hashing": 0.0, "service": 0.0, "redis": 0.0}
    root = psutil.Process(server_pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            if "redis-server" in process.name():
                used["redis"] += times.user + times.system
                continue
            hashing = sum(
                thread.user_time + thread.system_time
                for thread in process.threads()
                if _thread_name(process.pid, thread.id) == HASHING_THREAD_NAME
            )
            used["hashing"] += hashing
            used["service"] += times.user + times.system - hashing
    return used


def _thread_name(pid: int, thread: int) -> str:
    try:
        return Path(f"/proc/{pid}/task/{thread}/comm").read_text().strip()
    except OSError:  # gone, or not Linux
        return ""


async def run_load(
    base_url: str,
    redis_url: str,
    stub: HttpGatewayStub | None,
    api_key: str,
    concurrency: int,
    duration: float,
    server_pid: int,
    health_interval: float = HEALTH_INTERVAL,
) -> LoadResult:
    """``concurrency`` virtual users plus the health poller; no flow starts after ``duration``."""
    samples = Samples()
    numbers = phone_numbers()
    auth = {"Authorization": f"Bearer {api_key}"}
    async with (
        LeanClient(base_url, max_connections=concurrency, timeout=REQUEST_TIMEOUT) as client,
        Redis.from_url(redis_url, decode_responses=True) as outbox,
    ):
        inbox: Inbox = GatewayInbox(stub) if stub is not None else RedisOutbox(outbox)
        started, cpu_started = time.perf_counter(), cpu_seconds(server_pid)
        deadline = time.monotonic() + duration
        await asyncio.gather(
            poll_health(base_url, samples, deadline, health_interval),
            *(
                virtual_user(client, inbox, auth, numbers, samples, deadline)
                for _ in range(concurrency)
            ),
        )
        elapsed = time.perf_counter() - started
        cpu_ended = cpu_seconds(server_pid)
    return LoadResult(samples, elapsed, {k: cpu_ended[k] - cpu_started[k] for k in cpu_ended})


# -- the report ------------------------------------------------------------------------


def percentile_ms(values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile in milliseconds (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figures:
    count: int
    per_s: float
    p50_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, latencies: list[float], elapsed: float) -> Figures:
        return cls(
            count=len(latencies),
            per_s=len(latencies) / elapsed,
            p50_ms=percentile_ms(latencies, 50),
            p99_ms=percentile_ms(latencies, 99),
        )


@dataclass(frozen=True)
class Report:
    rules: str
    provider: str
    workers: int
    concurrency: int
    duration_s: float
    elapsed_s: float
    argon2: dict[str, int]
    cpu_count: int
    argon2_bound_per_s: float
    argon2_bound_before_after: tuple[float, float]
    sends: Figures
    checks: Figures
    flows_per_s: float
    outbox_reads: Figures
    healthz: Figures
    argon2_share_pct: float
    #: cores busy during the load, by who used them
    cores_used: dict[str, float]
    errors: dict[str, int]


def build_report(
    args: argparse.Namespace,
    rules: str,
    provider: str,
    params: Argon2Settings,
    cpus: int,
    bounds: tuple[float, float],
    load: LoadResult,
) -> Report:
    latencies, elapsed = load.samples.latencies, load.elapsed
    bound = sum(bounds) / len(bounds)
    sends = Figures.of(latencies["send"], elapsed)
    checks = Figures.of(latencies["check"], elapsed)
    return Report(
        rules=rules,
        provider=provider,
        workers=worker_count(args.workers),
        concurrency=args.concurrency,
        duration_s=args.duration,
        elapsed_s=elapsed,
        argon2={
            "time_cost": params.time_cost,
            "memory_cost": params.memory_cost,
            "parallelism": params.parallelism,
        },
        cpu_count=cpus,
        argon2_bound_per_s=bound,
        argon2_bound_before_after=bounds,
        sends=sends,
        checks=checks,
        flows_per_s=load.samples.flows / elapsed,
        outbox_reads=Figures.of(latencies["outbox"], elapsed),
        healthz=Figures.of(latencies["healthz"], elapsed),
        argon2_share_pct=100 * (sends.per_s + checks.per_s) / bound,
        cores_used={who: seconds / elapsed for who, seconds in load.cpu.items()},
        errors=dict(load.samples.errors.most_common()),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _rate_line(name: str, figures: Figures, note: str = "") -> str:
    return (
        f"  {name:<20}{figures.per_s:8.1f} /s   p50 {_ms(figures.p50_ms):>10}   "
        f"p99 {_ms(figures.p99_ms):>10}{note}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def format_report(report: Report) -> str:
    a2 = report.argon2
    before, after = report.argon2_bound_before_after
    health_p99 = report.healthz.p99_ms
    lines = [
        f"otpgate benchmark (rules {report.rules}, provider {report.provider})",
        f"  {'workers':<20}{report.workers}",
        f"  {'concurrency':<20}{report.concurrency} virtual users",
        f"  {'duration':<20}{report.duration_s:.1f} s (load ran {report.elapsed_s:.1f} s)",
        f"  {'argon2':<20}time_cost={a2['time_cost']}  memory_cost={a2['memory_cost']} KiB  "
        f"parallelism={a2['parallelism']}",
        f"  {'cpu count':<20}{report.cpu_count}",
        "",
        f"  {'argon2 bound':<20}{report.argon2_bound_per_s:8.1f} hashes/s "
        f"({report.cpu_count} threads; mean of {before:.1f} before and {after:.1f} after the load)",
        _rate_line("sends", report.sends),
        _rate_line("checks", report.checks),
        f"  {'flows':<20}{report.flows_per_s:8.1f} /s",
        _rate_line("code reads", report.outbox_reads, "   (bookkeeping, not counted)"),
        f"  {'argon2 share':<20}{report.argon2_share_pct:8.1f} %  = (sends/s + checks/s) / "
        f"bound   target >= {SHARE_TARGET} %: "
        f"{_verdict(round(report.argon2_share_pct, 1) >= SHARE_TARGET)}",
        f"  {'/healthz':<20}{report.healthz.count:8d} polls  p50 {_ms(report.healthz.p50_ms)}"
        f"   p99 {_ms(health_p99)}   target p99 < {HEALTH_P99_TARGET} ms: "
        f"{_verdict(health_p99 is not None and health_p99 < HEALTH_P99_TARGET)}",
        f"  {'cores busy':<20}"
        + "  ".join(f"{who} {cores:.2f}" for who, cores in report.cores_used.items())
        + f"  of {report.cpu_count}",
        *_cost_lines(report),
        f"  {'errors':<20}{sum(report.errors.values()) or 'none'}",
    ]
    lines += [f"    {count:8d}  {what}" for what, count in report.errors.items()]
    return "\n".join(lines)


def _cost_lines(report: Report) -> list[str]:
    """A hash's CPU in the service against the bound's, and what the rest of the service
    costs per request: where the argon2 share is lost."""
    requests = report.sends.per_s + report.checks.per_s
    hashing, service = report.cores_used.get("hashing", 0.0), report.cores_used["service"]
    if not requests or not report.argon2_bound_per_s or not hashing:
        return []
    bound_ms = 1000 * report.cpu_count / report.argon2_bound_per_s
    return [
        f"  {'a hash':<20}{1000 * hashing / requests:8.1f} ms of a core in the service, "
        f"{bound_ms:.1f} ms in the bound",
        f"  {'besides hashing':<20}{1000 * service / requests:8.1f} ms of CPU per send or check "
        f"in the service ({report.healthz.per_s:.0f} /healthz polls/s included)",
    ]


# -- the command -----------------------------------------------------------------------


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers",
        type=_bounded(int, 0, 64),
        default=0,
        help="server worker processes (default 0: the service's default, one per core)",
    )
    parser.add_argument(
        "--concurrency",
        type=_bounded(int, 1, 1024),
        help="virtual users (default 16; 4 with --quick)",
    )
    parser.add_argument(
        "--duration",
        type=_bounded(float, 1, MAX_DURATION),
        help="seconds of load (default 15; 3 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 s, 4 virtual users")
    parser.add_argument(
        "--health-interval",
        type=_bounded(float, 0.005, 60),
        default=HEALTH_INTERVAL,
        help="seconds between /healthz polls (default 0.02: p99 from many samples; the"
        " polls' own CPU is the service's too, 0.03-0.04 of a core at 50 a second)",
    )
    parser.add_argument(
        "--argon2-time-cost",
        type=_bounded(int, 1, 100),
        help="argon2id iterations (default: the service's, 2)",
    )
    parser.add_argument(
        "--argon2-memory-cost",
        type=_bounded(int, 8, 4 * 1024 * 1024),
        help="argon2id memory in KiB (default: the service's, 19456)",
    )
    parser.add_argument(
        "--rules",
        choices=["on", "off", "both"],
        default="both",
        help="throttles and anti-abuse rules on, off, or one run each (default both)",
    )
    parser.add_argument(
        "--provider-stub",
        action="store_true",
        help="also run with the real `http` adapter sending to a loopback gateway stub",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = 4 if args.quick else 16
    if args.duration is None:
        args.duration = 3.0 if args.quick else 15.0
    return args


def argon2_overrides(args: argparse.Namespace) -> dict[str, int]:
    """The argon2 parameters given on the command line, by settings field."""
    given = {"time_cost": args.argon2_time_cost, "memory_cost": args.argon2_memory_cost}
    return {name: value for name, value in given.items() if value is not None}


def run(args: argparse.Namespace, rules: str, provider: str) -> Report:
    overrides = argon2_overrides(args)
    params = Argon2Settings(**overrides)
    argon2_env = {f"OTPGATE_ARGON2_{name.upper()}": str(value) for name, value in overrides.items()}
    cpus = os.cpu_count() or 1
    api_key = "otpg_bench_" + secrets.token_urlsafe(24)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    stub = HttpGatewayStub() if provider == "http-stub" else None
    with (
        tempfile.TemporaryDirectory(prefix="otpgate-bench-", ignore_cleanup_errors=True) as tmp,
        serve(stub.app) if stub else contextlib.nullcontext("") as stub_url,
    ):
        data_dir = Path(tmp)
        server = start_server(
            port, data_dir, api_key, args.workers, argon2_env, rules, stub_url or None
        )
        try:
            wait_ready(server, base_url, data_dir)
            print(
                f"service up at {base_url}; measuring argon2 for {ARGON2_SECONDS:.0f} s",
                file=sys.stderr,
            )
            before = argon2_bound(params, ARGON2_SECONDS, cpus)
            print(
                f"load (rules {rules}): {args.concurrency} virtual users for {args.duration:g} s",
                file=sys.stderr,
            )
            redis_url = (data_dir / "redis.url").read_text().strip()
            load = asyncio.run(
                run_load(
                    base_url,
                    redis_url,
                    stub,
                    api_key,
                    args.concurrency,
                    args.duration,
                    server.pid,
                    args.health_interval,
                )
            )
            # This machine's speed drifts (shared host): bracket the load and use the mean.
            after = argon2_bound(params, ARGON2_SECONDS, cpus)
        finally:
            stop_server(server, data_dir)
    return build_report(args, rules, provider, params, cpus, (before, after), load)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = [
        (rules, "outbox") for rules in (["on", "off"] if args.rules == "both" else [args.rules])
    ]
    if args.provider_stub:
        scenarios.append((scenarios[0][0], "http-stub"))
    try:
        reports = [run(args, rules, provider) for rules, provider in scenarios]
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; the service is stopped", file=sys.stderr)
        return 130
    print("\n\n".join(format_report(report) for report in reports))
    by_scenario = {(r.rules, r.provider): r for r in reports}
    if ("on", "outbox") in by_scenario and ("off", "outbox") in by_scenario:
        print("\n" + format_rules_cost(by_scenario["on", "outbox"], by_scenario["off", "outbox"]))
    if args.provider_stub:
        print("\n" + format_provider_cost(reports[-1], reports[0]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 0


def format_provider_cost(stub: Report, outbox: Report) -> str:
    """Sends through a real adapter to a loopback stub, against the outbox, each
    against its own argon2 bound."""
    ratio = stub.argon2_share_pct / outbox.argon2_share_pct if outbox.argon2_share_pct else 0
    return (
        "provider: http adapter to a loopback stub vs outbox\n"
        f"  {'sends/s':<20}{stub.sends.per_s:8.1f} stub {outbox.sends.per_s:8.1f} outbox\n"
        f"  {'argon2 share':<20}{stub.argon2_share_pct:8.1f} stub {outbox.argon2_share_pct:8.1f} "
        f"outbox   ratio {100 * ratio:.1f} %   target >= 90 %: {_verdict(ratio >= 0.9)}"
    )


def format_rules_cost(on: Report, off: Report) -> str:
    """What the rules cost: send throughput with them over without, each against its
    own argon2 bound (the machine's speed drifts between the two runs)."""
    share_on, share_off = on.argon2_share_pct, off.argon2_share_pct
    cost = 100 * (1 - share_on / share_off) if share_off else float("nan")
    raw = on.sends.per_s / off.sends.per_s if off.sends.per_s else float("nan")
    return (
        "rules on vs off\n"
        f"  {'sends/s':<20}{on.sends.per_s:8.1f} on   {off.sends.per_s:8.1f} off   "
        f"ratio {raw:.3f}\n"
        f"  {'argon2 share':<20}{share_on:8.1f} on   {share_off:8.1f} off   "
        f"cost of the rules {cost:.1f} %   target < 15 %: {_verdict(cost < 15)}"
    )


if __name__ == "__main__":
    sys.exit(main())
