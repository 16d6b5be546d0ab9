"""The Redis client and the Lua scripts that make every state change atomic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from limits.aio.storage import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.asyncio.client import Pipeline
    from redis.commands.core import AsyncScript

__all__ = ["Readiness", "Scripts", "connect", "limits_storage"]

_LUA_DIR = Path(__file__).parent / "lua"


def connect(url: str, *, timeout: float) -> Redis:
    """A pooled client for ``url``; commands fail fast when Redis does not answer.

    The pool reconnects by itself, so the service recovers as soon as Redis is back.
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )


def limits_storage(url: str, *, timeout: float) -> RedisStorage:
    """The `limits` library's async Redis storage on the same server, over redis-py."""
    scheme, rest = url.split("://", 1)
    limits_scheme = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}
    if scheme not in limits_scheme:
        raise ValueError(f"unsupported Redis URL scheme {scheme!r}")
    return RedisStorage(
        f"{limits_scheme[scheme]}://{rest}",
        implementation="redispy",
        key_prefix=Keys.LIMITS_PREFIX,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


class Readiness:
    """Whether the store answers (for ``/readyz``)."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def ready(self) -> bool:
        return bool(await self._client.ping())


class Scripts:
    """The scripts in ``lua/``, each prefixed with ``_lib.lua``.

    redis-py's ``register_script`` calls them by SHA and reloads a script when Redis
    answers NOSCRIPT (after a restart or SCRIPT FLUSH); :meth:`load` warms the cache at
    start so the first request does not pay for it.
    """

    def __init__(self, client: Redis) -> None:
        prelude = (_LUA_DIR / "_lib.lua").read_text()
        self._scripts: dict[str, AsyncScript] = {
            path.stem: client.register_script(prelude + "\n" + path.read_text())
            for path in sorted(_LUA_DIR.glob("*.lua"))
            if not path.name.startswith("_")
        }
        self._client = client

    async def load(self) -> None:
        for script in self._scripts.values():
            await self._client.script_load(script.script)

    async def run(self, name: str, keys: list[str], args: list[Any]) -> list[Any]:
        """Run script ``name`` (the file's stem) with ``keys`` and ``args``."""
        return await self._scripts[name](keys=keys, args=args)

    async def run_many(self, name: str, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """Run script ``name`` once per ``(keys, args)``, all in one round trip (not one
        transaction: each call is atomic on its own). Results in the order of ``calls``."""
        if not calls:
            return []
        script = self._scripts[name]
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        if any(isinstance(result, NoScriptError) for result in results):
            # Redis forgot the script (a restart): load it, then run what did not run.
            await self._client.script_load(script.script)
            for index, result in enumerate(results):
                if isinstance(result, NoScriptError):
                    results[index] = await self.run(name, *calls[index])
        for result in results:
            if isinstance(result, Exception):
                raise result
        return list(results)

    async def run_with(
        self,
        name: str,
        keys: list[str],
        args: list[Any],
        queue: Callable[[Pipeline], object],
    ) -> Any:
        """Run script ``name`` and the commands ``queue`` adds to a pipeline, in one round
        trip (not one transaction: the commands are counters and pointers that need no
        atomicity with the script). Returns the script's result.

        redis-py only reloads scripts on NOSCRIPT outside pipelines, so a script Redis
        has forgotten runs again on its own; the other commands ran already.
        """
        script = self._scripts[name]
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            queue(pipe)
            results = await pipe.execute(raise_on_error=False)
        for failure in results[1:]:
            if isinstance(failure, Exception):
                raise failure
        first = results[0]
        if isinstance(first, NoScriptError):
            return await self.run(name, keys, args)
        if isinstance(first, Exception):
            raise first
        return first
