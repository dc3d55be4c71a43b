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

from prozess.cluster.versions import VersionError, check_version

__all__ = ["ClusterSpec", "SpecError", "KAFKA_VERSION", "TANSU_VERSION", "SYSTEMS", "PRESETS", "MAX_NODES", "MAX_ZOOKEEPER"]

KAFKA_VERSION = "4.4.0"
TANSU_VERSION = "0.6.0"
#: The systems a spec can put on trial (prozess.cluster.kafka_system, prozess.cluster.tansu).
SYSTEMS = ("kafka", "tansu")
MAX_NODES = 9
MAX_ZOOKEEPER = 5


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
    """A Kafka cluster in KRaft or ZooKeeper mode.

    nodes: how many Kafka nodes (1..9), named n1..nN; node nK has Kafka id K.
    kafka_version: the Apache Kafka release (3.7.x-4.4.x, see prozess.cluster.versions).
    metadata: "kraft" (controllers in Kafka) or "zookeeper" (3.7-3.9 only): then every
    Kafka node is a broker, one of them the controller elected through ZooKeeper, and
    `zookeeper_count` more nodes zk1..zkK (of their own) run the ZooKeeper ensemble;
    `controllers` / `controller_count` do not apply. system: "kafka" (Apache Kafka) or
    "tansu" (Tansu `tansu_version`: n1..nN are stateless brokers, one more node pg1 runs
    their shared PostgreSQL storage; controllers, replication and ZooKeeper do not apply). controllers: "combined" (every node is broker and
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
    metadata: str = "kraft"
    zookeeper_count: int = 3
    system: str = "kafka"
    tansu_version: str = TANSU_VERSION

    def __post_init__(self) -> None:
        self.validate()

    # --- derived -------------------------------------------------------------
    @property
    def zookeeper_mode(self) -> bool:
        return self.metadata == "zookeeper"

    @property
    def kafka_nodes(self) -> list[str]:
        """The nodes that run Kafka (n1..nN); node nK has Kafka id K."""
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    @property
    def zookeeper_nodes(self) -> list[str]:
        """The ZooKeeper ensemble's nodes (zk1..zkK), empty in KRaft mode."""
        return [f"zk{i}" for i in range(1, self.zookeeper_count + 1)] if self.zookeeper_mode else []

    @property
    def storage_nodes(self) -> list[str]:
        """Tansu's shared storage node (pg1); empty for Apache Kafka."""
        return ["pg1"] if self.system == "tansu" else []

    @property
    def node_names(self) -> list[str]:
        """Every node of the cluster: the Kafka nodes first, then ZooKeeper's or the storage node."""
        return self.kafka_nodes + self.zookeeper_nodes + self.storage_nodes

    @property
    def controller_nodes(self) -> list[str]:
        """KRaft controllers (quorum voters); in ZooKeeper mode none (the controller is a broker, elected live)."""
        if self.zookeeper_mode or self.system == "tansu":
            return []
        return self.kafka_nodes[: min(self.controller_count, self.nodes)]

    @property
    def broker_nodes(self) -> list[str]:
        if self.controllers == "dedicated" and not self.zookeeper_mode and self.system != "tansu":
            return self.kafka_nodes[self.controller_count :]
        return self.kafka_nodes

    def roles(self, node: str) -> list[str]:
        if node in self.zookeeper_nodes:
            return ["zookeeper"]
        if node in self.storage_nodes:
            return ["storage"]
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

        if self.system not in SYSTEMS:
            raise bad("system", f"must be one of {', '.join(SYSTEMS)}")
        if self.system == "tansu" and self.metadata != "kraft":
            raise bad("metadata", "does not apply to tansu (its brokers keep metadata in PostgreSQL); leave it kraft")
        if not isinstance(self.tansu_version, str) or not self.tansu_version.strip():
            raise bad("tansu_version", "must be a release such as 0.6.0")
        if not isinstance(self.nodes, int) or not 1 <= self.nodes <= MAX_NODES:
            raise bad("nodes", f"must be an integer from 1 to {MAX_NODES}")
        if self.controllers not in ("combined", "dedicated"):
            raise bad("controllers", 'must be "combined" or "dedicated"')
        if not isinstance(self.controller_count, int) or self.controller_count < 1:
            raise bad("controller_count", "must be at least 1")
        if self.metadata not in ("kraft", "zookeeper"):
            raise bad("metadata", 'must be "kraft" or "zookeeper"')
        try:
            check_version(self.kafka_version, self.metadata)
        except VersionError as e:
            raise SpecError(f"cluster spec: kafka_version={self.kafka_version!r} metadata={self.metadata!r}: {e}") from None
        if self.zookeeper_mode and (not isinstance(self.zookeeper_count, int) or not 1 <= self.zookeeper_count <= MAX_ZOOKEEPER):
            raise bad("zookeeper_count", f"must be an integer from 1 to {MAX_ZOOKEEPER} (odd sizes keep a majority)")
        if self.zookeeper_mode and self.controllers == "dedicated":
            raise bad("controllers", "cannot be dedicated in ZooKeeper mode (the controller is a broker elected through ZooKeeper)")
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
