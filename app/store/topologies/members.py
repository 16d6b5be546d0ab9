"""``CLUSTER NODES`` parsed: what a node of a Redis Cluster knows of each node."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClusterMember"]


@dataclass(frozen=True)
class ClusterMember:
    """One line of ``CLUSTER NODES``: a node as some node of the cluster sees it."""

    id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    slots: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, line: str) -> ClusterMember:
        node_id, address, flags, master_id, *_, link = line.split(" ")[:8]
        ranges = []
        for item in line.split(" ")[8:]:
            if not item.startswith("["):  # "[slot->-id]": a slot being migrated
                first, _, last = item.partition("-")
                ranges.append((int(first), int(last or first)))
        return cls(
            id=node_id,
            port=int(address.split("@")[0].rsplit(":", 1)[1]),
            flags=frozenset(flags.split(","))
            | ({"disconnected"} if link != "connected" else set()),
            master_id=None if master_id == "-" else master_id,
            slots=tuple(ranges),
        )

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failing(self) -> bool:
        """Flagged as failed (``fail``), suspected (``fail?``) or not yet met."""
        return bool(self.flags & {"fail", "fail?", "handshake", "noaddr"})

    def serves(self, slot: int) -> bool:
        return any(first <= slot <= last for first, last in self.slots)
