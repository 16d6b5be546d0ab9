"""``OTPGATE_REDIS_URL`` in every notation, and the redis-py client each one makes."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.asyncio.sentinel import SentinelConnectionPool

from app.sensitive import mask_url
from app.store.topologies import LocalCluster, LocalSentinel
from app.store.urls import RedisTarget, client_for, parse_redis_url


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("redis://127.0.0.1:6380/2", RedisTarget("single", "redis://127.0.0.1:6380/2")),
        ("unix:///run/redis.sock?db=1", RedisTarget("single", "unix:///run/redis.sock?db=1")),
        (
            "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
            RedisTarget(
                "cluster",
                "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
                (("10.0.0.1", 7000), ("10.0.0.2", 7001)),
            ),
        ),
        (
            "rediss+cluster://:p%40ss@[::1]:7000",
            RedisTarget(
                "cluster", "rediss+cluster://:p%40ss@[::1]:7000", (("::1", 7000),), None,
                "p@ss", True,
            ),
        ),
        (
            "redis+sentinel://app:pw@h1:26379,h2:26380/my%20primary",
            RedisTarget(
                "sentinel", "redis+sentinel://app:pw@h1:26379,h2:26380/my%20primary",
                (("h1", 26379), ("h2", 26380)), "app", "pw", False, "my primary",
            ),
        ),
        (
            "rediss+sentinel://h1:26379/otpgate",
            RedisTarget(
                "sentinel", "rediss+sentinel://h1:26379/otpgate", (("h1", 26379),), None,
                None, True, "otpgate",
            ),
        ),
    ],
)  # fmt: skip
def test_every_notation_is_read(url: str, target: RedisTarget) -> None:
    assert parse_redis_url(url) == target


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://h:1", "unsupported Redis URL scheme"),
        ("redis+cluster://", "at least one host:port"),
        ("redis+cluster://h1", "is not host:port"),
        ("redis+cluster://h1:port", "is not host:port"),
        ("redis+cluster://h1:70000", "is not host:port"),
        ("redis+sentinel://h1:26379", "needs the service name"),
        ("redis+sentinel://h1:26379/", "needs the service name"),
    ],
)
def test_a_bad_url_says_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_redis_url(url)


def test_passwords_in_every_notation_are_masked() -> None:
    for url in (
        "redis://:s3cret@h:6379/0",
        "redis+cluster://:s3cret@h1:7000,h2:7001",
        "rediss+sentinel://user:s3cret@h1:26379,h2:26380/otpgate",
    ):
        assert "s3cret" not in mask_url(url)
        assert "********" in mask_url(url)


async def test_tls_variants_make_tls_clients() -> None:
    cluster = client_for(parse_redis_url("rediss+cluster://h1:7000"), timeout=1.0)
    assert isinstance(cluster, RedisCluster)
    assert cluster.nodes_manager.connection_kwargs["connection_class"] is SSLConnection
    sentinel = client_for(parse_redis_url("rediss+sentinel://h1:26379/otpgate"), timeout=1.0)
    assert isinstance(sentinel, Redis)
    pool = sentinel.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert issubclass(pool.connection_class, SSLConnection)  # to the data nodes
    sentinels = pool.sentinel_manager.sentinels
    assert all(issubclass(s.connection_pool.connection_class, SSLConnection) for s in sentinels)
    await cluster.aclose()
    await sentinel.aclose()


async def test_the_clients_reach_a_cluster_and_the_sentinel_primary(
    empty_cluster: LocalCluster, empty_sentinel: LocalSentinel
) -> None:
    for url in (empty_cluster.url, empty_sentinel.url):
        client = client_for(parse_redis_url(url), timeout=2.0)
        try:
            await client.set("{t}:k", "v")
            assert await client.get("{t}:k") == "v"
        finally:
            await client.aclose()
    primary = empty_sentinel.primary()
    assert primary.command("GET", "{t}:k") == "v"  # Sentinel's client wrote to the primary
