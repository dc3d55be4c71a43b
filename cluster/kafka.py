"""The Kafka db adapter's data: per-node files rendered from the cluster spec.

Every node, whatever the backend, gets /etc/prozess/{node.env, server.properties,
log4j2.properties, faketime}; the scripts in cluster/node/bin read node.env to
find the jars, data dir, log dir and pidfile. Rendering is pure (no I/O) so it is
unit-tested without a cluster.
"""

from __future__ import annotations

import base64
import shlex
import uuid

from prozess.cluster.layout import CONFIG_DIR, FAKETIME_PATH, NodeLayout
from prozess.cluster.spec import ClusterSpec
from prozess.cluster.zookeeper import zookeeper_connect, zookeeper_files

__all__ = [
    "CLIENT_PORT", "CONTROLLER_PORT", "CONFIG_DIR", "FAKETIME_PATH", "NodeLayout", "new_cluster_id",
    "server_properties", "log4j2_properties", "node_env", "jvm_opts", "node_files",
]

CLIENT_PORT = 9092
CONTROLLER_PORT = 9093


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars)."""
    while True:  # one that cannot be mistaken for a command-line option
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if cid[0].isalnum():
            return cid


def _props(entries: dict[str, str]) -> str:
    lines = ["# rendered by prozess from the cluster spec"]
    for k, v in entries.items():
        if any(c in k + v for c in "\n\r"):
            raise ValueError(f"server property {k!r} contains a line break")
        lines.append(f"{k}={v}")
    return "\n".join(lines) + "\n"


def _metadata_entries(spec: ClusterSpec, node: str, addresses: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """How a node finds the cluster's metadata (KRaft roles and voters, or ZooKeeper's
    ensemble): the entries that head server.properties and those that end it."""
    node_id = str(spec.kafka_nodes.index(node) + 1)
    if spec.zookeeper_mode:
        return {
            "broker.id": node_id,
            "zookeeper.connect": zookeeper_connect(spec, addresses),
        }, {
            # ZooKeeper's session timeout decides how fast a broker cut off from the ensemble
            # loses its registration (and the controller its role): 6 s, not 18 s, so a
            # fault window of tens of seconds shows it.
            "zookeeper.session.timeout.ms": "6000",
            "zookeeper.connection.timeout.ms": "60000",
        }
    voters = ",".join(f"{spec.kafka_nodes.index(c) + 1}@{addresses[c]}:{CONTROLLER_PORT}" for c in spec.controller_nodes)
    return {
        "process.roles": ",".join(spec.roles(node)),
        "node.id": node_id,
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
    }, {
        # KRaft timeouts twice Kafka's defaults: test hosts are small and shared, and a
        # stalled JVM must not turn into endless elections before any fault is injected.
        "controller.quorum.election.timeout.ms": "2000",
        "controller.quorum.fetch.timeout.ms": "4000",
        # A broker that is slow to start waits for the quorum instead of exiting after 60 s.
        "initial.broker.registration.timeout.ms": "600000",
    }


def server_properties(spec: ClusterSpec, node: str, addresses: dict[str, str], layout: NodeLayout) -> str:
    """server.properties for one Kafka node: KRaft roles and static quorum voters (or ZooKeeper's
    ensemble in ZooKeeper mode), listeners on the node's IP."""
    roles = spec.roles(node)
    ip = addresses[node]
    listeners, advertised = [], []
    if "broker" in roles:
        listeners.append(f"PLAINTEXT://{ip}:{CLIENT_PORT}")
        advertised.append(f"PLAINTEXT://{ip}:{CLIENT_PORT}")
    if "controller" in roles:
        listeners.append(f"CONTROLLER://{ip}:{CONTROLLER_PORT}")
        advertised.append(f"CONTROLLER://{ip}:{CONTROLLER_PORT}")
    brokers = len(spec.broker_nodes)
    head, tail = _metadata_entries(spec, node, addresses)
    entries = {
        **head,
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT" if spec.zookeeper_mode else "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": layout.data,
        "num.partitions": "1",
        "default.replication.factor": str(spec.replication_factor),
        "min.insync.replicas": str(spec.min_insync_replicas),
        "unclean.leader.election.enable": str(spec.unclean_leader_election).lower(),
        "offsets.topic.replication.factor": str(min(3, brokers)),
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": str(min(3, brokers)),
        "transaction.state.log.min.isr": str(min(2, brokers)),
        "transaction.state.log.num.partitions": "5",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        "auto.create.topics.enable": "true",
        **tail,
    }
    if "broker" in roles:
        entries["inter.broker.listener.name"] = "PLAINTEXT"
    entries.update(spec.broker_overrides)
    return _props(entries)


def log4j2_properties() -> str:
    """Everything to stdout, which the start script appends to server.log."""
    return "\n".join([
        "status = warn",
        "appender.out.type = Console",
        "appender.out.name = OUT",
        "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = [%d] %p %m (%c)%n",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.out.ref = OUT",
        "logger.request.name = kafka.request.logger",
        "logger.request.level = WARN",
        "logger.clients.name = org.apache.kafka.clients",
        "logger.clients.level = WARN",
        "",
    ])


def jvm_opts(spec: ClusterSpec) -> list[str]:
    """A modest heap and a small footprint so five brokers fit on a small machine.

    One JVM argument per item; node.env carries them one per line and kafka-start
    passes each as exactly one argument, never re-split by the shell.
    """
    return [
        f"-Xmx{spec.heap}", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:ActiveProcessorCount=2", "-Xss512k",
        "-XX:ReservedCodeCacheSize=64m", "-XX:MaxMetaspaceSize=128m", "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
    ]


def node_env(spec: ClusterSpec, cluster_id: str, layout: NodeLayout) -> str:
    values = {
        "KAFKA_BIN": layout.bin,
        "KAFKA_LIBS": layout.libs,
        "KAFKA_DATA": layout.data,
        "KAFKA_LOGS": layout.logs,
        "KAFKA_PIDFILE": layout.pidfile,
        "KAFKA_CLUSTER_ID": cluster_id,
        "KAFKA_JVM_OPTS": "\n".join(jvm_opts(spec)),
        "JAVA": layout.java,
    }
    if spec.zookeeper_mode:  # kafka-start formats KRaft storage unless told otherwise
        values["KAFKA_METADATA"] = "zookeeper"
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


def node_files(spec: ClusterSpec, node: str, addresses: dict[str, str], cluster_id: str, layout: NodeLayout) -> dict[str, bytes]:
    """Every file prozess writes into a node before its first start: path -> content."""
    if node in spec.zookeeper_nodes:  # a ZooKeeper server: its own files, and the node-wide ones every node gets
        return {
            f"{CONFIG_DIR}/node.env": node_env(spec, cluster_id, layout).encode(),
            **zookeeper_files(spec, node, addresses, layout),
            f"{CONFIG_DIR}/log4j2.properties": log4j2_properties().encode(),
            FAKETIME_PATH: b"+0\n",
        }
    return {
        f"{CONFIG_DIR}/node.env": node_env(spec, cluster_id, layout).encode(),
        f"{CONFIG_DIR}/server.properties": server_properties(spec, node, addresses, layout).encode(),
        f"{CONFIG_DIR}/log4j2.properties": log4j2_properties().encode(),
        FAKETIME_PATH: b"+0\n",
    }
