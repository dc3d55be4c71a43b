"""Runs on one real 3-node cluster (docker): healthy runs are valid with both clients; acks=0 with the
leader killed mid-run is invalid.

The done-when asks for 60 s healthy runs; the suite runs 20 s each (the 60 s
runs are the manual commands in docs/architecture.md). The unsafe run's faults
come from a small nemesis written here (kill -9 the current leader of the
workload's partition, restart it later) through the runner's `Nemesis`
protocol — the same path prozess.nemesis takes. One module, so the three
tests share one cluster; the fault test runs last.
"""

from __future__ import annotations

import json

import pytest
from cluster3 import cluster3  # noqa: F401  (fixture)

from prozess.history import read_jsonl
from prozess.runner import run_test
from prozess.spec import TestSpec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_healthy_run_is_valid(cluster3, client, tmp_path):
    spec = TestSpec(
        name=f"healthy-{client}", time_limit=20, rate=200, concurrency=10, seed=11, results_dir=str(tmp_path),
        workload_options={"topic_prefix": f"healthy-{client.replace('-', '')}", "final_time_limit_s": 20},
    )
    spec.client["library"] = client
    out = run_test(spec, cluster=cluster3, progress=False)
    res = json.loads((out.run_dir / "results.json").read_text())
    assert out.valid is True, json.dumps({k: v for k, v in res.items() if k != "checkers"} | {"checkers": {n: {"valid": r.get("valid"), "anomaly-types": r.get("anomaly-types")} for n, r in res.get("checkers", {}).items()}})
    assert res["run"]["interrupted"] is False and res["run"]["error"] is None
    h = read_jsonl(out.run_dir / "history.jsonl")
    by = {}
    for op in h:
        if op.type == "ok":
            by[op.f] = by.get(op.f, 0) + 1
    assert by.get("send", 0) > 500 and by.get("poll", 0) > 500 and by.get("assign", 0) >= 10
    test = json.loads((out.run_dir / "test.json").read_text())
    assert test["seed"] == 11 and test["client"]["library"] == client and test["cluster"]["min_insync_replicas"] == 2
    assert test["versions"]["confluent_kafka"] and test["finished"]
    assert (out.run_dir / "nodes").is_dir() and any((out.run_dir / "nodes").iterdir())  # node logs collected


class LeaderKiller:
    """Kills the leader of partition 0 of `topic` at t=6 s and t=14 s; restarts it 4 s later."""

    def __init__(self, topic: str):
        self.topic = topic
        self.cluster = None
        self.killed: set[str] = set()

    def setup(self, cluster, test):
        self.cluster = cluster

    def schedule(self, test, rng):
        return [(6, "kill-start", None), (4, "kill-stop", None), (4, "kill-start", None), (4, "kill-stop", None)]

    def invoke(self, f, value):
        if f == "kill-start":
            node = self.cluster.leader(self.topic, 0)
            if node is None:
                return "info", {"error": "no leader"}
            self.cluster.kill_kafka(node, "KILL")
            self.killed.add(node)
            return "info", {"killed": node}
        started = sorted(self.killed)
        self.heal_all()
        return "info", {"started": started}

    def heal_all(self):
        for node in sorted(self.killed):
            if not self.cluster.kafka_running(node):
                self.cluster.start_kafka(node)
        self.killed.clear()

    def teardown(self):
        self.heal_all()


def test_acks0_with_leader_killed_is_invalid(cluster3, tmp_path):
    prefix = "unsafeacks0"
    spec = TestSpec(
        name="acks0-leader-kill", time_limit=22, rate=600, concurrency=10, seed=5, results_dir=str(tmp_path), faults=[],
        workload_options={"topic_prefix": prefix, "key_count": 2, "partitions_per_topic": 2, "max_writes_per_key": 100000,
                          "final_time_limit_s": 30, "crash_clients": False},
    )
    spec.client.update({"acks": "0", "idempotence": False})
    nem = LeaderKiller(f"{prefix}-0")
    out = run_test(spec, cluster=cluster3, nemesis=nem, progress=False)
    res = json.loads((out.run_dir / "results.json").read_text())
    hist = (out.run_dir / "history.jsonl").read_text()
    assert '"killed"' in hist, "the leader was never killed; the test proved nothing"
    assert out.valid is False, json.dumps(res.get("anomaly-types"))
    assert {"lost-write", "unseen"} & set(res["anomaly-types"]), res["anomaly-types"]
    # Every broker runs again: the run healed what it broke.
    assert all(cluster3.kafka_running(n) for n in cluster3.nodes)
