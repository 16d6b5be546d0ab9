"""The Redis client (one server, Cluster or Sentinel, from one URL), the Lua scripts, and
batches: the commands and scripts of one step of a request, sent in one round trip.

A batch is a redis-py pipeline: on one server (or Sentinel's primary) one round trip; on
Cluster redis-py splits it by node and sends every node's part at once, so a step costs
one round trip per node, in parallel. Scripts go into it as raw ``EVALSHA`` commands:
redis-py refuses its ``Script`` objects in cluster pipelines, not the command itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError

from app.store.urls import client_for, parse_redis_url

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline
    from redis.asyncio.cluster import ClusterPipeline

__all__ = ["Batch", "Readiness", "Scripts", "StoreClient", "connect", "parse_redis_url"]

_LUA_DIR = Path(__file__).parent / "lua"
StoreClient = Redis | RedisCluster


def connect(url: str, *, timeout: float) -> StoreClient:
    """A pooled client for ``url`` (``redis://``, ``rediss://``, ``unix://``,
    ``redis+cluster://``, ``redis+sentinel://`` and their TLS variants).

    Every command and every batch gives up after ``timeout`` seconds (503 upstream);
    nothing is retried, since a script that ran before its answer was lost must not run
    twice. The pool reconnects by itself, so the service recovers when Redis is back.
    """
    return client_for(parse_redis_url(url), timeout=timeout)


class Readiness:
    """Whether the store answers (for ``/readyz``)."""

    def __init__(self, client: StoreClient) -> None:
        self._client = client

    async def ready(self) -> bool:
        return bool(await self._client.ping())


class Scripts:
    """The scripts in ``lua/``, each prefixed with ``_lib.lua``, called by SHA.

    When Redis answers NOSCRIPT (a restart, a promoted replica) the script is loaded
    and the call made again. :meth:`load` warms every node's cache at start.
    """

    def __init__(self, client: StoreClient) -> None:
        prelude = (_LUA_DIR / "_lib.lua").read_text()
        self.bodies = {
            path.stem: prelude + "\n" + path.read_text()
            for path in sorted(_LUA_DIR.glob("*.lua"))
            if not path.name.startswith("_")
        }
        self.shas = {name: _sha1(body) for name, body in self.bodies.items()}
        self.client = client

    async def load(self) -> None:
        for body in self.bodies.values():
            await self.client.script_load(body)  # on Cluster: every primary

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script ``name`` (the file's stem) with ``keys`` and ``args`` alone."""
        batch = self.batch()
        batch.script(name, keys, args)
        return (await batch.run())[0]

    def batch(self) -> Batch:
        return Batch(self)


def _sha1(body: str) -> str:
    return hashlib.sha1(body.encode()).hexdigest()  # noqa: S324 - what Redis names scripts by


class Batch:
    """The commands and scripts of one step, sent together; results in queue order.

    Not a transaction: each script is atomic on its own, and the commands beside it are
    counters, pointers and events that need no atomicity with it.
    """

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts
        self._pipe: Pipeline | ClusterPipeline = scripts.client.pipeline(transaction=False)
        self._calls: list[tuple[str, list[str], list[Any]] | None] = []
        self._waits = 0

    def __len__(self) -> int:
        return len(self._calls)

    def script(self, name: str, keys: list[str], args: list[Any]) -> int:
        """Queue script ``name``; returns the index of its result."""
        sha = self._scripts.shas[name]
        self._pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
        self._calls.append((name, keys, args))
        return len(self._calls) - 1

    def command(self, *args: Any, **options: Any) -> int:
        """Queue one plain command (``"SET", key, value, "PX", ms``)."""
        self._pipe.execute_command(*args, **options)
        self._calls.append(None)
        return len(self._calls) - 1

    async def run(self) -> list[Any]:
        """Send everything; raise the first error, after running forgotten scripts again."""
        if not self._calls:
            return []
        results = list(await self._pipe.execute(raise_on_error=False))
        if any(isinstance(result, NoScriptError) for result in results):
            results = await self._again(results)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    async def _again(self, results: list[Any]) -> list[Any]:
        """Load the scripts Redis forgot and run those calls once more, alone."""
        client = self._scripts.client
        for index, result in enumerate(results):
            call = self._calls[index] if index < len(self._calls) else None
            if isinstance(result, NoScriptError) and call is not None:
                name, keys, args = call
                await client.script_load(self._scripts.bodies[name])
                try:
                    results[index] = await client.evalsha(
                        self._scripts.shas[name], len(keys), *keys, *args
                    )
                except RedisError as exc:
                    results[index] = exc
        return results
