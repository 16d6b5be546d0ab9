"""Commands written at once on one of redis-py's pooled connections, replies read back.

The single-server (and Sentinel primary) path of :class:`app.store.redis.Batch`; in a
traced request each exchange is one client span (:mod:`app.store.spans`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hiredis
from redis.exceptions import ResponseError

from app.store.spans import command_names, round_trip, server_of, settle
from app.store.urls import deadline
from app.tracing.spans import child_tracer, client_span

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.trace import Span
    from redis.asyncio import Redis

__all__ = ["Connections"]


class Connections:
    """redis-py's pooled connections to one server, and the idle ones kept at hand.

    Taking a connection from redis-py's pool costs more CPU than the round trip it is
    for (a lock, observability records, a probing read), so connections a batch gave
    back wait in a list for the next one. A connection the server closed while it
    waited (its reader has seen the end of the stream) goes back to the pool, which
    reconnects; nothing was sent on it, so nothing is lost or sent twice.
    """

    def __init__(self, client: Redis, scripts: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._scripts = scripts or {}  # SHA -> the script's name, for spans
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
        tracer = child_tracer()
        if tracer is None:
            async with deadline(self._timeout):
                return await self._exchange(commands)
        with client_span(tracer, *round_trip(command_names(commands, self._scripts))) as span:
            async with deadline(self._timeout):
                results = await self._exchange(commands, span)
            settle(span, results)
            return results

    async def _exchange(
        self, commands: list[tuple[Any, ...]], span: Span | None = None
    ) -> list[Any]:
        connection = await self._take()
        if span is not None:
            span.set_attributes(server_of(connection))
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
