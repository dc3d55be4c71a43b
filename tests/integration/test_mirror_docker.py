"""A mirror campaign on docker: two real 3-node Kafka clusters and a real MirrorMaker 2 node, under faults.

One short run of `prozess run --workload mirror` through the runner: source
and target clusters plus the MM2 node (on both networks), a fixed schedule with
one fault of each mirror kind (MM2 cut from the source, killed, paused, cut
from the target) and a kill of a source leader. It asserts a real verdict
(valid, every source value copied, the group failed over) with every fault
applied. The set-up is kept for the second half: `prozess cluster status` and
`logs` name all three parts; faults left on it on purpose (MM2 killed and cut
off, a target broker paused) are cleared by `prozess heal NAME`; and `prozess
cluster down NAME` removes source, target and MM2 node with nothing left
behind (no container, no network, no state file), while `down` of the
target alone refuses with one error naming that command.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.integration]

SCHEDULE = [
    {"at": 4.0, "f": "start-mirror-partition", "value": {"side": "source"}},
    {"at": 9.0, "f": "stop-mirror-partition", "value": {}},
    {"at": 11.0, "f": "kill-mirror", "value": {"nodes": ["mm2"]}},
    {"at": 15.0, "f": "start-mirror", "value": {}},
    {"at": 17.0, "f": "pause-mirror", "value": {"nodes": ["mm2"]}},
    {"at": 21.0, "f": "resume-mirror", "value": {}},
    {"at": 23.0, "f": "kill", "value": {"targets": "leader"}},
    {"at": 27.0, "f": "start", "value": {}},
    {"at": 28.0, "f": "start-mirror-partition", "value": {"side": "target"}},
    {"at": 32.0, "f": "stop-mirror-partition", "value": {}},
]


def _prozess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prozess", *args], capture_output=True, text=True, timeout=300)


def _docker_names(name: str) -> tuple[list[str], list[str]]:
    from prozess.cluster.engine import docker_client

    client = docker_client()
    containers = [c.name for c in client.containers.list(all=True) if c.name.startswith(f"{name}-")]
    networks = [n.name for n in client.networks.list() if n.name.startswith(f"{name}-")]
    return containers, networks


def test_mirror_campaign_on_docker_is_valid_and_heals_and_downs_cleanly(tmp_path):
    from prozess.cluster import attach_cluster
    from prozess.cluster.engine import engine_answers
    from prozess.cluster.state import state_path
    from prozess.nemesis.executor import Executor
    from prozess.nemesis.heal import leftovers
    from prozess.nemesis.partition import apply_partition
    from prozess.runner import run_test
    from prozess.spec import TestSpec

    if not engine_answers():
        pytest.skip("no docker engine answers")
    spec = TestSpec(name="mirror-docker", workload="mirror", time_limit=40, rate=40, concurrency=3, seed=5,
                    results_dir=str(tmp_path), keep_cluster=True,
                    faults=["mirror-partition", "mirror-kill", "mirror-pause", "kill"], nemesis_schedule=SCHEDULE,
                    workload_options={"mirror_wait_s": 45, "final_time_limit_s": 100})
    t0 = time.monotonic()
    out = run_test(spec, progress=False)
    wall = time.monotonic() - t0
    name = json.loads((out.run_dir / "test.json").read_text())["cluster_name"]
    try:
        r = out.results
        m = r["checkers"]["mirror"]["mirror"]
        actions = r["faults"]["kinds"]
        print(f"\nmirror campaign in {wall:.1f}s: {m}, verdict {out.valid}, faults {actions}")
        assert out.valid is True, (r.get("error"), r.get("anomaly-types"), r["checkers"]["mirror"].get("anomalies"), r.get("faults"))
        assert m["source-values"] > 0 and m["target-values"] == m["source-values"] and m["failovers"] == 1
        assert m["unsettled"] == [], m                    # the failover waited for MM2's translation: rewinds were judged
        for kind in ("mirror-partition", "mirror-kill", "mirror-pause", "kill"):
            assert actions[kind]["applied"] >= 1 and not actions[kind].get("failed"), (kind, actions[kind])
        assert sorted(p.name for p in (out.run_dir / "nodes").iterdir()) == ["mm2", "n1", "n2", "n3", "t1", "t2", "t3"]
        report = (out.run_dir / "report.html").read_text()  # one timeline, both clusters' windows, labelled apart
        for label in ("mirror-partition mm2 from source", "mirror-partition mm2 from target", "mirror-kill mm2", "mirror-pause mm2",
                      "MirrorMaker 2 "):
            assert label in report, label

        # -- status and logs name all three parts ----------------------------------------------------
        res = _prozess("cluster", "status", name)
        assert res.returncode == 0 and all(f"  {n} " in res.stdout for n in ("n1", "t3", "mm2")), res.stdout + res.stderr
        res = _prozess("cluster", "logs", name, "--node", "mm2", "--lines", "3")
        assert res.returncode == 0 and "==> mm2 <==" in res.stdout and "no server.log" not in res.stdout, res.stdout + res.stderr

        # -- prozess heal NAME clears faults on the target and on MM2 ------------------------------
        c = attach_cluster(name)
        assert c.nodes == ["n1", "n2", "n3", "t1", "t2", "t3", "mm2"]
        ex = Executor(c)
        c.kill_kafka("mm2")
        c.pause_kafka("t2")
        apply_partition(ex, {"mm2": sorted(c.side_addresses("target").values())}, ["mm2"])
        left = leftovers(ex)
        assert {"mm2", "t2"} <= set(left), left
        res = _prozess("heal", name)
        assert res.returncode == 0, res.stdout + res.stderr
        assert leftovers(ex) == {}
        assert c.kafka_running("mm2") and c.kafka_running("t2")

        # -- the target alone cannot be removed under MM2: one error naming the command that can --------
        res = _prozess("cluster", "down", f"{name}-t")
        assert res.returncode == 1 and f"prozess cluster down {name}`" in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert c.kafka_running("t1") and state_path(f"{name}-t").exists()
    finally:
        res = _prozess("cluster", "down", name)
    assert res.returncode == 0, res.stdout + res.stderr
    containers, networks = _docker_names(name)
    assert containers == [] and networks == [], (containers, networks)
    assert not state_path(name).exists() and not state_path(f"{name}-t").exists()
