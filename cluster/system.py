"""The system contract: what a system under test provides to the cluster, runner and nemesis.

A *system* is the software on trial (Apache Kafka in KRaft or ZooKeeper mode first).
A *backend* (docker, netns, ssh) provides nodes and runs commands on them for any
system; the `Cluster` joins the two and keeps its public methods (`start_kafka`,
`kill_kafka`, `leader`, `active_controller`, ...) by delegating to its system.

Every node runs one process of the system, chosen by the node's role: a Kafka node
runs the broker (and/or KRaft controller), a ZooKeeper node runs a ZooKeeper server.
Faults act on "the node's process", so killing, pausing or partitioning a ZooKeeper
node works the same way as for a broker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from prozess.cluster.backends.base import ExecResult
from prozess.cluster.kafka import NodeLayout

__all__ = ["ROLES", "Nodes", "System"]

#: The roles a node may have; a system names the ones it uses.
ROLES = ("broker", "controller", "zookeeper", "storage")


class Nodes(Protocol):
    """What a system may do on the nodes it runs on (the Cluster provides it)."""

    nodes: list[str]

    def exec(self, node: str, argv: list[str], *, timeout: float = 30, check: bool = False, input: bytes | None = None) -> ExecResult: ...

    def address(self, node: str) -> str: ...

    def layout(self, node: str) -> NodeLayout: ...

    def node_of(self, broker_id: int) -> str | None: ...

    def admin(self) -> Any: ...


@runtime_checkable
class System(Protocol):
    """A system under test: roles, artifacts, configuration, processes and metadata lookups."""

    name: str       # "kafka"

    @property
    def version(self) -> str:
        """The release on trial, e.g. "3.9.1"."""

    @property
    def mode(self) -> str:
        """How it keeps its metadata, e.g. "kraft" or "zookeeper"."""

    def roles(self, node: str) -> list[str]:
        """The roles (of ROLES) node has."""

    def nodes_with(self, role: str) -> list[str]:
        """The nodes that have `role`, in node order."""

    def install(self) -> Path:
        """Makes sure the version's artifacts are in the local cache (downloading them once); returns where."""

    def node_files(self, node: str, addresses: dict[str, str], cluster_id: str, layout: NodeLayout) -> dict[str, bytes]:
        """Every file to write into node before its first start: path -> content (pure)."""

    def process_name(self, node: str) -> str:
        """What the node runs, for messages ("Kafka", "ZooKeeper")."""

    def start(self, nodes: Nodes, node: str) -> None:
        """Starts the node's process unless it runs; raises with the reason when it cannot."""

    def signal(self, nodes: Nodes, node: str, sig: str) -> None:
        """Sends sig (KILL, TERM, STOP, CONT, ...) to the node's process; after KILL/TERM waits until it is gone."""

    def pid(self, nodes: Nodes, node: str) -> int | None:
        """The pid of the node's process while it exists (running or paused), else None."""

    def data_dir(self, node: str, layout: NodeLayout) -> str:
        """Where the node's process keeps its durable data."""

    def log_files(self, node: str, layout: NodeLayout) -> list[str]:
        """The node's logs and configuration, to collect after a run."""

    def leader(self, nodes: Nodes, topic: str, partition: int = 0) -> str | None:
        """The node that leads (topic, partition) now, or None."""

    def active_controller(self, nodes: Nodes) -> str | None:
        """The node whose process acts as the cluster's controller now, or None."""

    def health(self, nodes: Nodes) -> str | None:
        """None when every part is up (brokers registered, controller elected, ...); else what is missing."""
