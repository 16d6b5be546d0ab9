"""The local Redis Cluster and Sentinel set: their shape, redis-py's clients on them, and
failover after a node is killed. Every node runs on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import MovedError, RedisClusterException
from redis.retry import Retry

from app.store.topologies import SLOTS, LocalCluster, LocalSentinel

CODE_KEY = "{v:01J0TOPOLOGY}:code"


@asynccontextmanager
async def cluster_client(cluster: LocalCluster, **options: object) -> AsyncIterator[RedisCluster]:
    nodes = [ClusterNode(host, port) for host, port in cluster.startup_nodes]
    client = RedisCluster(startup_nodes=nodes, decode_responses=True, **options)
    try:
        yield client
    finally:
        await client.aclose()


def sentinel_client(topology: LocalSentinel, password: str | None = None) -> Sentinel:
    # No retry on the sentinels: redis-py's default retries a refused password with
    # backoff, and MasterNotFoundError would come only after ~10 s.
    no_retry = Retry(NoBackoff(), 0)
    return Sentinel(
        topology.sentinel_addresses,
        sentinel_kwargs={"password": password, "socket_timeout": 1.0, "retry": no_retry},
        password=password,
        socket_timeout=1.0,
        decode_responses=True,
    )


# -- Cluster ------------------------------------------------------------------------------


def test_a_cluster_has_three_masters_covering_every_slot_and_a_replica_of_each(
    empty_cluster: LocalCluster,
) -> None:
    members = empty_cluster.members()
    masters = [m for m in members if m.is_master]
    replicas = [m for m in members if not m.is_master]

    assert len(masters) == 3
    assert all(sum(m.serves(slot) for m in masters) == 1 for slot in range(SLOTS))
    assert sorted(r.master_id for r in replicas) == sorted(m.id for m in masters)
    assert empty_cluster.url == "redis+cluster://" + ",".join(
        f"127.0.0.1:{node.port}" for node in empty_cluster.nodes
    )


async def test_a_key_lands_on_the_master_of_its_slot(empty_cluster: LocalCluster) -> None:
    async with cluster_client(empty_cluster) as client:
        assert await client.set(CODE_KEY, "123456")
        assert await client.get(CODE_KEY) == "123456"

    owner = empty_cluster.master_for_slot(key_slot(CODE_KEY.encode()))
    assert owner.command("GET", CODE_KEY) == "123456"
    for other in empty_cluster.masters():
        if other is not owner:
            with pytest.raises(MovedError):
                other.command("GET", CODE_KEY)


async def test_killing_the_master_of_a_slot_promotes_its_replica(
    empty_cluster: LocalCluster,
) -> None:
    slot = key_slot(CODE_KEY.encode())
    async with cluster_client(empty_cluster) as client:
        await client.set(CODE_KEY, "123456")
        empty_cluster.wait_replicated()

        killed = empty_cluster.kill_master(slot=slot)
        successor = empty_cluster.wait_for_failover(timeout=15)

        assert successor is not killed
        assert empty_cluster.master_for_slot(slot) is successor
        # The client's first try goes to the dead master; it refreshes its slot map and
        # retries (3 times by default) within the same call.
        assert await client.get(CODE_KEY) == "123456"


def test_a_killed_master_rejoins_as_a_replica_of_its_successor(
    empty_cluster: LocalCluster,
) -> None:
    killed = empty_cluster.kill_master(0)
    successor = empty_cluster.wait_for_failover(timeout=15)

    empty_cluster.restart(killed)
    empty_cluster.wait_ready(timeout=15)

    assert killed in empty_cluster.replicas()
    assert killed.info("replication")["master_port"] == successor.port


# -- Sentinel -----------------------------------------------------------------------------


async def test_the_sentinels_report_the_primary(empty_sentinel: LocalSentinel) -> None:
    sentinel = sentinel_client(empty_sentinel)

    assert await sentinel.discover_master("otpgate") == empty_sentinel.primary().address
    assert empty_sentinel.primary().command("ROLE")[0] == "master"
    assert [node.command("ROLE")[0] for node in empty_sentinel.replicas()] == ["slave", "slave"]
    assert (
        empty_sentinel.url
        == "redis+sentinel://"
        + ",".join(f"127.0.0.1:{node.port}" for node in empty_sentinel.sentinels)
        + "/otpgate"
    )


async def test_master_for_writes_and_reads_on_the_primary(empty_sentinel: LocalSentinel) -> None:
    primary = sentinel_client(empty_sentinel).master_for("otpgate")

    assert await primary.set(CODE_KEY, "123456")
    assert await primary.get(CODE_KEY) == "123456"
    assert empty_sentinel.primary().command("GET", CODE_KEY) == "123456"
    await primary.aclose()


async def test_killing_the_primary_promotes_a_replica(empty_sentinel: LocalSentinel) -> None:
    primary = sentinel_client(empty_sentinel).master_for("otpgate")
    await primary.set(CODE_KEY, "123456")
    empty_sentinel.wait_replicated()

    killed = empty_sentinel.kill_primary()
    successor = empty_sentinel.wait_for_failover(timeout=20)

    assert successor is not killed
    assert successor.command("ROLE")[0] == "master"
    # master_for's client has no retry: its pooled connection to the dead primary fails
    # once, then it asks the sentinels again.
    with pytest.raises(redis.ConnectionError):
        await primary.get(CODE_KEY)
    assert await primary.get(CODE_KEY) == "123456"
    await primary.aclose()


# -- Passwords ----------------------------------------------------------------------------


async def test_a_cluster_with_a_password_refuses_a_client_without_it(tmp_path: Path) -> None:
    with LocalCluster(tmp_path, replicas_per_master=0, password="s3cret") as cluster:
        assert cluster.url.startswith("redis+cluster://:s3cret@127.0.0.1:")
        with pytest.raises(redis.AuthenticationError):
            cluster.nodes[0].client(password=None).ping()
        with pytest.raises(redis.AuthenticationError):
            cluster.nodes[0].client(password="wrong").ping()
        async with cluster_client(cluster) as anonymous:
            with pytest.raises(RedisClusterException, match="Authentication required"):
                await anonymous.set(CODE_KEY, "123456")

        async with cluster_client(cluster, password="s3cret") as client:
            assert await client.set(CODE_KEY, "123456")
            assert await client.get(CODE_KEY) == "123456"


async def test_a_sentinel_set_with_a_password_refuses_a_client_without_it(
    tmp_path: Path,
) -> None:
    with LocalSentinel(tmp_path, replicas=1, sentinels=1, password="s3cret") as topology:
        assert (
            topology.url
            == f"redis+sentinel://:s3cret@127.0.0.1:{topology.sentinels[0].port}/otpgate"
        )
        for node in (topology.sentinels[0], topology.primary()):
            with pytest.raises(redis.AuthenticationError):
                node.client(password=None).ping()
        with pytest.raises(MasterNotFoundError):
            await sentinel_client(topology).master_for("otpgate").set(CODE_KEY, "123456")

        primary = sentinel_client(topology, password="s3cret").master_for("otpgate")
        assert await primary.set(CODE_KEY, "123456")
        assert await primary.get(CODE_KEY) == "123456"
        await primary.aclose()
