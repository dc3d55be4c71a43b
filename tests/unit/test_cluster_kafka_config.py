"""Rendering of each node's Kafka files from the spec (no cluster needed)."""

from __future__ import annotations

import subprocess

from prozess.cluster.kafka import FAKETIME_PATH, NodeLayout, new_cluster_id, node_env, node_files, server_properties
from prozess.cluster.spec import ClusterSpec

ADDRS = {f"n{i}": f"10.213.9.{10 + i}" for i in range(1, 7)}


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_combined_node_properties():
    p = props(server_properties(ClusterSpec(), "n2", ADDRS, NodeLayout()))
    assert p["process.roles"] == "broker,controller" and p["node.id"] == "2"
    assert p["controller.quorum.voters"] == "1@10.213.9.11:9093,2@10.213.9.12:9093,3@10.213.9.13:9093"
    assert p["listeners"] == "PLAINTEXT://10.213.9.12:9092,CONTROLLER://10.213.9.12:9093"
    assert p["advertised.listeners"].startswith("PLAINTEXT://10.213.9.12:9092")
    assert p["min.insync.replicas"] == "2" and p["unclean.leader.election.enable"] == "false"
    assert p["log.dirs"] == NodeLayout().data


def test_dedicated_and_unsafe_properties():
    spec = ClusterSpec.preset("unsafe", nodes=5, controllers="dedicated", controller_count=3, replication_factor=2,
                              broker_overrides={"log.flush.interval.messages": "1"})
    c = props(server_properties(spec, "n1", ADDRS, NodeLayout()))
    b = props(server_properties(spec, "n5", ADDRS, NodeLayout()))
    assert c["process.roles"] == "controller" and "PLAINTEXT" not in c["listeners"]
    assert b["process.roles"] == "broker" and "CONTROLLER" not in b["listeners"]
    assert b["unclean.leader.election.enable"] == "true" and b["min.insync.replicas"] == "1"
    assert b["offsets.topic.replication.factor"] == "2" and b["log.flush.interval.messages"] == "1"


def test_node_env_is_shell_safe():
    lay = NodeLayout(data="/tmp/a dir/$(x)")
    env = node_env(ClusterSpec(), "abc", lay)
    out = subprocess.run(["sh", "-c", env + 'printf %s "$KAFKA_DATA"'], capture_output=True, text=True).stdout
    assert out == "/tmp/a dir/$(x)"


def test_cluster_ids_are_22_chars_and_never_look_like_options():
    ids = {new_cluster_id() for _ in range(300)}
    assert len(ids) == 300 and all(len(i) == 22 and i[0].isalnum() for i in ids)


def test_every_node_gets_config_and_faketime():
    files = node_files(ClusterSpec(), "n1", ADDRS, "abc", NodeLayout())
    assert set(files) == {"/etc/prozess/node.env", "/etc/prozess/server.properties", "/etc/prozess/log4j2.properties", FAKETIME_PATH}
    assert files[FAKETIME_PATH] == b"+0\n"
