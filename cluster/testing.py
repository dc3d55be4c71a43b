"""Helpers for tests that run real clusters: what a cluster leaves on the host.

`host_resources(cluster_name)` lists everything prozess could have made for one
cluster (containers, networks, namespaces, links, iptables rules, mounts, temp
dirs, /etc/netns entries, state file) so a test can prove `down` removes it all.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

from prozess.cluster.state import state_path

__all__ = ["host_resources", "produce_acked", "consume_all"]


def _lines(argv: list[str]) -> list[str]:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return r.stdout.splitlines() if r.returncode == 0 else []


def host_resources(cluster_name: str) -> dict[str, list[str]]:
    """Resources on this host that belong to cluster `cluster_name` (empty lists when none)."""
    tag = hashlib.sha1(cluster_name.encode()).hexdigest()[:6]
    marks = (cluster_name, f"pz{tag}", f"pzb{tag}", f"pzv{tag}", f"pzp{tag}")

    def mine(line: str) -> bool:
        return any(m in line for m in marks)

    out: dict[str, list[str]] = {}
    out["containers"] = [line for line in _lines(["docker", "ps", "-a", "--format", "{{.Names}}"]) if mine(line)]
    out["networks"] = [line for line in _lines(["docker", "network", "ls", "--format", "{{.Name}}"]) if mine(line)]
    out["netns"] = [line for line in _lines(["ip", "netns", "list"]) if mine(line)]
    out["links"] = [line for line in _lines(["ip", "-o", "link"]) if mine(line)]
    out["iptables"] = [line for line in _lines(["iptables", "-S"]) if mine(line)]
    out["mounts"] = [line for line in Path("/proc/mounts").read_text().splitlines() if f"prozess-{cluster_name}-" in line]
    out["tempdirs"] = [str(p) for p in Path(tempfile.gettempdir()).glob(f"prozess-{cluster_name}-*")]
    out["etc_netns"] = [str(p) for p in Path("/etc/netns").glob(f"pz{tag}*")] if Path("/etc/netns").is_dir() else []
    out["state"] = [str(state_path(cluster_name))] if state_path(cluster_name).exists() else []
    return out


def produce_acked(bootstrap: str, topic: str, values: list[str], *, client: str = "confluent", timeout: float = 60) -> list[str]:
    """Sends values with acks=all; returns those the cluster acknowledged."""
    acked: list[str] = []
    if client == "confluent":
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                      "message.timeout.ms": int(timeout * 1000), "log_level": 2})

        def cb(err, msg):
            if err is None:
                acked.append(msg.value().decode())

        for v in values:
            p.produce(topic, v.encode(), on_delivery=cb)
            p.poll(0)
        p.flush(timeout + 5)
    else:
        from kafka import KafkaProducer

        p = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", retries=5, request_timeout_ms=30000)
        futures = [(v, p.send(topic, v.encode())) for v in values]
        for v, f in futures:
            try:
                f.get(timeout=timeout)
                acked.append(v)
            except Exception:
                pass
        p.close(timeout=10)
    return acked


def consume_all(bootstrap: str, topic: str, partition: int = 0, *, client: str = "confluent", expect: int | None = None,
                timeout: float = 60) -> list[str]:
    """Reads partition `partition` of `topic` from the beginning until `expect` values or the end is reached."""
    import time

    values: list[str] = []
    deadline = time.monotonic() + timeout
    if client == "confluent":
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"prozess-test-{time.time_ns()}", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "enable.partition.eof": True, "log_level": 2})
        c.assign([TopicPartition(topic, partition, 0)])
        try:
            while time.monotonic() < deadline:
                msg = c.poll(1.0)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == -191 and (expect is None or len(values) >= expect):  # partition EOF
                        break
                    continue
                values.append(msg.value().decode())
                if expect is not None and len(values) >= expect:
                    break
        finally:
            c.close()
    else:
        from kafka import KafkaConsumer, TopicPartition as KTP

        c = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, auto_offset_reset="earliest",
                          consumer_timeout_ms=3000)
        tp = KTP(topic, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        try:
            while time.monotonic() < deadline:
                batch = c.poll(timeout_ms=1000)
                for records in batch.values():
                    values += [r.value.decode() for r in records]
                if expect is not None and len(values) >= expect:
                    break
                if expect is None and not batch and c.position(tp) >= c.end_offsets([tp])[tp]:
                    break
        finally:
            c.close()
    return values
