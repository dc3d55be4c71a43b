"""The cluster control contract: what the nemesis and the runner may call on a cluster.

`prozess.cluster.Cluster` implements all of it (`ClusterControl`); a nemesis or a
runner needs only the abilities it uses, each a small protocol of its own, as
Jepsen keeps a db's being killable, pausable or having log files apart:

| protocol         | what                                                     | who calls it |
|------------------|----------------------------------------------------------|--------------|
| `NodeCommands`   | `nodes`, `brokers`, `exec(node, argv)` (argv lists only) | every fault |
| `Addresses`      | `address(node)`: the node's address on the cluster network | partitions, links |
| `ProcessControl` | start, kill (a signal), pause, resume the node's process; its pid | kill/pause faults, heal |
| `LeaderLookup`   | `leader(topic, partition)`, `active_controller()`        | leader/controller targets |
| `ReplicaLookup`  | `isr(topic, partition)`, `replicas(topic, partition)`    | targeted and disk faults |
| `NodeLayouts`    | `layout(node)`, `data_dir(node)`: paths as the node sees them | disk faults, wiping a replica |
| `LogFiles`       | `collect_logs(dest_dir)`                                  | the runner, after a run |
| `Lifecycle`      | `name`, `spec`, `up()`, `down()`, `bootstrap_servers()`  | the runner |

`ClusterControl` joins them, with the few parts that only some systems have
(`zookeepers`, `zookeeper_leader()`, `faketime_path`). Process control keeps
Kafka's names (`start_kafka`, ...) and acts on whatever process the node runs
(ZooKeeper on a ZooKeeper node), as the Cluster does.

All are `runtime_checkable`, so a test can show that a stand-in cluster (network
namespaces, a node without the disk layer) provides what it claims. Nothing here is
imported at run time but `typing`: the nemesis and the runner import this module
freely.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from prozess.cluster.backends.base import ExecResult
    from prozess.cluster.kafka import NodeLayout

__all__ = [
    "Addresses", "ClusterControl", "Lifecycle", "LeaderLookup", "LogFiles", "NodeCommands", "NodeLayouts",
    "ProcessControl", "ReplicaLookup",
]


@runtime_checkable
class NodeCommands(Protocol):
    """The nodes, and a command run inside one of them."""

    @property
    def nodes(self) -> list[str]:
        """Every node, in order (brokers first, then a ZooKeeper ensemble or storage nodes)."""

    @property
    def brokers(self) -> list[str]:
        """The nodes that run a broker."""

    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> "ExecResult":
        """Runs argv (a list, never a shell string) inside node; returns its exit code and output."""


@runtime_checkable
class Addresses(Protocol):
    def address(self, node: str) -> str:
        """The node's address on the cluster's network (what iptables rules and netem filters name)."""


@runtime_checkable
class ProcessControl(Protocol):
    """The node's process (the broker; ZooKeeper on a ZooKeeper node): start, signal, pause, resume."""

    def start_kafka(self, node: str) -> None:
        """Starts the process unless it runs; raises with the reason when it cannot."""

    def kill_kafka(self, node: str, sig: str = "KILL") -> None:
        """Sends sig (KILL, TERM, STOP, CONT, ...); after KILL/TERM waits until the process is gone."""

    def pause_kafka(self, node: str) -> None:
        """SIGSTOP."""

    def resume_kafka(self, node: str) -> None:
        """SIGCONT; a process that is not there is fine."""

    def kafka_pid(self, node: str) -> int | None:
        """The pid while the process exists (running or paused), else None."""

    def kafka_running(self, node: str) -> bool:
        """Whether the process exists."""


@runtime_checkable
class LeaderLookup(Protocol):
    """Who leads now, asked of the live cluster when a fault starts."""

    def leader(self, topic: str, partition: int = 0) -> str | None:
        """The node that leads (topic, partition) now, or None."""

    def active_controller(self) -> str | None:
        """The node acting as the cluster's controller now, or None."""


@runtime_checkable
class ReplicaLookup(Protocol):
    def isr(self, topic: str, partition: int = 0) -> list[str]:
        """The in-sync replicas of (topic, partition), as nodes."""

    def replicas(self, topic: str, partition: int = 0) -> list[str]:
        """Every replica of (topic, partition), as nodes."""


@runtime_checkable
class NodeLayouts(Protocol):
    def layout(self, node: str) -> "NodeLayout":
        """Where the node keeps its binaries, data, logs and pidfile (as the node sees them)."""

    def data_dir(self, node: str) -> str:
        """Where the node's process keeps its durable data (Kafka: the log directory)."""


@runtime_checkable
class LogFiles(Protocol):
    def collect_logs(self, dest_dir: str | os.PathLike) -> list[Path]:
        """Copies each node's logs and configuration into dest_dir/<node>/; returns the files written."""


@runtime_checkable
class Lifecycle(Protocol):
    """What the runner does with a cluster it starts, or is handed."""

    @property
    def name(self) -> str:
        """The cluster's name (`prozess heal NAME`, `prozess cluster down NAME`)."""

    spec: Any  # the ClusterSpec it runs: brokers, release, replication settings

    def up(self, timeout: float = 180) -> Any:
        """Makes the nodes and starts every process; waits until the cluster serves."""

    def down(self) -> None:
        """Removes everything `up` made."""

    def bootstrap_servers(self) -> str:
        """host:port,... of the brokers, for clients."""


@runtime_checkable
class ClusterControl(NodeCommands, Addresses, ProcessControl, LeaderLookup, ReplicaLookup, NodeLayouts, LogFiles, Lifecycle,
                     Protocol):
    """Everything the nemesis and the runner may call: `prozess.cluster.Cluster` implements it."""

    #: the file libfaketime reads each node's clock offset from (clock faults)
    faketime_path: str

    @property
    def zookeepers(self) -> list[str]:
        """The ZooKeeper ensemble's nodes (empty in KRaft mode)."""

    def zookeeper_leader(self) -> str | None:
        """The ZooKeeper ensemble's leader (None in KRaft mode or while it has none)."""
