"""Tansu as a system: spec roles and validation, rendered node files, system choice, schema text."""

from __future__ import annotations

import shlex

import pytest

from prozess.cluster.cluster import system_for
from prozess.cluster.kafka import CONFIG_DIR, NodeLayout
from prozess.cluster.kafka_system import KafkaSystem
from prozess.cluster.spec import ClusterSpec, SpecError
from prozess.cluster.tansu import NODE_BINARY, SCHEMA, TansuSystem, storage_url, tansu_binary

SPEC = ClusterSpec(system="tansu")
ADDRS = {n: f"10.213.9.{10 + i}" for i, n in enumerate(SPEC.node_names, 1)}


def env(text: bytes) -> dict[str, str]:
    return {k: shlex.split(v)[0] for k, v in (line.split("=", 1) for line in text.decode().splitlines())}


def test_tansu_spec_has_brokers_and_one_storage_node():
    assert SPEC.node_names == ["n1", "n2", "n3", "pg1"]
    assert SPEC.broker_nodes == ["n1", "n2", "n3"] and SPEC.controller_nodes == []
    assert SPEC.roles("n2") == ["broker"] and SPEC.roles("pg1") == ["storage"]
    assert ClusterSpec().storage_nodes == [] and "pg1" not in ClusterSpec().node_names


def test_spec_round_trips_and_rejects_bad_system():
    assert ClusterSpec.from_dict(SPEC.to_dict()) == SPEC
    with pytest.raises(SpecError, match="system"):
        ClusterSpec(system="redpanda")
    with pytest.raises(SpecError, match="metadata"):
        ClusterSpec(system="tansu", metadata="zookeeper")


def test_system_for_picks_the_spec_system():
    assert isinstance(system_for(SPEC), TansuSystem)
    assert isinstance(system_for(ClusterSpec()), KafkaSystem)
    s = TansuSystem(SPEC)
    assert s.version == "0.6.0" and s.nodes_with("storage") == ["pg1"] and s.nodes_with("broker") == ["n1", "n2", "n3"]
    assert s.process_name("pg1") == "PostgreSQL" and s.process_name("n1") == "Tansu"


def test_broker_files_point_at_the_storage_node():
    files = TansuSystem(SPEC).node_files("n2", ADDRS, "cid", NodeLayout())
    e = env(files[f"{CONFIG_DIR}/tansu.env"])
    assert e["TANSU_LISTENER"] == "tcp://10.213.9.12:9092" == e["TANSU_ADVERTISED"]
    assert e["TANSU_STORAGE"] == storage_url(SPEC, ADDRS) == "postgres://postgres:postgres@10.213.9.14:5432/postgres"
    assert e["TANSU_BIN"] == NODE_BINARY  # a container's own copy
    assert f"{CONFIG_DIR}/tansu-schema.sql" not in files


def test_storage_node_gets_the_schema_and_no_broker_env():
    files = TansuSystem(SPEC).node_files("pg1", ADDRS, "cid", NodeLayout())
    assert files[f"{CONFIG_DIR}/tansu-schema.sql"] == SCHEMA.read_bytes()
    assert f"{CONFIG_DIR}/tansu.env" not in files


def test_netns_layout_uses_the_cached_binary():
    from prozess.cluster.paths import NODE_DIR

    lay = NodeLayout(bin=str(NODE_DIR / "bin"))
    e = env(TansuSystem(SPEC).node_files("n1", ADDRS, "cid", lay)[f"{CONFIG_DIR}/tansu.env"])
    assert e["TANSU_BIN"] == str(tansu_binary("0.6.0"))


def test_schema_has_every_table_the_queries_use():
    """Every table the Tansu 0.6.0 SQLite DDL creates exists in our PostgreSQL schema."""
    text = SCHEMA.read_text()
    for table in ("cluster", "topic", "topition", "watermark", "topic_configuration", "record", "header",
                  "consumer_group", "consumer_group_detail", "consumer_offset", "producer", "producer_epoch",
                  "producer_detail", "scram_credential", "txn", "txn_detail", "txn_topition", "txn_produce_offset",
                  "txn_offset_commit", "txn_offset_commit_tp"):
        assert f"create table if not exists {table} (" in text, table
    assert "xid8" in text  # record fetch compares transaction_id with the snapshot
