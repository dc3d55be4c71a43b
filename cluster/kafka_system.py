"""Apache Kafka as a system under test (prozess.cluster.system.System), KRaft or ZooKeeper mode.

- KRaft: nodes n1..nN run kafka.Kafka as broker, controller or both; the active
  controller is the quorum leader, read from the controllers' quorum-state files.
- ZooKeeper (3.7-3.9): nodes n1..nN are brokers, zk1..zkK run ZooKeeper from the same
  release's jars; the controller is the broker holding ZooKeeper's /controller znode,
  as the brokers report it (the admin API's describeCluster controller id), and the
  ensemble's leader is the member whose `srvr` answer says `Mode: leader`.

Partition leaders come from broker metadata in both modes.
"""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prozess.cluster.kafka import CONFIG_DIR, FAKETIME_PATH, NodeLayout, node_files
from prozess.cluster.spec import ClusterSpec
from prozess.cluster.system import Nodes
from prozess.cluster.system_parts import ProcessError, SpecSystem, partition_metadata, script_pid, script_signal, script_start

__all__ = ["KafkaSystem", "ProcessError", "zookeeper_mode_of"]


_SCRIPTS = {"kafka": ("kafka-start", "kafka-signal", "kafka-pid"), "zookeeper": ("zk-start", "zk-signal", "zk-pid")}


def zookeeper_mode_of(text: str) -> str | None:
    """The `Mode:` of a ZooKeeper `srvr` answer (leader, follower, standalone), or None."""
    for line in text.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip() or None
    return None


