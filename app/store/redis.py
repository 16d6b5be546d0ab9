"""The Redis client (one server, Cluster or Sentinel, from one URL), the Lua scripts, and
batches: the commands and scripts of one step of a request, sent in one round trip.

On one server (or Sentinel's primary) a batch is one write of hiredis-packed commands
on one of redis-py's pooled connections and one read of their replies. On Cluster it is
redis-py's cluster pipeline, which splits it by node and sends every node's part at
once, so a step costs one round trip per node, in parallel. Scripts go in as raw
``EVALSHA`` commands: redis-py refuses its ``Script`` objects in cluster pipelines, not
the command itself.

Why not redis-py's ``Pipeline`` on one server: it packs in pure Python and resets,
watches and wraps each call; for the few small commands of a step that was twice the
CPU of the round trip itself (``bench/`` profile). The connection, its pool, its reply
parser, reconnection and Sentinel's failover handling stay redis-py's.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError, ResponseError

from app.store.urls import client_for, deadline, parse_redis_url

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
    """The scripts in ``lua/``, each prefixed with the ``_lib.lua`` functions it calls,
    called by SHA.

    When Redis answers NOSCRIPT (a restart, a promoted replica) the script is loaded
    and the call made again. :meth:`load` warms every node's cache at start.
    """

    def __init__(self, client: StoreClient) -> None:
        library = _library((_LUA_DIR / "_lib.lua").read_text())
        self.bodies = {
            path.stem: _with_library(path.read_text(), library)
            for path in sorted(_LUA_DIR.glob("*.lua"))
            if not path.name.startswith("_")
        }
        self.shas = {name: _sha1(body) for name, body in self.bodies.items()}
        self.client = client
        self.connections = None if isinstance(client, RedisCluster) else _Connections(client)

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


_FUNCTION = re.compile(r"^local function (\w+)\(", re.MULTILINE)


def _library(text: str) -> dict[str, str]:
    """``_lib.lua`` as its functions by name (comment lines left out: they document the
    file, and Redis would only skip them)."""
    starts = [match.start() for match in _FUNCTION.finditer(text)]
    chunks: dict[str, str] = {}
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        lines = [line for line in text[start:end].splitlines() if not line.startswith("--")]
        body = "\n".join(lines).strip()
        chunks[_FUNCTION.match(body).group(1)] = body  # type: ignore[union-attr]
    return chunks


def _with_library(script: str, library: dict[str, str]) -> str:
    """``script`` after the library functions it calls, and the ones those call, in the
    library's order: a script's body runs on every call and defines each function it
    holds, so an unused one would cost every call its definition."""
    needed: set[str] = set()
    pending = [script]
    while pending:
        text = pending.pop()
        for name, body in library.items():
            if name not in needed and re.search(rf"\b{name}\(", text):
                needed.add(name)
                pending.append(body)
    prelude = [body for name, body in library.items() if name in needed]
    return "\n\n".join([*prelude, script])


def _sha1(body: str) -> str:
    return hashlib.sha1(body.encode()).hexdigest()  # noqa: S324 - what Redis names scripts by


class Batch:
    """The commands and scripts of one step, sent together; results in queue order.

    Not a transaction: each script is atomic on its own, and the commands beside it are
    counters, pointers and events that need no atomicity with it.
    """

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts
        self._commands: list[tuple[Any, ...]] = []
        self._calls: list[tuple[str, list[str], list[Any]] | None] = []

    def __len__(self) -> int:
        return len(self._calls)

    def script(self, name: str, keys: list[str], args: list[Any]) -> int:
        """Queue script ``name``; returns the index of its result."""
        sha = self._scripts.shas[name]
        self._commands.append(("EVALSHA", sha, len(keys), *keys, *args))
        self._calls.append((name, keys, args))
        return len(self._calls) - 1

    def command(self, *args: Any) -> int:
        """Queue one plain command (``"SET", key, value, "PX", ms``)."""
        self._commands.append(args)
        self._calls.append(None)
        return len(self._calls) - 1

    async def run(self) -> list[Any]:
        """Send everything; raise the first error, after running forgotten scripts again."""
        if not self._calls:
            return []
        client, connections = self._scripts.client, self._scripts.connections
        if connections is None:
            pipe = client.pipeline(transaction=False)
            for command in self._commands:
                pipe.execute_command(*command)
            results = list(await pipe.execute(raise_on_error=False))
        else:
            results = await connections.exchange(self._commands)
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


class _Connections:
    """redis-py's pooled connections to one server, and the idle ones kept at hand.

    Taking a connection from redis-py's pool costs more CPU than the round trip it is
    for (a lock, observability records, a probing read), so connections a batch gave
    back wait in a list for the next one. A connection the server closed while it
    waited (its reader has seen the end of the stream) goes back to the pool, which
    reconnects; nothing was sent on it, so nothing is lost or sent twice.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._pool = client.connection_pool
        self._idle: list[Any] = []
        # connect()'s clients carry their timeout; a bare client (a test's) gets 2 s
        self._timeout: float = getattr(client, "otpgate_timeout", 2.0)

    async def _take(self) -> Any:
        while self._idle:
            connection = self._idle.pop()
            reader = getattr(connection, "_reader", None)  # redis-py's asyncio.StreamReader
            if connection.is_connected and reader is not None and not reader.at_eof():
                return connection
            await self._pool.release(connection)
        return await self._pool.get_connection()

    async def exchange(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Write ``commands`` at once and read their replies; an error reply stands in
        its place. Any other failure drops the connection (its replies could no longer
        be matched to their commands) and is raised."""
        async with deadline(self._timeout):
            return await self._exchange(commands)

    async def _exchange(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        connection = await self._take()
        try:
            await connection.send_packed_command(b"".join(map(hiredis.pack_command, commands)))
            results: list[Any] = []
            for command in commands:
                try:
                    reply = await connection.read_response()
                except ResponseError as error:
                    results.append(error)
                    continue
                parse = self._client.response_callbacks.get(command[0])
                results.append(parse(reply) if parse is not None else reply)
        except BaseException:
            await connection.disconnect(nowait=True)
            await self._pool.release(connection)
            raise
        self._idle.append(connection)
        return results
