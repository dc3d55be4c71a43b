"""Disk faults on a real 3-node Kafka cluster whose data directories sit on the prozess-disk layer.

- power-cut: records a broker acknowledged (acks=all) but never fsynced are in its
  segment files before the cut and gone from them after it; the broker comes back;
- corrupt-segment: the bytes of the recorded region really changed;
- disk-full: with the limit in force a file in the node's data directory cannot grow
  (ENOSPC) and statfs shows no more room than the headroom; after the stop it can;
- a process that applied disk-full and power-cut is SIGKILLed and the layer's daemon on
  another node dies; `prozess heal CLUSTER` remounts the dead layer, frees the disk,
  starts the brokers, and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prozess.nemesis import disk
from prozess.nemesis.combined import Combined
from prozess.nemesis.executor import Executor
from prozess.nemesis.heal import leftovers

pytestmark = [pytest.mark.integration]

TOPIC = "disk-t"
BACKING = "/var/lib/kafka/.prozess-backing"


@pytest.fixture(scope="module")
def cluster():
    from prozess.cluster import ClusterSpec, open_cluster

    from prozess.cluster.engine import engine_answers

    if not engine_answers():
        pytest.skip("no docker engine answers")
    c = open_cluster(ClusterSpec.preset("safe"), backend="docker", name=f"pzdisk{os.getpid() % 10000}", disk_faults=True)
    try:
        c.up(timeout=420)
        c.create_topic(TOPIC, partitions=1, replication_factor=3)
        yield c
    finally:
        c.down()


@pytest.fixture
def nemesis(cluster, tmp_path):
    nem = Combined(faults=["power-cut", "corrupt-segment", "disk-full"], options={"topic": TOPIC})
    nem.setup(cluster, {"run_dir": str(tmp_path)})
    yield nem
    nem.teardown()
    assert leftovers(Executor(cluster)) == {}
    cluster.wait_healthy(300)


def produce(cluster, marker: str, n: int = 50) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": cluster.bootstrap_servers(), "acks": "all", "linger.ms": 5, "message.timeout.ms": 60000})
    failed = []
    for i in range(n):
        p.produce(TOPIC, f"{marker}-{i:04d}".encode(), callback=lambda err, msg: err and failed.append(err))
    assert p.flush(90) == 0 and not failed, failed


def files_with(cluster, node: str, needle: str) -> list[str]:
    r = cluster.exec(node, ["grep", "-r", "-a", "-l", needle, f"{BACKING}/{TOPIC}-0"], timeout=30)
    return r.stdout.split()


def test_power_cut_drops_acknowledged_unsynced_bytes_from_the_segment(cluster, nemesis):
    for n in cluster.nodes:
        assert cluster.exec(n, ["/opt/prozess/bin/prozess-disk", "check"]).stdout.strip() == "ok"
    marker = f"PZCUT{os.getpid()}{int(time.time())}"
    produce(cluster, marker)
    node = cluster.leader(TOPIC, 0)
    deadline = time.monotonic() + 30
    while not files_with(cluster, node, marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert any(f.endswith(".log") for f in files_with(cluster, node, marker))
    t, value = nemesis.invoke("start-power-cut", {"targets": "one", "nodes": [node]})
    assert "error" not in value, value
    assert value["cut"][node]["bytes-dropped"] > 0 or value["cut"][node]["removed"], value
    assert not cluster.kafka_running(node)
    assert files_with(cluster, node, marker) == []  # acknowledged, never fsynced: gone from this disk
    t, value = nemesis.invoke("stop-power-cut", {})
    assert node in value["started"] and cluster.kafka_running(node)


def test_corrupt_segment_changes_the_recorded_region(cluster, nemesis):
    produce(cluster, f"PZCOR{os.getpid()}")
    node = cluster.nodes[1]
    before = {}
    for n in [node]:
        r = cluster.exec(n, ["sh", "-c", 'cd "$1" && cat *.log | md5sum', "pz", f"{BACKING}/{TOPIC}-0"])
        before[n] = r.stdout
    t, value = nemesis.invoke("start-corrupt-segment", {"targets": "one", "nodes": [node], "target": "newest", "mode": "bitflip", "seed": 3, "topic": TOPIC})
    assert "error" not in value, value
    region = value["regions"][node]
    assert region["file"].startswith(f"{TOPIC}-0/") and region["file"].endswith(".log") and len(region["bits"]) == 8
    after = cluster.exec(node, ["sh", "-c", 'cd "$1" && cat *.log | md5sum', "pz", f"{BACKING}/{TOPIC}-0"]).stdout
    assert after != before[node]
    nemesis.invoke("stop-corrupt-segment", {})


# Grows a probe file in the data directory by `truncate -s` (the layer counts growth by truncate as by write, and
# refuses it without using any room, so the broker beside it never meets the full disk), then removes it.
GROW = r"""
rc=0; out=$(truncate -s "$2" "$1/.pz-full-probe" 2>&1) || rc=$?
rm -f "$1/.pz-full-probe"
echo "rc=$rc $out"
"""


def test_disk_full_refuses_growth_until_the_stop(cluster, nemesis):
    node, data = cluster.nodes[1], cluster.layout(cluster.nodes[1]).data
    headroom = 4 << 20

    def grow(size: str) -> str:
        return cluster.exec(node, ["sh", "-c", GROW, "pz", data, size], timeout=30).stdout.strip()

    assert grow("64M") == "rc=0"  # room before the fault
    t, value = nemesis.invoke("start-disk-full", {"targets": "one", "nodes": [node], "headroom": headroom})
    assert "error" not in value, value
    assert value["limits"][node]["limit"] == value["limits"][node]["used"] + headroom
    refused = grow("64M")
    assert refused.startswith("rc=1") and "No space left on device" in refused, refused
    free_kib = int(cluster.exec(node, ["df", "--output=avail", "-k", data]).stdout.split()[-1])
    assert free_kib <= headroom // 1024, free_kib  # statfs says the same
    assert any("disk: full" in x for x in leftovers(Executor(cluster)).get(node, []))
    t, value = nemesis.invoke("stop-disk-full", {})
    assert node in value["freed"]
    assert grow("64M") == "rc=0"


CHILD = r"""
import sys
from prozess.cluster import attach_cluster
from prozess.nemesis.combined import Combined
c = attach_cluster(sys.argv[1])
nem = Combined(faults=["disk-full", "power-cut"], options={"topic": "disk-t"})
nem.setup(c, {"nemesis_log": sys.argv[2]})
for f, v in (("start-disk-full", {"targets": "one", "nodes": ["n2"]}), ("start-power-cut", {"targets": "one", "nodes": ["n3"]})):
    t, value = nem.invoke(f, v)
    if "error" in value:
        print("failed", value, flush=True)
        sys.exit(1)
