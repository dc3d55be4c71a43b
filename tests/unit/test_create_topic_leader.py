"""`Cluster.create_topic` returns only once its partitions' leader has been seen in several metadata answers in a
row: in ZooKeeper mode a broker that has not yet had the controller's update answers "no leader" after one that
has. A stand-in admin client and metadata (no broker here: the answers must be scripted to show the race); the
real cluster is exercised by tests/integration/test_kafka_versions.py."""

from __future__ import annotations

import pytest

from prozess.cluster import cluster as cluster_mod
from prozess.cluster.cluster import Cluster, ClusterError


class _Done:
    def result(self, timeout=None):
        return None


class _Admin:
    def create_topics(self, topics, request_timeout=None):
        return {t.topic: _Done() for t in topics}


def _cluster(answers: list, monkeypatch) -> tuple[Cluster, list]:
    c = Cluster.__new__(Cluster)
    asked: list = []

    def leader(self, topic, partition=0):
        asked.append(partition)
        return answers.pop(0) if answers else "n1"

    monkeypatch.setattr(Cluster, "leader", leader)
    monkeypatch.setattr(Cluster, "admin", lambda self: _Admin())
    monkeypatch.setattr(cluster_mod.time, "sleep", lambda s: None)
    c.spec = type("Spec", (), {"replication_factor": 3})()
    return c, asked


def test_a_leader_that_flickers_is_waited_out(monkeypatch):
    c, asked = _cluster(["n1", None, "n2", "n2", None, "n1", "n1", "n1", None], monkeypatch)
    c.create_topic("t")
    assert len(asked) == 8  # returned after the first three answers in a row that name a leader


def test_no_leader_in_time_is_an_error(monkeypatch):
    c, _ = _cluster([], monkeypatch)
    monkeypatch.setattr(Cluster, "leader", lambda self, topic, partition=0: None)
    with pytest.raises(ClusterError, match="without a leader"):
        c.create_topic("t", timeout=0.05)
