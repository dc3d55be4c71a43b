"""Sustained recorded ops/s of the queue workload, and its ratio to the raw client rate.

Runs on one cluster, in one process, back to back:

1. raw: N threads, each with its own confluent producer+consumer, alternate
   one send (produce + flush) and one poll, with no generator, no history and
   no checker — what the client library alone does on this machine;
2. harness: `prozess.runner.run_test` with the same N processes, rate
   unlimited, recording every op to history.jsonl.

Prints both rates and harness/raw (the harness overhead). Targets: at least
1,000 recorded ops/s with 10 processes on a 3-node cluster, ratio >= 0.5.

    .venv/bin/python benchmarks/workload_rate.py                 # 3-node docker cluster
    .venv/bin/python benchmarks/workload_rate.py --bootstrap H:P --replication-factor 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time


def raw_rate(bootstrap: str, threads: int, seconds: float, rf: int, min_isr: int) -> float:
    from confluent_kafka import Consumer, Producer, TopicPartition

    from prozess.workloads.clients.admin import TopicManager
    from prozess.workloads.clients.base import KeyMap

    km = KeyMap(f"raw{int(time.time())}", 8)
    TopicManager(bootstrap, km, replication_factor=rf, min_insync_replicas=min_isr).ensure([str(i) for i in range(8)])
    counts = [0] * threads
    stop = threading.Event()

    def work(i: int) -> None:
        # The same client settings the harness uses, so the ratio measures the harness alone.
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0,
                      "socket.nagle.disable": True})
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{i}", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "fetch.wait.max.ms": 50, "socket.nagle.disable": True})
        c.assign([TopicPartition(*km.topic_partition(str(k))) for k in range(8)])
        n = 0
        v = 0
        while not stop.is_set():
            if n % 2 == 0:
                v += 1
                t, part = km.topic_partition(str(v % 8))
                p.produce(t, value=str(v).encode(), partition=part)
                p.flush(5)
            else:
                m = c.poll(0.1)
                if m is not None:
                    c.consume(1000, 0)
            n += 1
            counts[i] = n
        c.close()

    ts = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    time.sleep(2.0)  # warm-up: connections, metadata, PIDs
    base = sum(counts)
    t0 = time.monotonic()
    time.sleep(seconds)
    done = sum(counts) - base
    elapsed = time.monotonic() - t0
    stop.set()
    for t in ts:
        t.join(10)
    return done / elapsed


def harness_rate(bootstrap: str | None, cluster, threads: int, seconds: float, rf: int, min_isr: int, results: str) -> tuple[float, dict]:
    from prozess.history import read_jsonl
    from prozess.runner import run_test
    from prozess.spec import TestSpec
    from prozess.store import Run

    spec = TestSpec(
        name="bench-workload-rate", time_limit=seconds, rate=0, concurrency=threads, seed=1, results_dir=results,
        bootstrap=bootstrap, workload_options={"final_time_limit_s": 10, "topic_prefix": f"h{int(time.time())}"},
    )
    if bootstrap:
        spec.cluster = {"replication_factor": rf, "min_insync_replicas": min_isr}
    out = run_test(spec, cluster=cluster, progress=False)
    h = read_jsonl(Run(out.run_dir).history_path)
    comps = [op for op in h if op.type != "invoke" and op.process != "nemesis"]
    main_end = seconds * 1e9
    main = [op for op in comps if op.time <= main_end]
    return len(main) / seconds, {"valid": out.valid, "run": str(out.run_dir), "ops": len(h)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", help="use this cluster instead of starting a 3-node docker cluster")
    ap.add_argument("--replication-factor", type=int, default=3)
    ap.add_argument("--min-insync-replicas", type=int, default=2)
    ap.add_argument("--threads", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds of unmeasured load before measuring")
    args = ap.parse_args()
    cluster = None
    results = tempfile.mkdtemp(prefix="prozess-bench-")
    try:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            from prozess.cluster import ClusterSpec, open_cluster

            cluster = open_cluster(ClusterSpec.preset("safe"), backend="docker")
            cluster.up()
            bootstrap = cluster.bootstrap_servers()
        # Warm the brokers up first (JIT, page cache): a cold cluster would make the first measurement look slow.
        raw_rate(bootstrap, args.threads, args.warmup, args.replication_factor, args.min_insync_replicas)
        raw = raw_rate(bootstrap, args.threads, args.seconds, args.replication_factor, args.min_insync_replicas)
        rec, info = harness_rate(args.bootstrap, cluster, args.threads, args.seconds, args.replication_factor, args.min_insync_replicas, results)
    finally:
        if cluster is not None:
            cluster.down()
    print(json.dumps({
        "threads": args.threads,
        "seconds": args.seconds,
        "raw_client_ops_per_s": round(raw, 1),
        "recorded_ops_per_s": round(rec, 1),
        "ratio": round(rec / raw, 3) if raw else None,
        "targets": {"recorded_ops_per_s": 1000, "ratio": 0.5},
        **info,
    }, indent=2))


if __name__ == "__main__":
    main()
