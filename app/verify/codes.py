"""Codes and their hashes: generation, peppered argon2id hashing, comparison.

At rest a code exists only as ``argon2id(HMAC-SHA256(pepper, verification_id + code))``
(with a random salt).
The HMAC binds the code to one verification and to a secret that never enters Redis, so a
dump of Redis alone cannot be brute-forced offline; argon2id makes each guess expensive
even for someone who also holds the pepper.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from argon2.low_level import Type, hash_secret_raw

from app.metrics import HASH_QUEUE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.verify.config import Argon2Settings

__all__ = ["CodeHasher", "code_digest", "generate_code"]

_SALT_LENGTH = 16
_HASH_LENGTH = 32


def generate_code(length: int) -> str:
    """A code of ``length`` decimal digits from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def code_digest(pepper: bytes, verification_id: str, code: str) -> bytes:
    """HMAC-SHA256(pepper, verification id + code): what argon2 hashes."""
    return hmac.new(pepper, (verification_id + code).encode(), hashlib.sha256).digest()


#: Hashes of at most this much work (time_cost passes over memory_cost KiB) run on the
#: event loop's own thread. Handing a hash to a pool thread and back costs the thread's
#: wake-up, the GIL going over and back, and the loop's wake-up; at argon2's minimum
#: cost (t=1, m=8 KiB: 0.03 ms a hash) hashing inline completed 23-37 % more flows per
#: second in bench/peer_flow.py. 256 KiB-passes take about 0.13 ms: too short for a
#: request behind it on the loop to notice.
INLINE_HASH_WORK = 256
#: How much nicer than the event loop the hashing threads are (0..19).
HASHING_NICENESS = 10
#: The hashing threads' name in the kernel (``top -H``, ``ps -L``, ``bench/bench.py``'s
#: split of the service's CPU), at most 15 bytes.
HASHING_THREAD_NAME = "otpgate-argon2"


def _yield_to_the_event_loop() -> None:
    """Lower this thread's priority (Linux schedules threads by their own nice value) and
    name it, so that what hashing costs can be told from what the event loop costs."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, HASHING_NICENESS)
        with contextlib.suppress(OSError), open(f"/proc/self/task/{thread}/comm", "w") as comm:
            comm.write(HASHING_THREAD_NAME)


def _cost(params: str) -> tuple[int, int, int]:
    time_cost, memory_cost, parallelism = (int(part) for part in params.split(","))
    return time_cost, memory_cost, parallelism


def _inline(cost: tuple[int, int, int], hashes: int = 1) -> bool:
    """Whether ``hashes`` hashes at ``cost`` are cheaper than a hand-over to the pool."""
    return hashes * cost[0] * cost[1] <= INLINE_HASH_WORK


class CodeHasher:
    """argon2id over peppered code digests, run in worker threads.

    A hash is stored as the unpadded base64 of its 16-byte salt and 32-byte output (64
    characters, the most a Redis hash keeps in its compact listpack encoding; argon2's
    own ``$argon2id$…`` text is 97), beside the cost parameters it was made with
    (:attr:`params`), so a change of settings never breaks a code already sent.

    argon2-cffi releases the GIL while hashing, so a pool of one thread per core keeps
    every core busy and leaves the event loop free to answer other requests; only a
    hash cheaper than the hand-over (:data:`INLINE_HASH_WORK`) runs on the loop. The hashing
    threads run at a lower scheduling priority (nice +10, on Linux): when the cores are
    saturated with hashing, the event loop still gets a core the moment it has work, so
    ``/healthz`` and reads stay fast, and hashing loses nothing but what the loop uses.

    Args:
        pepper: the secret HMAC key.
        params: argon2id cost parameters.
        threads: size of the hashing pool (0: one per CPU core).
    """

    def __init__(self, pepper: bytes, params: Argon2Settings, threads: int = 0) -> None:
        self._pepper = pepper
        self._cost = (params.time_cost, params.memory_cost, params.parallelism)
        self.params = ",".join(map(str, self._cost))
        self._pool = ThreadPoolExecutor(
            max_workers=threads or os.cpu_count() or 1,
            thread_name_prefix="argon2",
            initializer=_yield_to_the_event_loop,
        )

    @staticmethod
    def _raw(digest: bytes, salt: bytes, cost: tuple[int, int, int]) -> bytes:
        time_cost, memory_cost, parallelism = cost
        return hash_secret_raw(
            digest, salt, time_cost, memory_cost, parallelism, _HASH_LENGTH, Type.ID
        )

    def hash_sync(self, verification_id: str, code: str) -> str:
        salt = secrets.token_bytes(_SALT_LENGTH)
        raw = self._raw(code_digest(self._pepper, verification_id, code), salt, self._cost)
        return base64.b64encode(salt + raw).decode().rstrip("=")

    def match_sync(
        self, hashes: Sequence[str], verification_id: str, code: str, params: str | None = None
    ) -> int | None:
        """Index of the first hash that ``code`` matches, or None. ``params``: the cost
        the hashes were made with ("t,m,p"; this hasher's own when omitted).

        Every hash is checked, so the time taken does not tell which one matched.
        """
        cost = _cost(params) if params else self._cost
        digest = code_digest(self._pepper, verification_id, code)
        found: int | None = None
        for index, encoded in enumerate(hashes):
            try:
                stored = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                continue
            if len(stored) != _SALT_LENGTH + _HASH_LENGTH:
                continue
            salt, expected = stored[:_SALT_LENGTH], stored[_SALT_LENGTH:]
            actual = self._raw(digest, salt, cost)
            if hmac.compare_digest(actual, expected) and found is None:
                found = index
        return found

    async def hash(self, verification_id: str, code: str) -> str:
        with HASH_QUEUE.track_inprogress():
            if _inline(self._cost):
                return self.hash_sync(verification_id, code)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self.hash_sync, verification_id, code)

    async def match(
        self, hashes: Sequence[str], verification_id: str, code: str, params: str | None = None
    ) -> int | None:
        cost = _cost(params) if params else self._cost
        with HASH_QUEUE.track_inprogress():
            if _inline(cost, len(hashes)):
                return self.match_sync(hashes, verification_id, code, params)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._pool, self.match_sync, list(hashes), verification_id, code, params
            )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
