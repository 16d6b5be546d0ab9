"""A small HTTP/1.1 keep-alive client for the load generators, so that the client's own
CPU does not crowd out the servers it measures.

On this 2-core machine httpx spent about 8 ms of CPU per verification flow (two
requests), as much as a server under test; this client spends a fraction of that. It
speaks only what the benchmarks need: one request at a time per connection, bodies by
``Content-Length`` or chunked, no redirects, no TLS, no proxies. Every target is driven
by the same client, so it favours none.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

__all__ = ["LeanClient", "LeanHTTPError", "LeanResponse"]

_json = msgspec.json.Encoder()
_FAILURES = (
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ValueError,
)
_decode = msgspec.json.Decoder()


class LeanHTTPError(Exception):
    """The connection failed, timed out or answered something that is not HTTP/1.1."""


class LeanResponse:
    """What httpx's ``Response`` offers that the benchmarks read."""

    __slots__ = ("content", "headers", "reason_phrase", "status_code")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.reason_phrase = reason
        self.headers = headers
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        try:
            return _decode.decode(self.content)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from exc


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> LeanResponse:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise LeanHTTPError(f"not an HTTP/1.1 status line: {status_line!r}")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return LeanResponse(int(code), reason, headers, body)

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent to us
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """Up to ``max_connections`` keep-alive connections to ``base_url`` (http only)."""

    def __init__(self, base_url: str, *, max_connections: int, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"LeanClient speaks http://host:port only, not {base_url!r}")
        self._host, self._port = parts.hostname, parts.port
        self._host_header = f"Host: {parts.hostname}:{parts.port}\r\n".encode()
        self._timeout = timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def get(
        self, path: str, *, params: dict[str, str] | None = None, headers: Any = None
    ) -> LeanResponse:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, None, headers)

    async def post(self, path: str, *, json: Any = None, headers: Any = None) -> LeanResponse:
        return await self.request("POST", path, _json.encode(json), headers)

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> LeanResponse:
        lines = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}\r\n".encode())
        if body is not None:
            lines.append(b"Content-Type: application/json\r\n")
            lines.append(f"Content-Length: {len(body)}\r\n".encode())
        lines.append(b"\r\n")
        if body:
            lines.append(body)
        request = b"".join(lines)
        async with self._slots:
            connection = self._idle.pop() if self._idle else None
            try:
                async with asyncio.timeout(self._timeout):
                    if connection is None:
                        connection = _Connection(
                            *await asyncio.open_connection(self._host, self._port)
                        )
                    response = await connection.exchange(request)
            except _FAILURES as exc:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
                raise LeanHTTPError(f"{type(exc).__name__}: {exc}") from exc
            if response.headers.get("connection", "").lower() == "close":
                connection.close()
            else:
                self._idle.append(connection)
            return response
