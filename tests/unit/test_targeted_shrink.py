"""The shrink-isr step of the targeted nemesis, on a fake cluster that records commands (no nodes, no iptables).

What it must do on a real cluster is proved by the detection smoke test; here: which
connections it cuts (only those to the leader's broker port, so a ZooKeeper-mode
leader can still reach the controller broker), and that a shrink that never happens
is a failed step with replication restored, not an applied fault.
"""

from __future__ import annotations

import subprocess

from prozess.nemesis.executor import Executor
from prozess.nemesis.partition import PART_CHAIN, flush_argv
from prozess.nemesis.targeted import Targeted


class RecordingCluster:
    nodes = ("n1", "n2", "n3")

    def __init__(self, isr_after: list[list[str]]):
        self.calls: list[tuple[str, list[str], bytes | None]] = []
        self.isr_after = list(isr_after)

    def exec(self, node, argv, timeout=30, input=None):
        self.calls.append((node, list(argv), input))
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    def address(self, node):
        return {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}[node]

    def leader(self, topic, partition):
        return "n1"

    def isr(self, topic, partition):
        return self.isr_after.pop(0) if len(self.isr_after) > 1 else self.isr_after[0]


def _nemesis(cluster, timeout=1.0):
    t = Targeted("shrink-isr-kill", {"topic": "t-0", "shrink_timeout": timeout})
    t.cluster, t.ex, t.topic = cluster, Executor(cluster), "t-0"
    return t


def _rules(cluster):
    return [line for node, argv, inp in cluster.calls if inp for line in inp.decode().splitlines() if line.startswith("-A ")]


def test_only_fetches_to_the_leader_are_cut_and_the_shrunk_isr_is_recorded():
    cluster = RecordingCluster([["n1", "n2", "n3"], ["n1"]])
    f, value = _nemesis(cluster).invoke("start-partition", {"grudge": "replication"})
    assert value.get("shrunk") is True and value["isr"] == ["n1"] and "error" not in value
    rules = _rules(cluster)
    assert {node for node, argv, inp in cluster.calls if inp} == {"n1"}  # rules live on the leader only
    assert len(rules) == 4
    for peer in ("10.0.0.2", "10.0.0.3"):
        assert any(f"-s {peer} -p tcp --dport 9092 -j DROP" in r for r in rules)  # a follower's fetch requests
        assert any(f"-d {peer} -p tcp --sport 9092 -j DROP" in r for r in rules)  # the leader's answers to them
    # The leader's own connections to other brokers (AlterPartition to a ZooKeeper-mode controller) pass.
    assert not any("--dport 9092" in r and "-d " in r for r in rules)
    assert not any("--sport 9092" in r and "-s " in r for r in rules)


def test_an_isr_that_never_shrinks_fails_the_step_and_restores_replication():
    cluster = RecordingCluster([["n1", "n2", "n3"]])
    f, value = _nemesis(cluster, timeout=0.6).invoke("start-partition", {"grudge": "replication"})
    assert "did not shrink to its leader n1" in value["error"] and "replication restored" in value["error"]
    flushed = {node for node, argv, inp in cluster.calls if argv == flush_argv([PART_CHAIN])}
    assert flushed == {"n1", "n2", "n3"}
