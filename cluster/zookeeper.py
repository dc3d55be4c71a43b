"""The ZooKeeper ensemble's data: per-node files for Kafka 3.x in ZooKeeper mode.

ZooKeeper runs from the Kafka release's own jars (kafka_2.13 3.x depends on
org.apache.zookeeper:zookeeper, so QuorumPeerMain is in the same libs directory as
the broker), one server per node of its own (zk1..zkK). Each ZooKeeper node gets
/etc/prozess/{node.env, zookeeper.env, zoo.cfg, log4j2.properties, faketime}; the
scripts zk-start / zk-pid / zk-signal in cluster/node/bin read them. Rendering is
pure (no I/O) so it is unit-tested without a cluster.
"""

from __future__ import annotations

import shlex

from prozess.cluster.layout import CONFIG_DIR, NodeLayout
from prozess.cluster.spec import ClusterSpec

__all__ = [
    "CLIENT_PORT", "PEER_PORT", "ELECTION_PORT", "ZOO_CFG", "myid", "zoo_cfg", "zookeeper_env",
    "zookeeper_connect", "zookeeper_files",
]

CLIENT_PORT = 2181
PEER_PORT = 2888
ELECTION_PORT = 3888
ZOO_CFG = f"{CONFIG_DIR}/zoo.cfg"


def myid(spec: ClusterSpec, node: str) -> int:
    """ZooKeeper server id of a ZooKeeper node: zkK has id K."""
    return spec.zookeeper_nodes.index(node) + 1


def zookeeper_connect(spec: ClusterSpec, addresses: dict[str, str]) -> str:
    """The brokers' zookeeper.connect: every ensemble member's client address."""
    return ",".join(f"{addresses[z]}:{CLIENT_PORT}" for z in spec.zookeeper_nodes)


def zoo_cfg(spec: ClusterSpec, node: str, addresses: dict[str, str], layout: NodeLayout) -> str:
    """zoo.cfg of one ensemble member: ZooKeeper's default timing, static membership, four-letter words for probing."""
    lines = [
        "# rendered by prozess from the cluster spec",
        "tickTime=2000",
        "initLimit=10",
        "syncLimit=5",
        f"dataDir={layout.data}",
        f"clientPort={CLIENT_PORT}",
        f"clientPortAddress={addresses[node]}",
        "maxClientCnxns=0",
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr,mntr,ruok",
        "autopurge.purgeInterval=0",
    ]
    if len(spec.zookeeper_nodes) > 1:
        for z in spec.zookeeper_nodes:
            lines.append(f"server.{myid(spec, z)}={addresses[z]}:{PEER_PORT}:{ELECTION_PORT}")
    return "\n".join(lines) + "\n"


def zookeeper_jvm_opts() -> str:
    """A small heap: the ensemble holds a few hundred znodes."""
    return " ".join([
        "-Xmx192m", "-Xms32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:ActiveProcessorCount=2", "-Xss512k",
        "-XX:MaxMetaspaceSize=96m", "-Djava.net.preferIPv4Stack=true", "-Dzookeeper.admin.enableServer=false",
    ])


def zookeeper_env(spec: ClusterSpec, node: str) -> str:
    values = {"ZK_MYID": str(myid(spec, node)), "ZK_JVM_OPTS": zookeeper_jvm_opts(), "ZK_CONFIG": ZOO_CFG}
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


def zookeeper_files(spec: ClusterSpec, node: str, addresses: dict[str, str], layout: NodeLayout) -> dict[str, bytes]:
    """The ZooKeeper server's own files (zookeeper.env, zoo.cfg): path -> content. `kafka.node_files` adds
    the files every node gets (node.env, log4j2.properties, faketime)."""
    return {
        f"{CONFIG_DIR}/zookeeper.env": zookeeper_env(spec, node).encode(),
        ZOO_CFG: zoo_cfg(spec, node, addresses, layout).encode(),
    }
