"""``OTPGATE_REDIS_URL``: one server, a Cluster or a Sentinel set, and the client for it.

The notation is the `limits` library's: ``redis://[:password@]host:port/db``,
``rediss://`` (TLS), ``unix:///path?db=n``, ``redis+cluster://[:password@]h1:p1,h2:p2``
and ``redis+sentinel://[:password@]h1:p1,h2:p2/service_name``, with ``rediss+`` for TLS.
redis-py parses only the first three, so the last two are read here; the clients are
redis-py's own (``Redis``, ``RedisCluster``, ``Sentinel.master_for``).

Every command gives up after the timeout, through ``asyncio.timeout`` around the command
rather than redis-py's ``socket_timeout``, which wraps every send in ``asyncio.wait_for``
(a task per command, a third of the client's cost here). Nothing is retried: a script
whose answer was lost may have run, and must not run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.redis_url import RedisTarget, parse_redis_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["RedisTarget", "client_for", "deadline", "parse_redis_url"]


@contextlib.asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """``asyncio.timeout`` that ends as a Redis ``TimeoutError`` (answered 503)."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise RedisTimeoutError("Redis did not answer in time") from None


class _TimedPipeline(Pipeline):
    otpgate_timeout: float = 2.0

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        async with deadline(self.otpgate_timeout):
            return await super().execute(raise_on_error)


class _TimedRedis(Redis):
    otpgate_timeout: float = 2.0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        async with deadline(self.otpgate_timeout):
            return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> _TimedPipeline:
        pipe = _TimedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.otpgate_timeout = self.otpgate_timeout
        return pipe


class _TimedClusterPipeline(ClusterPipeline):
    """A cluster pipeline with a deadline, which forgets the slot map when a node failed.

    redis-py refreshes the map (``aclose()``, then ``initialize()`` on next use) only on
    its pipeline retry path, which otpgate turns off (a lost answer is not a change that
    did not happen); without it, a pipeline keeps going to a dead master after its
    replica took over. So a failed node's error does here what redis-py's retry does,
    and the next request finds the new master.
    """

    otpgate_timeout: float = 2.0

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        cluster = self.cluster_client
        try:
            async with deadline(self.otpgate_timeout):
                results = await super().execute(raise_on_error, allow_redirections)
        except (*RedisCluster.ERRORS_ALLOW_RETRY, RedisTimeoutError):
            await cluster.aclose()
            raise
        if any(isinstance(r, RedisCluster.ERRORS_ALLOW_RETRY) for r in results):
            await cluster.aclose()
        return results


class _TimedCluster(RedisCluster):
    otpgate_timeout: float = 2.0

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with deadline(self.otpgate_timeout):
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> _TimedClusterPipeline:
        pipe = _TimedClusterPipeline(self, transaction)  # type: ignore[abstract]
        pipe.otpgate_timeout = self.otpgate_timeout
        return pipe


def client_for(target: RedisTarget, *, timeout: float) -> Redis | RedisCluster:
    """redis-py's client for ``target``; every command gives up after ``timeout`` s."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if target.kind == "single":
        client: Redis | RedisCluster = _TimedRedis.from_url(
            target.url, health_check_interval=30, **options
        )
    elif target.kind == "cluster":
        client = _TimedCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
            username=target.username, password=target.password, ssl=target.tls, **options,
        )  # fmt: skip
    else:
        auth = {"username": target.username, "password": target.password}
        sentinel = Sentinel(
            list(target.hosts),
            sentinel_kwargs={**auth, "ssl": target.tls, "socket_connect_timeout": timeout},
            ssl=target.tls, health_check_interval=30, **auth, **options,
        )  # fmt: skip
        # The primary only: a throttle or a code must never be read from a stale replica.
        client = sentinel.master_for(target.service, redis_class=_TimedRedis)
    client.otpgate_timeout = timeout  # type: ignore[union-attr]
    return client