print("applied", flush=True)
import time
time.sleep(600)
"""


def test_sigkilled_runner_then_prozess_heal_remounts_frees_and_restarts(cluster, tmp_path):
    child = subprocess.Popen([sys.executable, "-c", CHILD, cluster.name, str(tmp_path / "nemesis.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = child.stdout.readline().decode().strip()
        assert line == "applied", (line, child.stderr.read1(4000) if line == "" else "")
    finally:
        child.kill()
        child.wait()
    ex = Executor(cluster)
    # The layer's daemon on n1 dies too: its mount is left dead under the broker.
    pid = disk.ctl(ex, "n1", {"cmd": "status"})["pid"]
    cluster.exec("n1", ["kill", "-9", str(pid)])
    before = leftovers(ex)
    assert any("disk: full" in x for x in before.get("n2", [])), before
    assert "kafka: not running" in before.get("n3", []), before
    assert any("does not answer" in x for x in before.get("n1", [])), before
    prozess = Path(sys.executable).with_name("prozess")
    r = subprocess.run([str(prozess), "heal", cluster.name], capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert leftovers(ex) == {}
    for n in cluster.nodes:
        assert cluster.exec(n, ["/opt/prozess/bin/prozess-disk", "check"]).stdout.strip() == "ok"
        mounts = [line for line in cluster.exec(n, ["cat", "/proc/mounts"]).stdout.splitlines() if "prozess-disk" in line]
        assert len(mounts) == 1, mounts  # the dead mount is gone, one live layer remains
    cluster.wait_healthy(300)
    produce(cluster, "PZAFTERHEAL", 5)
