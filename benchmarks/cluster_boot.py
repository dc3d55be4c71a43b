"""Time to a healthy Kafka cluster with a cached node image, and memory per broker.

    .venv/bin/python benchmarks/cluster_boot.py [--backend docker|netns] [--sizes 3,5]

Targets on a 2-core machine: 3 nodes under 60 s, 5 nodes under 90 s. "Healthy" is what
Cluster.up waits for: every broker registered and a KRaft quorum leader. Memory is the
resident set (VmRSS) of each broker JVM once healthy. Every cluster is torn down,
also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time


def rss_mib(cluster, node: str) -> float | None:
    pid = cluster.kafka_pid(node)
    if pid is None:
        return None
    r = cluster.exec(node, ["grep", "VmRSS", f"/proc/{pid}/status"])
    parts = r.stdout.split()
    return int(parts[1]) / 1024 if len(parts) >= 2 else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="docker", choices=["docker", "netns", "ssh"])
    ap.add_argument("--sizes", default="3,5", help="comma-separated node counts")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()

    from prozess.cluster import ClusterSpec, open_cluster

    if args.backend in ("docker", "ssh"):
        from prozess.cluster.engine import docker_client
        from prozess.cluster.image import ensure_node_image

        t = time.monotonic()
        tag = ensure_node_image(docker_client(), ClusterSpec().kafka_version, log=lambda m: print(m, file=sys.stderr))
        print(f"node image {tag} ready in {time.monotonic() - t:.1f} s (cached unless built just now)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    targets = {3: 60, 5: 90}
    for size in [int(s) for s in args.sizes.split(",")]:
        cluster = open_cluster(ClusterSpec(nodes=size), backend=args.backend, name=f"pzbench-{size}-{secrets.token_hex(2)}")
        try:
            t = time.monotonic()
            cluster.up(timeout=args.timeout)
            took = time.monotonic() - t
            mem = [m for m in (rss_mib(cluster, n) for n in cluster.brokers) if m is not None]
            target = targets.get(size)
            verdict = "" if target is None else (f" (target < {target} s: {'met' if took < target else 'MISSED'})")
            print(f"{size} nodes ({args.backend}): healthy in {took:.1f} s{verdict}")
            if mem:
                print(f"  memory per broker (RSS): mean {statistics.mean(mem):.0f} MiB, max {max(mem):.0f} MiB"
                      f" (heap limit {cluster.spec.heap})")
        finally:
            cluster.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