class KafkaSystem(SpecSystem):
    """Apache Kafka `spec.kafka_version` in `spec.metadata` mode on the spec's nodes."""

    name = "kafka"
    version_key = "kafka_version"
    spec: ClusterSpec

    # --- identity and roles ----------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.spec.metadata

    def describe(self) -> str:
        """E.g. "Apache Kafka 3.9.1 (ZooKeeper)"."""
        return f"Apache Kafka {self.version} ({'ZooKeeper' if self.mode == 'zookeeper' else 'KRaft'})"

    # --- artifacts and configuration ---------------------------------------------------
    def install(self) -> Path:
        from prozess.cluster.jars import ensure_jars

        return ensure_jars(self.version)

    def node_files(self, node: str, addresses: dict[str, str], cluster_id: str, layout: NodeLayout) -> dict[str, bytes]:
        return node_files(self.spec, node, addresses, cluster_id, layout)

    # --- processes ---------------------------------------------------------------------
    def _kind(self, node: str) -> str:
        return "zookeeper" if node in self.spec.zookeeper_nodes else "kafka"

    def process_name(self, node: str) -> str:
        return "ZooKeeper" if self._kind(node) == "zookeeper" else "Kafka"

    def _script(self, node: str, which: int) -> str:
        return _SCRIPTS[self._kind(node)][which]

    def start(self, nodes: Nodes, node: str) -> None:
        script_start(nodes, node, [self._script(node, 0)], self.process_name(node))

    def signal(self, nodes: Nodes, node: str, sig: str) -> None:
        script_signal(nodes, node, [self._script(node, 1), sig], sig, self.process_name(node))

    def pid(self, nodes: Nodes, node: str) -> int | None:
        return script_pid(nodes, node, [self._script(node, 2)])

    # --- paths ---------------------------------------------------------------------------
    def data_dir(self, node: str, layout: NodeLayout) -> str:
        return layout.data

    def log_files(self, node: str, layout: NodeLayout) -> list[str]:
        common = [f"{CONFIG_DIR}/node.env", f"{CONFIG_DIR}/log4j2.properties", FAKETIME_PATH]
        if self._kind(node) == "zookeeper":
            return [f"{layout.logs}/zookeeper.log", f"{CONFIG_DIR}/zoo.cfg", f"{CONFIG_DIR}/zookeeper.env", *common]
        return [f"{layout.logs}/server.log", f"{layout.logs}/format.log", f"{CONFIG_DIR}/server.properties", *common]

    # --- metadata ------------------------------------------------------------------------
    def registered_brokers(self, nodes: Nodes, timeout: float = 5) -> list[str]:
        md = nodes.admin().list_topics(timeout=timeout)
        found = {nodes.node_of(b) for b in md.brokers}
        return [n for n in self.spec.kafka_nodes if n in found]

    def partition(self, nodes: Nodes, topic: str, partition: int = 0) -> Any:
        """Broker metadata of one partition (leader, replicas, isrs as broker ids), or None."""
        return partition_metadata(nodes, topic, partition)

    def leader(self, nodes: Nodes, topic: str, partition: int = 0) -> str | None:
        p = self.partition(nodes, topic, partition)
        return nodes.node_of(p.leader) if p is not None and p.leader >= 0 else None

    def active_controller(self, nodes: Nodes) -> str | None:
        node = self._zk_controller(nodes) if self.mode == "zookeeper" else self._kraft_controller(nodes)
        return node if node and self.pid(nodes, node) is not None else None

    def _kraft_controller(self, nodes: Nodes) -> str | None:
        """The KRaft quorum leader: the newest (highest epoch) leader any controller has recorded."""
        def read(node: str):
            path = f"{nodes.layout(node).data}/__cluster_metadata-0/quorum-state"
            try:
                r = nodes.exec(node, ["cat", path], timeout=10)
                return json.loads(r.stdout) if r.returncode == 0 else None
            except Exception:
                return None

        controllers = self.spec.controller_nodes
        with ThreadPoolExecutor(max_workers=max(1, len(controllers))) as pool:
            states = list(pool.map(read, controllers))
        best = None
        for q in states:
            if q and q.get("leaderId", -1) >= 0 and (best is None or q.get("leaderEpoch", -1) > best.get("leaderEpoch", -1)):
                best = q
        return nodes.node_of(best["leaderId"]) if best else None

    def _zk_controller(self, nodes: Nodes) -> str | None:
        """The broker the brokers name as controller (it holds ZooKeeper's /controller znode)."""
        try:
            result = nodes.admin().describe_cluster(request_timeout=5).result(timeout=8)
        except Exception:
            return None
        ctrl = getattr(result, "controller", None)
        return nodes.node_of(ctrl.id) if ctrl is not None and ctrl.id >= 0 else None

    def zookeeper_modes(self, nodes: Nodes, timeout: float = 1.5) -> dict[str, str | None]:
        """Each ensemble member's `srvr` mode (leader, follower, standalone), None where it does not answer."""
        from prozess.cluster.zookeeper import CLIENT_PORT

        def ask(node: str) -> str | None:
            try:
                with socket.create_connection((nodes.address(node), CLIENT_PORT), timeout=timeout) as s:
                    s.settimeout(timeout)
                    s.sendall(b"srvr")
                    data = b""
                    while len(data) < 65536:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                return zookeeper_mode_of(data.decode(errors="replace"))
            except OSError:
                return None

        zks = self.spec.zookeeper_nodes
        if not zks:
            return {}
        with ThreadPoolExecutor(max_workers=len(zks)) as pool:
            return dict(zip(zks, pool.map(ask, zks)))

    def zookeeper_leader(self, nodes: Nodes) -> str | None:
        """The ensemble's leader (or its one standalone server), or None."""
        for node, mode in self.zookeeper_modes(nodes).items():
            if mode in ("leader", "standalone"):
                return node
        return None

    def health(self, nodes: Nodes) -> str | None:
        if self.mode == "zookeeper" and self.zookeeper_leader(nodes) is None:
            return "ZooKeeper has no leader"
        registered = self.registered_brokers(nodes)
        missing = [n for n in self.spec.broker_nodes if n not in registered]
        if missing:
            return f"brokers not registered: {', '.join(missing)}"
        if self.active_controller(nodes) is None:
            return "no active controller"
        return None
