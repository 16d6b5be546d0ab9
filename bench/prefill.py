"""Flat with table size: flows per second on an empty Redis and on one holding a million
stored verifications, side by side.

The service is started as bench/bench.py starts it (dev mode, its own embedded Redis,
argon2 at its minimum cost so that the Redis path is what is measured, every rule on).
The prefill goes into Redis database 1 while the server uses database 0, through
otpgate's own store code (``VerificationStore.queue_send`` and ``queue_record_message``:
a record, its index, a sent message and its provider pointer per verification), in
batches of ``--batch`` scripts, with numbers no flow uses. Then the runs alternate on
the same server, empty and full, ``--rounds`` times: ``SWAPDB 0 1`` between them puts
the million under the server (or takes it away) at once.

Target: flows/s with the table full within 10 % of empty. Only 127.0.0.1 is contacted.

    .venv/bin/python bench/prefill.py                      # 1,000,000 stored, 2 rounds
    .venv/bin/python bench/prefill.py --stored 100000 --duration 5 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
from app.phone import mask_phone
from app.settings import load_settings
from app.store.embedded import free_port
from app.store.keys import Keys
from app.store.outcomes import NewRecord
from app.store.redis import Scripts
from app.store.verifications import VerificationStore

TARGET = 0.10  # flows/s full may fall at most this far below empty
APP, PURPOSE = "default", "prefill"


async def prefill(redis_url: str, stored: int, batch_size: int) -> float:
    """Store ``stored`` sent verifications the way a send does; seconds it took."""
    settings = load_settings({}, overrides={"env": "dev"})  # the server's pepper and policy
    keys = Keys(settings.secret_pepper)
    client = Redis.from_url(redis_url, decode_responses=True)
    store = VerificationStore(Scripts(client), keys)
    policy = settings.policy_for(APP)
    code_hash = secrets.token_urlsafe(48)  # the size of a real hash (64 characters)
    started = time.perf_counter()
    try:
        for first in range(0, stored, batch_size):
            batch = store.batch()
            for n in range(first, min(first + batch_size, stored)):
                e164 = f"+8615{n:09d}"  # +86 15x: bench.py's flows use +86 13x
                number = keys.number(e164)
                subject, lookup = keys.subject(APP, number), keys.lookup(APP, number, PURPOSE)
                verification_id = Keys.new_verification_id(subject)
                record = NewRecord(APP, PURPOSE, mask_phone(e164), "CN", "sms", "zh-CN", lookup)
                message_id = "msg_" + verification_id[4:]
                store.queue_send(
                    batch, subject, record, expected=None, verification_id=verification_id,
                    code_hash=code_hash, params="2,19456,1", message_id=message_id,
                    policy=policy, retention_ms=int(settings.retention * 1000), throttle=None,
                )  # fmt: skip
                message = {
                    "provider": "outbox", "status": "sent", "provider_message_id": message_id,
                    "attempts": [{"provider": "outbox", "outcome": "accepted", "latency_ms": 1}],
                }  # fmt: skip
                store.queue_record_message(
                    batch, verification_id, lookup, 1, message, fail=False,
                    retention_ms=int(settings.retention * 1000), pointer_ms=86_400_000,
                )  # fmt: skip
            await batch.run()
    finally:
        await client.aclose()
    return time.perf_counter() - started


async def swap(redis_url: str) -> int:
    """Exchange databases 0 and 1 (the server's connections see the other one at once);
    how many keys the server has now."""
    async with Redis.from_url(redis_url) as client:
        await client.swapdb(0, 1)
        return int(await client.dbsize())


def run(base_url: str, redis_url: str, api_key: str, pid: int, args: argparse.Namespace) -> float:
    result = asyncio.run(
        bench.run_load(base_url, redis_url, None, api_key, args.concurrency, args.duration, pid)
    )
    if result.samples.errors:
        raise bench.BenchError(f"errors during the load: {dict(result.samples.errors)}")
    return result.samples.flows / result.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500, help="scripts per prefill batch")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="otpgate-prefill-"))
    api_key = "otpg_bench_" + secrets.token_urlsafe(24)
    port = free_port()
    base_url = f"http://{bench.HOST}:{port}"
    argon2_env = {"OTPGATE_ARGON2_TIME_COST": "1", "OTPGATE_ARGON2_MEMORY_COST": "8"}
    server = bench.start_server(port, data_dir, api_key, args.workers, argon2_env, "on", None)
    empty: list[float] = []
    full: list[float] = []
    try:
        bench.wait_ready(server, base_url, data_dir)
        redis_url = (data_dir / "redis.url").read_text().strip()
        took = asyncio.run(prefill(redis_url.rsplit("/", 1)[0] + "/1", args.stored, args.batch))
        used = asyncio.run(_used_memory(redis_url))
        print(
            f"prefilled {args.stored:,} in {took:.0f} s ({args.stored / took:,.0f}/s); "
            f"Redis uses {used / 2**20:,.0f} MiB",
            file=sys.stderr,
        )
        warm_up = argparse.Namespace(**{**vars(args), "duration": min(3.0, args.duration)})
        run(base_url, redis_url, api_key, server.pid, warm_up)  # not counted
        for round_ in range(1, args.rounds + 1):
            empty.append(run(base_url, redis_url, api_key, server.pid, args))
            print(f"round {round_}: empty  {empty[-1]:7.1f} flows/s", file=sys.stderr)
            keys = asyncio.run(swap(redis_url))
            full.append(run(base_url, redis_url, api_key, server.pid, args))
            print(
                f"round {round_}: full   {full[-1]:7.1f} flows/s ({keys:,} keys)", file=sys.stderr
            )
            asyncio.run(swap(redis_url))
    finally:
        bench.stop_server(server, data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    ratio = mean(full) / mean(empty)
    verdict = "met" if ratio >= 1 - TARGET else "MISSED"
    print(f"flows/s with {args.stored:,} verifications stored vs none ({args.rounds} rounds)")
    print(f"  empty  {mean(empty):7.1f}/s   by round {'  '.join(f'{x:.1f}' for x in empty)}")
    print(f"  full   {mean(full):7.1f}/s   by round {'  '.join(f'{x:.1f}' for x in full)}")
    print(f"  full / empty   {ratio:.3f}   target >= {1 - TARGET:.2f}: {verdict}")


async def _used_memory(redis_url: str) -> int:
    async with Redis.from_url(redis_url) as client:
        return int((await client.info("memory"))["used_memory"])


if __name__ == "__main__":
    main()
