"""KRaft metadata across power cuts: committed topic and partition metadata must survive.

On a 3-node cluster made with the disk layer (every node a controller and a broker):
creates `--topics` topics, records each one's partitions and replicas, then, for
each round, cuts the power of a majority of the controllers (`power-cut` with
target `majority`; the last round cuts `all`), starts them again, waits until the
cluster is healthy and compares the metadata with the record. The KRaft metadata
log is fsynced before a record is committed, so nothing committed may be lost;
every round prints what each cut dropped from the nodes' disks (un-fsynced bytes of
partition data, not metadata) and whether the metadata is intact.

    .venv/bin/python benchmarks/metadata_power_cut.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def snapshot(cluster) -> dict[str, dict[int, list[int]]]:
    md = cluster.admin().list_topics(timeout=20)
    return {t: {p: sorted(pm.replicas) for p, pm in tm.partitions.items()} for t, tm in md.topics.items()
            if not t.startswith("__") and tm.error is None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topics", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from prozess.cluster import ClusterSpec, open_cluster
    from prozess.nemesis.combined import Combined

    c = open_cluster(ClusterSpec.preset("safe"), backend="docker", name=f"pzmeta{os.getpid() % 10000}", disk_faults=True)
    ok = True
    try:
        t = time.monotonic()
        c.up(timeout=600)
        print(f"cluster up in {time.monotonic() - t:.0f} s", flush=True)
        for i in range(a.topics):
            c.create_topic(f"meta-{i}", partitions=1 + i % 3, replication_factor=3)
        time.sleep(2)
        before = {k: v for k, v in snapshot(c).items() if k.startswith("meta-")}
        assert len(before) == a.topics, before
        nem = Combined(["power-cut"])
        nem.setup(c, {})
        for r in range(a.rounds):
            targets = "all" if r == a.rounds - 1 else "majority"
            nodes = c.nodes if targets == "all" else sorted(c.controllers)[: len(c.controllers) // 2 + 1] if r % 2 == 0 else sorted(c.controllers)[-(len(c.controllers) // 2 + 1):]
            t0 = time.monotonic()
            _, cut = nem.invoke("start-power-cut", {"targets": targets, "nodes": nodes})
            if "error" in cut:
                print(f"round {r}: power cut failed: {cut['error']}")
                ok = False
                break
            nem.invoke("stop-power-cut", {})
            c.wait_healthy(600)
            back = time.monotonic() - t0
            after = {k: v for k, v in snapshot(c).items() if k.startswith("meta-")}
            same = after == before
            ok &= same
            dropped = {n: {k: v for k, v in s.items() if k in ("files-cut", "bytes-dropped", "removed", "reverted")} for n, s in cut["cut"].items()}
            print(f"round {r}: power cut of {targets} {nodes}; healthy again after {back:.0f} s; metadata intact: {same}; "
                  f"dropped: {json.dumps(dropped)}", flush=True)
            if not same:
                print(f"  before: {before}\n  after:  {after}")
        nem.teardown()
    finally:
        c.down()
    print("KRaft metadata intact after every power cut" if ok else "KRaft metadata NOT intact (a finding)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
