"""The load generators' own parts: what they send must be what they claim to send."""

from __future__ import annotations

import asyncio
import itertools

import phonenumbers
import pytest

from bench.bench import phone_numbers
from bench.lean_http import LeanClient, LeanHTTPError


def test_the_bench_numbers_are_distinct_valid_mobile_numbers() -> None:
    numbers = list(itertools.islice(phone_numbers(), 5000))
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE


async def _serve(replies: list[bytes]) -> tuple[asyncio.Server, list[bytes]]:
    """An HTTP/1.1 server on loopback answering each request with the next reply."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while replies:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")), 0,
            )  # fmt: skip
            received.append(head + await reader.readexactly(length))
            writer.write(replies.pop(0))
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), received


async def test_the_lean_client_reads_sized_and_chunked_bodies_on_one_connection() -> None:
    server, received = await _serve([
        b'HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{"id":"v1"}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"ok"\r\n6\r\n:true}\r\n0\r\n\r\n',
    ])  # fmt: skip
    port = server.sockets[0].getsockname()[1]
    async with server, LeanClient(f"http://127.0.0.1:{port}", max_connections=1, timeout=5) as c:
        sent = await c.post("/v1/verifications", json={"to": "+1"}, headers={"X-A": "b"})
        assert (sent.status_code, sent.reason_phrase, sent.json()) == (201, "Created", {"id": "v1"})
        checked = await c.get("/q", params={"to": "+86 1"})
        assert checked.status_code == 200 and checked.json() == {"ok": True}
    first, second = received
    assert first.startswith(b"POST /v1/verifications HTTP/1.1\r\n")
    assert b"\r\nX-A: b\r\n" in first and first.endswith(b'{"to":"+1"}')
    assert second.startswith(b"GET /q?to=%2B86+1 HTTP/1.1\r\n")


async def test_the_lean_client_reports_a_broken_answer_as_its_error() -> None:
    server, _ = await _serve([b"SSH-2.0-not-http\r\n\r\n"])
    port = server.sockets[0].getsockname()[1]
    async with server, LeanClient(f"http://127.0.0.1:{port}", max_connections=1, timeout=5) as c:
        with pytest.raises(LeanHTTPError):
            await c.get("/")
