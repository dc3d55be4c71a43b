"""Rendering of ZooKeeper-mode files: brokers point at the ensemble, the ensemble knows its members."""

from __future__ import annotations

from prozess.cluster.kafka import NodeLayout, node_env, node_files, server_properties
from prozess.cluster.kafka_system import KafkaSystem, zookeeper_mode_of
from prozess.cluster.spec import ClusterSpec
from prozess.cluster.zookeeper import myid, zoo_cfg, zookeeper_env

SPEC = ClusterSpec(kafka_version="3.9.1", metadata="zookeeper")
ADDRS = {n: f"10.213.9.{10 + i}" for i, n in enumerate(SPEC.node_names, 1)}


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_broker_properties_in_zookeeper_mode():
    p = props(server_properties(SPEC, "n2", ADDRS, NodeLayout()))
    assert p["broker.id"] == "2"
    assert p["zookeeper.connect"] == "10.213.9.14:2181,10.213.9.15:2181,10.213.9.16:2181"
    assert p["listeners"] == "PLAINTEXT://10.213.9.12:9092"
    assert p["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT"
    for kraft_only in ("process.roles", "node.id", "controller.quorum.voters", "controller.listener.names"):
        assert kraft_only not in p
    assert p["min.insync.replicas"] == "2" and p["unclean.leader.election.enable"] == "false"


def test_kraft_properties_have_no_zookeeper():
    p = props(server_properties(ClusterSpec(kafka_version="3.9.1"), "n1", ADDRS, NodeLayout()))
    assert p["process.roles"] == "broker,controller" and "zookeeper.connect" not in p and "broker.id" not in p


def test_zoo_cfg_lists_the_ensemble():
    cfg = props(zoo_cfg(SPEC, "zk2", ADDRS, NodeLayout()))
    assert cfg["clientPortAddress"] == "10.213.9.15" and cfg["clientPort"] == "2181"
    assert cfg["server.1"] == "10.213.9.14:2888:3888" and cfg["server.3"] == "10.213.9.16:2888:3888"
    assert "srvr" in cfg["4lw.commands.whitelist"]
    assert cfg["dataDir"] == NodeLayout().data
    assert [myid(SPEC, z) for z in SPEC.zookeeper_nodes] == [1, 2, 3]
    assert "ZK_MYID=2" in zookeeper_env(SPEC, "zk2")


def test_single_server_ensemble_is_standalone():
    spec = ClusterSpec(kafka_version="3.8.1", metadata="zookeeper", zookeeper_count=1)
    cfg = zoo_cfg(spec, "zk1", {n: "10.0.0.1" for n in spec.node_names}, NodeLayout())
    assert "server.1" not in cfg


def test_node_files_by_role():
    zk = node_files(SPEC, "zk1", ADDRS, "cid", NodeLayout())
    broker = node_files(SPEC, "n1", ADDRS, "cid", NodeLayout())
    assert "/etc/prozess/zoo.cfg" in zk and "/etc/prozess/server.properties" not in zk
    assert "/etc/prozess/server.properties" in broker and "/etc/prozess/zoo.cfg" not in broker
    # brokers in ZooKeeper mode must not format KRaft storage; KRaft nodes' env stays as before
    assert "KAFKA_METADATA=zookeeper" in broker["/etc/prozess/node.env"].decode()
    assert "KAFKA_METADATA" not in node_env(ClusterSpec(), "cid", NodeLayout())


def test_system_roles_and_processes():
    system = KafkaSystem(SPEC)
    assert system.version == "3.9.1" and system.mode == "zookeeper"
    assert system.nodes_with("broker") == ["n1", "n2", "n3"]
    assert system.nodes_with("zookeeper") == ["zk1", "zk2", "zk3"]
    assert system.nodes_with("controller") == []
    assert system.process_name("zk1") == "ZooKeeper" and system.process_name("n1") == "Kafka"
    assert system.log_files("zk1", NodeLayout())[0].endswith("zookeeper.log")
    assert system.describe() == "Apache Kafka 3.9.1 (ZooKeeper)"
    assert KafkaSystem(ClusterSpec()).nodes_with("controller") == ["n1", "n2", "n3"]


def test_zookeeper_srvr_mode_parsing():
    answer = "Zookeeper version: 3.8.4\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 42\n"
    assert zookeeper_mode_of(answer) == "follower"
    assert zookeeper_mode_of("Mode: leader") == "leader"
    assert zookeeper_mode_of("This ZooKeeper instance is not currently serving requests") is None


def test_kafka_is_a_system_and_a_cluster_offers_what_systems_need():
    """The contract holds structurally: KafkaSystem has every System member, Cluster every Nodes member."""
    from prozess.cluster.cluster import Cluster
    from prozess.cluster.system import Nodes, System

    assert isinstance(KafkaSystem(SPEC), System)
    needed = [m for m in dir(Nodes) if not m.startswith("_")] + list(Nodes.__annotations__)
    assert all(hasattr(Cluster, m) or m in ("nodes",) for m in needed)
    assert isinstance(Cluster.nodes, property)
