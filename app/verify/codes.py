"""Codes and their hashes: generation, peppered argon2id hashing, comparison.

At rest a code exists only as ``argon2id(HMAC-SHA256(pepper, verification_id + code))``.
The HMAC binds the code to one verification and to a secret that never enters Redis, so a
dump of Redis alone cannot be brute-forced offline; argon2id makes each guess expensive
even for someone who also holds the pepper.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.verify.config import Argon2Settings

__all__ = ["CodeHasher", "code_digest", "generate_code"]


def generate_code(length: int) -> str:
    """A code of ``length`` decimal digits from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def code_digest(pepper: bytes, verification_id: str, code: str) -> bytes:
    """HMAC-SHA256(pepper, verification id + code): what argon2 hashes."""
    return hmac.new(pepper, (verification_id + code).encode(), hashlib.sha256).digest()


class CodeHasher:
    """argon2id over peppered code digests, run in worker threads.

    argon2-cffi releases the GIL while hashing, so a pool of one thread per core keeps
    every core busy and leaves the event loop free to answer other requests.

    Args:
        pepper: the secret HMAC key.
        params: argon2id cost parameters.
        threads: size of the hashing pool (0: one per CPU core).
    """

    def __init__(self, pepper: bytes, params: Argon2Settings, threads: int = 0) -> None:
        self._pepper = pepper
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=threads or os.cpu_count() or 1, thread_name_prefix="argon2"
        )

    def hash_sync(self, verification_id: str, code: str) -> str:
        return self._hasher.hash(code_digest(self._pepper, verification_id, code))

    def match_sync(self, hashes: Sequence[str], verification_id: str, code: str) -> int | None:
        """Index of the first hash that ``code`` matches, or None.

        Every hash is checked, so the time taken does not tell which one matched.
        """
        digest = code_digest(self._pepper, verification_id, code)
        found: int | None = None
        for index, encoded in enumerate(hashes):
            try:
                self._hasher.verify(encoded, digest)
            except (VerificationError, InvalidHashError):
                continue
            if found is None:
                found = index
        return found

    async def hash(self, verification_id: str, code: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, verification_id, code)

    async def match(self, hashes: Sequence[str], verification_id: str, code: str) -> int | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, self.match_sync, list(hashes), verification_id, code
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
