"""The Redis client (one server, Cluster or Sentinel, from one URL), the Lua scripts, and
batches: the commands and scripts of one step of a request, sent in one round trip.

On one server (or Sentinel's primary) a batch is one write of hiredis-packed commands
on one of redis-py's pooled connections and one read of their replies. On Cluster it is
redis-py's cluster pipeline, which splits it by node and sends every node's part at
once, so a step costs one round trip per node, in parallel. Scripts go in as raw
``EVALSHA`` commands: redis-py refuses its ``Script`` objects in cluster pipelines, not
the command itself.

With ``redis_wait_replicas`` set, a batch that runs a script clients are told the outcome
of (:data:`DURABLE`) ends with ``WAIT`` on the connection that ran it (on Cluster: on each
node's connection of the pipeline), since ``WAIT`` counts the replicas that have every
earlier write of its own connection; fewer acknowledgements than asked raise
:class:`NotReplicated` (503). ``WAIT`` does not undo: the change stands on the primary and
may or may not survive a failover, which is what the 503 tells the client.

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

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    NoScriptError,
    ReadOnlyError,
    RedisClusterException,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.store.connections import Connections
from app.store.spans import cluster_nodes, command_names, round_trip, settle
from app.store.urls import client_for, parse_redis_url
from app.tracing.spans import child_tracer, client_span

__all__ = [
    "DURABLE",
    "UNAVAILABLE",
    "Batch",
    "NotReplicated",
    "Readiness",
    "Scripts",
    "StoreClient",
    "connect",
    "parse_redis_url",
]

_LUA_DIR = Path(__file__).parent / "lua"
StoreClient = Redis | RedisCluster
#: The scripts whose outcome a client is told: create and resend, an attempt's
#: reservation, approval or denial, cancellation, approval without a code, a TOTP code
#: accepted or refused.
DURABLE = frozenset({"send", "reserve_attempt", "conclude", "cancel", "approve", "factor_check"})


class NotReplicated(RedisConnectionError):
    """Fewer replicas than ``redis_wait_replicas`` acknowledged a change in time."""


#: What Redis raises while it cannot serve: down, timed out, failing over (a Cluster
#: slot without its master, a Sentinel's demoted primary), or not replicated. The edge
#: answers them 503 ``store_unavailable``; anything else is a bug (500).
UNAVAILABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    MasterDownError,
    ReadOnlyError,
    RedisClusterException,
)


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

    def __init__(
        self, client: StoreClient, *, wait_replicas: int = 0, wait_timeout: float = 0.5
    ) -> None:
        self.wait_replicas = wait_replicas
        self.wait_ms = max(1, round(wait_timeout * 1000))
        library = _library((_LUA_DIR / "_lib.lua").read_text())
        self.bodies = {
            path.stem: _with_library(path.read_text(), library)
            for path in sorted(_LUA_DIR.glob("*.lua"))
            if not path.name.startswith("_")
        }
        self.shas = {name: _sha1(body) for name, body in self.bodies.items()}
        self.names = {sha: name for name, sha in self.shas.items()}
        self.client = client
        self.connections = (
            None if isinstance(client, RedisCluster) else Connections(client, self.names)
        )

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
        """Send everything; raise the first error, after running forgotten scripts again
        (and :class:`NotReplicated` when a durable change was not acknowledged)."""
        if not self._calls:
            return []
        results, acknowledged = await self._send()
        if any(isinstance(result, NoScriptError) for result in results):
            results = await self._again(results)
        for result in results:
            if isinstance(result, Exception):
                raise result
        if acknowledged is not None and acknowledged < self._scripts.wait_replicas:
            raise NotReplicated(
                f"{acknowledged} of {self._scripts.wait_replicas} replicas acknowledged in "
                f"{self._scripts.wait_ms} ms"
            )
        return results

    def _durable_keys(self) -> list[str]:
        """The first key of each durable script queued (on Cluster, where it runs)."""
        if not self._scripts.wait_replicas:
            return []
        return [c[1][0] for c in self._calls if c is not None and c[0] in DURABLE and c[1]]

    async def _send(self) -> tuple[list[Any], int | None]:
        """The replies in queue order, and the fewest replicas any ``WAIT`` counted."""
        client, connections = self._scripts.client, self._scripts.connections
        durable = self._durable_keys()
        wait = ("WAIT", self._scripts.wait_replicas, self._scripts.wait_ms)
        if connections is not None:
            results = await connections.exchange([*self._commands, *([wait] if durable else [])])
        else:
            assert isinstance(client, RedisCluster)
            results = await self._on_cluster(client, durable, wait)
        waits = results[len(self._commands) :]
        del results[len(self._commands) :]
        counted = [w for w in waits if isinstance(w, int)]
        if len(counted) < len(waits):  # a WAIT failed: the node is gone
            raise next(w for w in waits if isinstance(w, Exception))
        return results, min(counted) if counted else None

    async def _on_cluster(
        self, client: RedisCluster, durable: list[str], wait: tuple[Any, ...]
    ) -> list[Any]:
        """The replies of redis-py's cluster pipeline (one part per node, sent at once);
        in a traced request one span over all the parts, naming the nodes."""
        pipe = client.pipeline(transaction=False)
        for command in self._commands:
            pipe.execute_command(*command)
        found = [client.get_node_from_key(key) for key in durable]
        nodes = {node.name: node for node in found if node is not None}
        for node in nodes.values():  # after the node's scripts, on its connection
            pipe.execute_command(*wait, target_nodes=node)
        tracer = child_tracer()
        if tracer is None:
            return list(await pipe.execute(raise_on_error=False))
        names = [*command_names(self._commands, self._scripts.names), *["WAIT"] * len(nodes)]
        with client_span(tracer, *round_trip(names)) as span:
            span.set_attributes(cluster_nodes(client, self._commands, set(nodes)))
            results = list(await pipe.execute(raise_on_error=False))
            settle(span, results)
        return results

    async def _again(self, results: list[Any]) -> list[Any]:
        """Load the scripts Redis forgot and run those calls once more, in a batch of their
        own (so that a durable one is waited for too)."""
        again = Batch(self._scripts)
        positions = []
        for index, result in enumerate(results):
            call = self._calls[index]
            if isinstance(result, NoScriptError) and call is not None:
                await self._scripts.client.script_load(self._scripts.bodies[call[0]])
                again.script(*call)
                positions.append(index)
        for index, result in zip(positions, await again.run(), strict=True):
            results[index] = result
        return results
