"""A loopback TCP proxy in front of Redis that stops chosen commands on their way.

A crash test needs the service to die at an exact point: after one Redis write and
before the next. The tap forwards every byte both ways, except a client's chunk for
which ``stop_at`` is true: that chunk (one command; redis-py writes each command in one
go) is not forwarded but kept in ``stopped``, and its connection hangs, as if the process
had died right before the write. A retry of the command on a new connection matches
again, so it never reaches Redis while the tap runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.store.embedded import free_port


@dataclass
class RedisTap:
    """What the tap stops (``stop_at`` of a client's chunk), and what it stopped."""

    stop_at: Callable[[bytes], bool]
    stopped: list[bytes] = field(default_factory=list)

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, inspect: bool
    ) -> None:
        while data := await source.read(65536):
            if inspect and self.stop_at(data):
                self.stopped.append(data)
                await asyncio.Event().wait()  # hang, like a dead process, until the tap stops
            sink.write(data)
            await sink.drain()
        sink.close()

    async def _serve(
        self, upstream: tuple[str, int], port: int, ready: threading.Event, stop: asyncio.Event
    ) -> None:
        connections: set[asyncio.Task[None]] = set()

        async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            up_reader, up_writer = await asyncio.open_connection(*upstream)
            try:
                await asyncio.gather(
                    self._pipe(reader, up_writer, inspect=True),
                    self._pipe(up_reader, writer, inspect=False),
                )
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()
                up_writer.close()
                connections.discard(task)

        server = await asyncio.start_server(connect, "127.0.0.1", port)
        ready.set()
        await stop.wait()
        server.close()
        for task in list(connections):  # the hanging ones too
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)


@contextlib.contextmanager
def redis_tap(redis_url: str, tap: RedisTap) -> Iterator[str]:
    """Run ``tap`` in front of ``redis_url``; yields the URL to give the service."""
    parts = urlsplit(redis_url)
    upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
    port = free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(tap._serve(upstream, port, ready, stop),)
    )
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the Redis tap did not start")
    try:
        yield f"redis://127.0.0.1:{port}{parts.path or '/0'}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
