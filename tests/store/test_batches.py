"""Batches on one server: the kept connections, replies matched to their commands."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.store.redis import Scripts, connect


async def test_a_batch_answers_each_command_in_order(redis: Redis) -> None:
    batch = Scripts(redis).batch()
    batch.command("SET", "a", "1")
    batch.command("INCR", "a")
    batch.command("GET", "a")
    batch.command("HSET", "h", "f", "v")
    assert await batch.run() == [True, 2, "2", 1]  # redis-py's reply parsing kept


async def test_an_error_reply_is_raised_after_every_command_ran(redis: Redis) -> None:
    await redis.set("text", "x")
    batch = Scripts(redis).batch()
    batch.command("INCR", "text")  # not a number
    batch.command("SET", "after", "1")
    with pytest.raises(ResponseError):
        await batch.run()
    assert await redis.get("after") == "1"


async def test_connections_the_server_closed_while_idle_are_replaced(
    redis: Redis, redis_url: str
) -> None:
    client = connect(redis_url, timeout=2)
    scripts = Scripts(client)
    try:
        for _ in range(3):
            batch = scripts.batch()
            batch.command("INCR", "n")
            await batch.run()
        killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert killed >= 1
        batch = scripts.batch()
        batch.command("INCR", "n")
        assert await batch.run() == [4]  # no ConnectionError: nothing had been sent on it
    finally:
        await client.aclose()


async def test_a_batch_that_timed_out_leaves_no_reply_for_the_next(
    redis: Redis, redis_url: str
) -> None:
    client = connect(redis_url, timeout=0.2)
    scripts = Scripts(client)
    try:
        slow = scripts.batch()
        slow.command("BLPOP", "empty", "1")  # answers nil after 1 s, past the deadline
        with pytest.raises(RedisTimeoutError):
            await slow.run()
        await redis.set("k", "v")
        batch = scripts.batch()
        batch.command("GET", "k")
        assert await batch.run() == ["v"]  # not the late nil of the BLPOP
    finally:
        await client.aclose()
