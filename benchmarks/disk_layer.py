"""The broker's produce rate with and without the prozess-disk layer, and their ratio.

Boots a 3-node docker cluster without the layer, measures, tears it down, then the
same with the layer (`disk_faults=True`), and prints for each:

- batched: one producer (acks=all, RF 3, min ISR 2, linger 5 ms) sends `--messages`
  records of `--size` bytes as fast as it can: records/s and MiB/s;
- sync: one producer sends one record and waits for its acknowledgement, for
  `--seconds` seconds: acknowledged sends/s (the latency-bound rate a workload sees);

then layer/plain for each. With `--micro` it also times sequential 64 KiB writes
of 256 MiB through a layer mounted on this host against the same writes straight
to the backing directory (no Kafka: the layer's own cost).

    .venv/bin/python benchmarks/disk_layer.py
    .venv/bin/python benchmarks/disk_layer.py --micro-only
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

LAYER = Path(__file__).resolve().parents[1] / "cluster" / "node" / "bin" / "prozess-disk"


def produce_rates(bootstrap: str, topic: str, messages: int, size: int, seconds: float) -> dict:
    from confluent_kafka import Producer

    payload = os.urandom(size)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": True,
                  "queue.buffering.max.messages": 200000, "message.timeout.ms": 120000})
    # warm-up: metadata, leader connections
    p.produce(topic, payload)
    p.flush(60)
    errors = []
    start = time.monotonic()
    for i in range(messages):
        while True:
            try:
                p.produce(topic, payload, callback=lambda err, msg: err and errors.append(str(err)))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(300)
    batched_s = time.monotonic() - start
    sync_n = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        p.produce(topic, payload[:100])
        if p.flush(30) == 0:
            sync_n += 1
    sync_s = time.monotonic() - start
    return {
        "batched_records_per_s": round(messages / batched_s, 1),
        "batched_mib_per_s": round(messages * size / batched_s / 2**20, 2),
        "sync_sends_per_s": round(sync_n / sync_s, 1),
        "errors": len(errors) + left,
    }


def cluster_rates(disk_faults: bool, args) -> dict:
    from prozess.cluster import ClusterSpec, open_cluster

    c = open_cluster(ClusterSpec.preset("safe"), backend="docker", name=f"{args.name_prefix}{secrets.token_hex(2)}", disk_faults=disk_faults)
    try:
        t = time.monotonic()
        c.up(timeout=600)
        boot = time.monotonic() - t
        topic = "bench"
        c.create_topic(topic, partitions=1, replication_factor=3)
        if disk_faults:
            mounted = [c.exec(n, [f"{c.backend.node_layout(n).bin}/prozess-disk", "check"]).stdout.strip() for n in c.nodes]
            assert mounted == ["ok"] * len(c.nodes), mounted
        out = produce_rates(c.bootstrap_servers(), topic, args.messages, args.size, args.seconds)
        out["boot_s"] = round(boot, 1)
        return out
    finally:
        c.down()


def micro(total_mib: int = 256, chunk: int = 64 * 1024) -> dict:
    """Sequential writes (one fsync at the end) through a host mount of the layer vs the backing dir itself."""
    if not (os.path.exists("/dev/fuse") and shutil.which("fusermount3")):
        return {"skipped": "no /dev/fuse or fusermount3 on this host"}
    root = Path(tempfile.mkdtemp(prefix="pz-disk-bench-"))
    backing, mnt = root / "backing", root / "mnt"
    backing.mkdir()
    mnt.mkdir()
    proc = subprocess.Popen(["/usr/bin/python3", str(LAYER), "serve", str(backing), str(mnt), str(root / "ctl.sock")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not os.path.ismount(mnt):
            if proc.poll() is not None or time.monotonic() > deadline:
                return {"skipped": "the layer did not mount (python3-pyfuse3 missing?)"}
            time.sleep(0.05)
        buf = os.urandom(chunk)

        def timed(path: Path) -> float:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            t = time.monotonic()
            for _ in range(total_mib * 2**20 // chunk):
                os.write(fd, buf)
            os.fsync(fd)
            os.close(fd)
            return time.monotonic() - t

        direct = timed(backing / "direct")
        layered = timed(mnt / "layered")
        return {"direct_mib_per_s": round(total_mib / direct, 1), "layer_mib_per_s": round(total_mib / layered, 1),
                "ratio": round(direct and layered and (total_mib / layered) / (total_mib / direct), 3)}
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--micro", action="store_true", help="also time writes through a layer on this host")
    ap.add_argument("--micro-only", action="store_true")
    ap.add_argument("--name-prefix", default="pzbench", help="prefix of the names of the clusters it starts")
    args = ap.parse_args()
    result: dict = {}
    if args.micro or args.micro_only:
        result["micro"] = micro()
        print("micro:", json.dumps(result["micro"]), flush=True)
    if not args.micro_only:
        for name, flag in (("plain", False), ("layer", True)):
            result[name] = cluster_rates(flag, args)
            print(f"{name}:", json.dumps(result[name]), flush=True)
        p, l = result["plain"], result["layer"]
        result["ratio"] = {k: round(l[k] / p[k], 3) for k in ("batched_records_per_s", "batched_mib_per_s", "sync_sends_per_s") if p[k]}
        print("layer/plain:", json.dumps(result["ratio"]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
