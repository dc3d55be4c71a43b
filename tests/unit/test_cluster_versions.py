"""Kafka version resolution and metadata modes: what is accepted, what is refused and how it says so."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prozess.cluster.spec import ClusterSpec, SpecError
from prozess.cluster.versions import VersionError, check_version, parse_version, supported_range, supports_zookeeper


@pytest.mark.parametrize("version", ["3.7.0", "3.7.2", "3.8.1", "3.9.1", "4.0.0", "4.1.1", "4.4.0", "4.4.9"])
def test_every_line_from_37_to_44_runs_in_kraft(version):
    assert check_version(version, "kraft") == parse_version(version)
    assert ClusterSpec(kafka_version=version).kafka_version == version


@pytest.mark.parametrize("version", ["3.7.0", "3.8.1", "3.9.1"])
def test_zookeeper_mode_for_3x(version):
    spec = ClusterSpec(kafka_version=version, metadata="zookeeper")
    assert supports_zookeeper(version)
    assert spec.zookeeper_nodes == ["zk1", "zk2", "zk3"] and spec.controller_nodes == []


@pytest.mark.parametrize("version", ["4.0.0", "4.4.0"])
def test_zookeeper_mode_refused_from_40(version):
    assert not supports_zookeeper(version)
    with pytest.raises(SpecError, match="no ZooKeeper mode.*--metadata kraft"):
        ClusterSpec(kafka_version=version, metadata="zookeeper")


@pytest.mark.parametrize("version", ["3.6.2", "2.8.2", "4.5.0", "5.0.0"])
def test_out_of_range_names_the_supported_range(version):
    with pytest.raises(SpecError) as e:
        ClusterSpec(kafka_version=version)
    assert "outside the supported range" in str(e.value)
    assert "3.7.x to 4.4.x" in str(e.value) and "3.9.x in ZooKeeper mode" in str(e.value)


@pytest.mark.parametrize("version", ["latest", "4.4", "4.4.0-SNAPSHOT", "4.4.0; rm -rf /", "", None, 440])
def test_malformed_versions_are_one_clear_error(version):
    with pytest.raises(SpecError, match="not a release number like 3.9.1"):
        ClusterSpec(kafka_version=version)


def test_unknown_metadata_mode():
    with pytest.raises(SpecError, match="metadata"):
        ClusterSpec(metadata="etcd")
    with pytest.raises(VersionError, match="kraft, zookeeper"):
        check_version("4.4.0", "etcd")


def test_supported_range_text():
    assert supported_range() == "Apache Kafka 3.7.x to 4.4.x in KRaft mode, 3.7.x to 3.9.x in ZooKeeper mode"


@given(st.integers(0, 9), st.integers(0, 12), st.integers(0, 20))
def test_range_check_agrees_with_the_lines(major, minor, patch):
    version = f"{major}.{minor}.{patch}"
    inside = (3, 7) <= (major, minor) <= (4, 4)
    try:
        check_version(version)
        accepted = True
    except VersionError:
        accepted = False
    assert accepted == inside
    try:
        check_version(version, "zookeeper")
        zk = True
    except VersionError:
        zk = False
    assert zk == (inside and (major, minor) <= (3, 9))


def test_zookeeper_spec_round_trips_and_refuses_dedicated_controllers():
    spec = ClusterSpec(kafka_version="3.9.1", metadata="zookeeper", zookeeper_count=5)
    assert ClusterSpec.from_dict(spec.to_dict()) == spec
    assert spec.node_names == ["n1", "n2", "n3", "zk1", "zk2", "zk3", "zk4", "zk5"]
    with pytest.raises(SpecError, match="dedicated"):
        ClusterSpec(kafka_version="3.9.1", metadata="zookeeper", controllers="dedicated", nodes=5)
    with pytest.raises(SpecError, match="zookeeper_count"):
        ClusterSpec(kafka_version="3.9.1", metadata="zookeeper", zookeeper_count=0)


def test_kraft_specs_have_no_zookeeper_nodes():
    spec = ClusterSpec(kafka_version="3.9.1", zookeeper_count=3)
    assert spec.zookeeper_nodes == [] and spec.node_names == ["n1", "n2", "n3"]


def test_a_release_maven_lacks_is_named_with_the_range(monkeypatch, tmp_path):
    """mvn's answer for a missing artifact (as Maven prints it) becomes one error naming the range.
    A stand-in for mvn: the real download is exercised by the integration tests."""
    import subprocess

    from prozess.cluster import artifacts, jars

    monkeypatch.setenv("PROZESS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jars.shutil, "which", lambda name: "/usr/bin/mvn")
    out = "[ERROR] Failed to execute goal ... org.apache.kafka:kafka_2.13:jar:3.9.9 was not found in https://repo.example/maven2"
    monkeypatch.setattr(artifacts.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, out, ""))
    with pytest.raises(jars.JarsError, match=r"no Apache Kafka release 3\.9\.9.*3\.7\.x to 4\.4\.x"):
        jars.ensure_jars("3.9.9")
    assert not (tmp_path / "kafka" / "3.9.9").exists()
