"""Older Kafka releases on real clusters (docker): 3.9.1 in ZooKeeper mode and 3.9.1 in KRaft mode.

The ZooKeeper-mode test boots 3 ZooKeeper + 3 broker nodes from cached artifacts
(bounded at 90 s), checks that leader, controller and ensemble-leader lookups answer,
kills the ensemble's leader (a new one must be elected) and runs a short queue
workload under the role-aware partitions (controller cut off from ZooKeeper, the
ensemble's leader isolated, brokers split from the ensemble). The KRaft test runs the
same workload under leader kills on 3.9.1, an older KRaft line than the default.
Both need the 3.9.1 jars (downloaded once from Maven Central) and a docker engine.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest

from prozess.runner import run_test
from prozess.spec import TestSpec

pytestmark = [pytest.mark.integration]

VERSION = "3.9.1"
BOOT_LIMIT_S = 90


def _docker_or_skip() -> None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"docker engine unavailable: {e}")


def _up(spec, prefix: str):
    from prozess.cluster import open_cluster

    c = open_cluster(spec, backend="docker", name=f"{prefix}-{secrets.token_hex(2)}")
    c.backend.prepare(c.spec)  # jars and image (cached after the first time): not part of the boot
    t0 = time.monotonic()
    c.up(timeout=300)
    return c, time.monotonic() - t0


def _nemesis_steps(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines() if '"nemesis"' in line]


def test_zookeeper_mode_cluster(tmp_path):
    _docker_or_skip()
    from prozess.cluster import ClusterSpec

    c, boot = _up(ClusterSpec.preset("safe", kafka_version=VERSION, metadata="zookeeper"), "pzzk")
    try:
        assert boot <= BOOT_LIMIT_S, f"3 ZooKeeper + 3 brokers took {boot:.0f} s to boot"
        assert c.nodes == ["n1", "n2", "n3", "zk1", "zk2", "zk3"] and c.controllers == []
        assert c.registered_brokers() == ["n1", "n2", "n3"]
        assert c.active_controller() in c.brokers
        c.create_topic("zk-probe", partitions=2)
        assert c.leader("zk-probe", 0) in c.brokers and sorted(c.isr("zk-probe", 0)) == ["n1", "n2", "n3"]

        zk_leader = c.zookeeper_leader()
        assert zk_leader in c.zookeepers
        c.kill_kafka(zk_leader)  # on a ZooKeeper node this is its ZooKeeper server
        assert not c.kafka_running(zk_leader)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and c.zookeeper_leader() in (None, zk_leader):
            time.sleep(0.5)
        assert c.zookeeper_leader() not in (None, zk_leader), "the ensemble elected no new leader"
        c.start_kafka(zk_leader)
        c.wait_healthy(60)

        spec = TestSpec(
            name="zk-roles", time_limit=24, rate=100, concurrency=4, seed=5, results_dir=str(tmp_path),
            faults=["partition"],
            nemesis={"interval": 8, "duty": 0.6, "quiet": 4,
                     "grudges": ["controller-zookeeper", "zookeeper-leader", "brokers-zookeeper"]},
            workload_options={"topic_prefix": "zkroles", "final_time_limit_s": 20},
        )
        out = run_test(spec, cluster=c, progress=False)
        assert out.valid is True, (out.run_dir / "results.json").read_text()[:2000]
        applied = [s["value"] for s in _nemesis_steps(out.run_dir) if s["f"] == "start-partition" and "components" in s["value"]]
        assert applied, "no partition was applied"
        zks = set(c.zookeepers)
        for v in applied:
            cut = {n for n, peers in v["drops"].items() if peers}
            assert cut & zks, f"a role-aware grudge that cuts no ZooKeeper node: {v}"
    finally:
        c.down()


def test_older_kraft_release(tmp_path):
    _docker_or_skip()
    from prozess.cluster import ClusterSpec

    c, _ = _up(ClusterSpec.preset("safe", kafka_version=VERSION), "pzkr")
    try:
        assert c.system.describe() == f"Apache Kafka {VERSION} (KRaft)"
        assert c.active_controller() in c.controllers
        spec = TestSpec(
            name="kraft-391", time_limit=20, rate=100, concurrency=4, seed=9, results_dir=str(tmp_path),
            faults=["kill"], nemesis={"interval": 8, "duty": 0.5, "quiet": 4, "targets": ["leader", "controller"]},
            workload_options={"topic_prefix": "kraft391", "final_time_limit_s": 20},
        )
        out = run_test(spec, cluster=c, progress=False)
        assert out.valid is True, (out.run_dir / "results.json").read_text()[:2000]
        test = json.loads((out.run_dir / "test.json").read_text())
        assert test["cluster"]["kafka_version"] == VERSION and test["cluster"]["metadata"] == "kraft"
        assert any(s["f"] == "kill" and s["value"].get("nodes") for s in _nemesis_steps(out.run_dir))
    finally:
        c.down()
