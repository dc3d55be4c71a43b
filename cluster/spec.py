"""The cluster spec: what Kafka cluster a test runs against, as plain data.

A spec is saved in every run's test.json (`to_dict`) and read back (`from_dict`),
so a run can be reproduced. Client-side settings (acks, idempotence, isolation
level) belong to workloads, not here. Unsafe settings are first-class: they are
how a campaign proves it can see data loss.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClusterSpec", "SpecError", "KAFKA_VERSION", "PRESETS", "MAX_NODES"]

KAFKA_VERSION = "4.4.0"
MAX_NODES = 9


HEAP = re.compile(r"^[1-9][0-9]{0,11}[kKmMgG]?$")  # a JVM size, as -Xmx takes it: 512m, 2g, 536870912
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SpecError(ValueError):
    """A cluster spec that cannot be run; the message names the field and what to do."""


PRESETS: dict[str, dict[str, Any]] = {
    # Durable: every acknowledged write is on 2+ in-sync replicas, no unclean elections.
    "safe": {"replication_factor": 3, "min_insync_replicas": 2, "unclean_leader_election": False},
    # Unsafe: a single in-sync replica may acknowledge, and an out-of-sync replica may become leader.
    "unsafe": {"replication_factor": 3, "min_insync_replicas": 1, "unclean_leader_election": True},
    # Only unclean leader election enabled (min ISR 2): loss needs an unclean election.
    "unsafe-unclean": {"replication_factor": 3, "min_insync_replicas": 2, "unclean_leader_election": True},
    # Only min ISR 1: an acked write may live on the leader alone.
    "unsafe-min-isr": {"replication_factor": 3, "min_insync_replicas": 1, "unclean_leader_election": False},
}


@dataclass
class ClusterSpec:
    """A Kafka cluster in KRaft mode.

    nodes: how many nodes (1..9). controllers: "combined" (every node is broker and
    controller, or the first `controller_count` are) or "dedicated" (the first
    `controller_count` nodes are controllers only, the rest brokers only).
    replication_factor / min_insync_replicas / unclean_leader_election: broker
    defaults for new topics. broker_overrides: extra server.properties entries.
    """

    nodes: int = 3
    controllers: str = "combined"
    controller_count: int = 3
    replication_factor: int = 3
    min_insync_replicas: int = 2
    unclean_leader_election: bool = False
    broker_overrides: dict[str, str] = field(default_factory=dict)
    kafka_version: str = KAFKA_VERSION
    heap: str = "512m"

    def __post_init__(self) -> None:
        self.validate()

    # --- derived -------------------------------------------------------------
    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    @property
    def controller_nodes(self) -> list[str]:
        return self.node_names[: min(self.controller_count, self.nodes)]

    @property
    def broker_nodes(self) -> list[str]:
        if self.controllers == "dedicated":
            return self.node_names[self.controller_count :]
        return self.node_names

    def roles(self, node: str) -> list[str]:
        roles = []
        if node in self.broker_nodes:
            roles.append("broker")
        if node in self.controller_nodes:
            roles.append("controller")
        return roles

    # --- checks ---------------------------------------------------------------
    def validate(self) -> None:
        def bad(name: str, why: str) -> SpecError:
            return SpecError(f"cluster spec: {name}={getattr(self, name)!r} {why}")

        if not isinstance(self.nodes, int) or not 1 <= self.nodes <= MAX_NODES:
            raise bad("nodes", f"must be an integer from 1 to {MAX_NODES}")
        if self.controllers not in ("combined", "dedicated"):
            raise bad("controllers", 'must be "combined" or "dedicated"')
        if not isinstance(self.controller_count, int) or self.controller_count < 1:
            raise bad("controller_count", "must be at least 1")
        if self.controllers == "dedicated" and self.controller_count >= self.nodes:
            raise bad("controller_count", f"leaves no broker among {self.nodes} nodes; use more nodes or fewer controllers")
        brokers = len(self.broker_nodes)
        if not 1 <= self.replication_factor <= brokers:
            raise bad("replication_factor", f"must be from 1 to the number of brokers ({brokers})")
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise bad("min_insync_replicas", f"must be from 1 to replication_factor ({self.replication_factor})")
        if not isinstance(self.unclean_leader_election, bool):
            raise bad("unclean_leader_election", "must be true or false")
        if not isinstance(self.broker_overrides, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.broker_overrides.items()
        ):
            raise bad("broker_overrides", "must map property names to string values")
        for k, v in self.broker_overrides.items():
            # each becomes one `key=value` line of a node's server.properties
            if not PROPERTY_NAME.match(k) or any(c in v for c in "\n\r\x00"):
                raise SpecError(f"cluster spec: broker_overrides entry {k!r}={v!r} must be a property name (letters, digits, . _ -) "
                                "and a value on one line")
        if not isinstance(self.heap, str) or not HEAP.match(self.heap):
            raise bad("heap", "must be a JVM heap size such as 512m or 2g (digits and one of k, m, g)")
        if not self.kafka_version or not all(c.isalnum() or c in ".-" for c in self.kafka_version):
            raise bad("kafka_version", "must look like 4.4.0")

    # --- data -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClusterSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"cluster spec: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: (dict(v) if k == "broker_overrides" else v) for k, v in data.items()})

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "ClusterSpec":
        if name not in PRESETS:
            raise SpecError(f"unknown cluster preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})
