"""Tansu on a real cluster (docker): three stateless brokers on PostgreSQL on a node of its own.

Boots n1..n3 + pg1 from the cached Tansu binary and the Tansu node image, checks the
roles and lookups (every broker leads; the storage node stands in for the
controller), kills and restarts the storage server, runs a short queue workload
under partitions that cut the storage node off and kills of brokers and storage,
and checks that a workload needing an API Tansu lacks (EndTxn) ends `unavailable`
rather than failed. Needs a docker engine; the binary is built once by `prozess setup`.
"""

from __future__ import annotations

import json
import secrets

import pytest

from prozess.runner import run_test
from prozess.spec import TestSpec

pytestmark = [pytest.mark.integration]


def _docker_or_skip() -> None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"docker engine unavailable: {e}")


def test_tansu_cluster_under_faults(tmp_path):
    _docker_or_skip()
    from prozess.cluster import ClusterSpec, open_cluster

    c = open_cluster(ClusterSpec(system="tansu"), backend="docker", name=f"pztansu-{secrets.token_hex(2)}")
    try:
        c.up(timeout=300)
        assert c.nodes == ["n1", "n2", "n3", "pg1"] and c.roles("pg1") == ["storage"]
        assert c.system.describe() == "Tansu 0.6.0 (PostgreSQL storage)"
        assert c.registered_brokers() == ["n1", "n2", "n3"]
        assert c.leader("any-topic") == "n1" and c.active_controller() == "pg1"

        c.kill_kafka("pg1")  # the storage server: brokers stay up, the cluster is not healthy
        assert not c.kafka_running("pg1") and c.system.health(c) is not None
        c.start_kafka("pg1")
        c.wait_healthy(60)

        spec = TestSpec(
            name="tansu-faults", time_limit=24, rate=100, concurrency=4, seed=3, results_dir=str(tmp_path),
            faults=["partition+kill"],
            nemesis={"interval": 6, "duty": 0.6, "quiet": 4, "grudges": ["controller", "isolate-one"],
                     "targets": ["controller", "one"]},
            workload_options={"topic_prefix": "tansu", "final_time_limit_s": 20},
        )
        out = run_test(spec, cluster=c, progress=False)
        assert out.valid is True, (out.run_dir / "results.json").read_text()[:2000]
        steps = [json.loads(line) for line in (out.run_dir / "history.jsonl").read_text().splitlines() if '"nemesis"' in line]
        assert any(s["f"] == "kill" and s["value"].get("nodes") for s in steps), "no kill was applied"

        eos = TestSpec(name="tansu-eos", workload="eos", time_limit=5, seed=1, results_dir=str(tmp_path))
        out = run_test(eos, cluster=c, progress=False)
        assert out.valid == "unknown" and out.results["unavailable"] == {"txn": ["EndTxn"]}
    finally:
        c.down()
