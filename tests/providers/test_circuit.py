"""The circuit breaker's rules, on a real Redis: consecutive failures, error rate,
one probe at a time, and what a probe's outcome does."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from app.providers.circuit import CircuitBreaker, CircuitSettings
from app.store.redis import Scripts

pytestmark = pytest.mark.topologies


def breaker(redis: Redis, **settings: float) -> CircuitBreaker:
    return CircuitBreaker(redis, Scripts(redis), CircuitSettings(**settings))  # type: ignore[arg-type]


async def fail(circuit: CircuitBreaker, times: int, provider: str = "p") -> str:
    state = "closed"
    for _ in range(times):
        state = await circuit.record(provider, ok=False, latency_ms=5)
    return state


async def test_opens_after_consecutive_failures_only(redis: Redis) -> None:
    circuit = breaker(redis, failures=3)
    assert await fail(circuit, 2) == "closed"
    await circuit.record("p", ok=True, latency_ms=5)  # a success resets the streak
    assert await fail(circuit, 2) == "closed"
    assert await fail(circuit, 1) == "open"
    assert not await circuit.allow("p")
    assert await circuit.allow("other")  # circuits are per provider


async def test_opens_on_the_error_rate_over_the_window(redis: Redis) -> None:
    circuit = breaker(redis, failures=100, error_rate=0.5, min_requests=10)
    for n in range(9):  # alternate: never two failures in a row
        await circuit.record("p", ok=n % 2 == 0, latency_ms=5)
    health = await circuit.health("p")
    assert (health.state, health.attempts) == ("closed", 9)
    assert await circuit.record("p", ok=False, latency_ms=5) == "open"  # 5 of 10 failed


async def test_half_open_lets_one_probe_through_at_a_time(redis: Redis) -> None:
    circuit = breaker(redis, failures=1, open_for=0.2, probe_timeout=5)
    await fail(circuit, 1)
    assert not await circuit.allow("p")
    await asyncio.sleep(0.25)
    allowed = await asyncio.gather(*(circuit.allow("p") for _ in range(10)))
    assert allowed.count(True) == 1
    assert (await circuit.health("p")).state == "half_open"


async def test_a_probe_that_fails_opens_again_and_one_that_succeeds_closes(redis: Redis) -> None:
    circuit = breaker(redis, failures=1, open_for=0.2)
    await fail(circuit, 1)
    await asyncio.sleep(0.25)
    assert await circuit.allow("p")
    assert await fail(circuit, 1) == "open"
    assert not await circuit.allow("p")
    await asyncio.sleep(0.25)
    assert await circuit.allow("p")
    assert await circuit.record("p", ok=True, latency_ms=5) == "closed"
    assert await circuit.allow("p")
    health = await circuit.health("p")
    assert health.consecutive_failures == 0
    assert health.attempts == 0  # closing forgets the window that opened it


async def test_a_probe_that_never_reports_is_replaced(redis: Redis) -> None:
    circuit = breaker(redis, failures=1, open_for=0.1, probe_timeout=0.2)
    await fail(circuit, 1)
    await asyncio.sleep(0.15)
    assert await circuit.allow("p")  # this probe's worker dies
    assert not await circuit.allow("p")
    await asyncio.sleep(0.25)
    assert await circuit.allow("p")


async def test_health_reports_latency_percentiles(redis: Redis) -> None:
    circuit = breaker(redis)
    for latency in range(1, 101):
        await circuit.record("p", ok=True, latency_ms=latency)
    health = await circuit.health("p")
    assert health.success_rate == 1.0
    assert health.p50_ms == 51 and health.p95_ms == 96
