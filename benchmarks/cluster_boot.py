"""Time to a healthy Kafka cluster with a cached node image, and memory per broker.

    .venv/bin/python benchmarks/cluster_boot.py [--backend docker|netns] [--sizes 3,5]
    .venv/bin/python benchmarks/cluster_boot.py --mirror [--sizes 3]

With --mirror: a mirror campaign's set-up (source and target of each size, booted in
parallel, plus the MirrorMaker 2 node), timed to `up()` returning and to MM2 having
started its connectors (its log says so); target 120 s for two 3-node clusters.

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
    ap.add_argument("--mirror", action="store_true", help="boot source + target + MirrorMaker 2 instead")
    args = ap.parse_args()
    if args.mirror:
        return mirror_boot([int(s) for s in args.sizes.split(",")], args.timeout)

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


def mirror_boot(sizes: list[int], timeout: float) -> int:
    """Source and target of each size plus the MM2 node: seconds to up() and to MM2's connectors started."""
    from prozess.cluster import ClusterSpec
    from prozess.cluster.mirror import MM2, open_mirror

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for size in sizes:
        m = open_mirror(ClusterSpec(nodes=size), {"target_nodes": size}, name=f"pzbench-mm2-{secrets.token_hex(2)}",
                        log=lambda msg: print(f"  {msg}", file=sys.stderr))
        try:
            t = time.monotonic()
            m.up(timeout=timeout)
            took_up = time.monotonic() - t
            ready = None
            while time.monotonic() - t < timeout:
                r = m.exec(MM2, ["grep", "-c", "Finished starting connectors and tasks", "/var/log/kafka/mm2-connect.log"])
                if r.returncode == 0 and int(r.stdout.strip() or 0) > 0:
                    ready = time.monotonic() - t
                    break
                time.sleep(0.5)
            verdict = "met" if ready is not None and ready <= 120 else "MISSED"
            print(f"mirror {size}+{size} nodes + MM2: up() in {took_up:.1f} s, MM2 connectors started at "
                  f"{'never' if ready is None else f'{ready:.1f} s'} (target <= 120 s: {verdict})")
        finally:
            m.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
