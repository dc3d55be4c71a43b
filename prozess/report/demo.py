"""A small synthetic run directory: what the report's tests and benchmark render.

`make_demo_run` writes test.json, history.jsonl, results.json, nemesis.jsonl and
nodes/<node>/server.log for a queue-like history: processes send unique
increasing values per key and poll them back, a partition and a kill open
fault windows, and (with `lost=True`) some acknowledged sends are never polled
— a lost write that the hand-written results.json reports the way the queue
checker does. The results are written by hand, not by the checkers, so the
report can be tested on its own.
"""

from __future__ import annotations

import heapq
import json
import random
from pathlib import Path
from typing import Any

from prozess.history import Op, write_jsonl
from prozess.store import Run

__all__ = ["demo_ops", "make_demo_run", "LOST_WRITE_DEFINITION"]

LOST_WRITE_DEFINITION = "an acknowledged send that no poll ever observed, although later values of its key were read"


def demo_ops(
    n_ops: int = 400,
    *,
    processes: int = 5,
    keys: list[str] | None = None,
    lost: int = 0,
    seed: int = 0,
    duration_s: float | None = None,
) -> tuple[list[Op], list[int]]:
    """(ops, indices of lost-write ok completions). Roughly `n_ops` records, nemesis ops included."""
    rnd = random.Random(seed)
    keys = keys or ["x", "y", "z"]
    duration_ns = int((duration_s if duration_s is not None else max(10.0, n_ops / 400)) * 1e9)
    mean_gap = max(1, duration_ns * processes // max(1, n_ops // 2))
    log: dict[str, list[tuple[int, int]]] = {k: [] for k in keys}
    next_offset = {k: 0 for k in keys}
    next_value = {k: 1 for k in keys}
    pos = {(p, k): 0 for p in range(processes) for k in keys}
    events: list[tuple[int, int, Any]] = []
    seq = 0
    for p in range(processes):
        heapq.heappush(events, (rnd.randrange(mean_gap), seq, ("invoke", p)))
        seq += 1
    # nemesis: partition over [30%, 55%] of the run, kill over [70%, 80%]
    nem = [
        (0.30, "start-partition", {"n1": ["n2", "n3"]}), (0.30001, "start-partition", "majority-ring"),
        (0.55, "stop-partition", None), (0.55001, "stop-partition", "network healed"),
        (0.70, "kill", ["n2"]), (0.70001, "kill", {"n2": "killed"}),
        (0.80, "start", ["n2"]), (0.80001, "start", {"n2": "started"}),
    ]
    for frac, f, value in nem:
        heapq.heappush(events, (int(frac * duration_ns), seq, ("nemesis", f, value)))
        seq += 1
    partition = (int(0.30 * duration_ns), int(0.55 * duration_ns))
    out: list[Op] = []
    inflight: dict[int, tuple[str, Any]] = {}
    lost_left = lost
    lost_ops: list[int] = []
    while events and len(out) < n_ops:
        t, _, ev = heapq.heappop(events)
        if ev[0] == "nemesis":
            out.append(Op(len(out), t, "info", "nemesis", ev[1], ev[2]))
            continue
        p = ev[1]
        if ev[0] == "invoke":
            k = rnd.choice(keys)
            if rnd.random() < 0.55:
                v = next_value[k]
                next_value[k] += 1
                inflight[p] = ("send", (k, v))
                out.append(Op(len(out), t, "invoke", p, "send", [["send", k, v]]))
            else:
                inflight[p] = ("poll", None)
                out.append(Op(len(out), t, "invoke", p, "poll", [["poll"]]))
            slow = partition[0] <= t <= partition[1]
            lat = int(rnd.expovariate(1 / (mean_gap / 4)) * (6 if slow else 1)) + 1000
            heapq.heappush(events, (t + lat, seq, ("complete", p)))
        else:
            f, arg = inflight.pop(p)
            roll = rnd.random()
            if f == "send":
                k, v = arg
                if roll < 0.03:
                    out.append(Op(len(out), t, "fail", p, "send", [["send", k, v]], error="NOT_ENOUGH_REPLICAS"))
                elif roll < 0.05:
                    out.append(Op(len(out), t, "info", p, "send", [["send", k, v]], error="REQUEST_TIMED_OUT"))
                else:
                    off = next_offset[k]
                    next_offset[k] += 1
                    in_partition = partition[0] <= t <= partition[1]
                    if lost_left and in_partition:
                        lost_left -= 1
                        lost_ops.append(len(out))
                    else:
                        log[k].append((off, v))
                    out.append(Op(len(out), t, "ok", p, "send", [["send", k, [off, v]]], node=f"n{1 + sum(map(ord, k)) % 3}"))
            else:
                polled: dict[str, list[list[int]]] = {}
                for k in keys:
                    msgs = log[k][pos[(p, k)] : pos[(p, k)] + 3]
                    if msgs:
                        pos[(p, k)] += len(msgs)
                        polled[k] = [list(m) for m in msgs]
                out.append(Op(len(out), t, "ok", p, "poll", [["poll", polled]]))
            heapq.heappush(events, (t + rnd.randrange(1, mean_gap), seq, ("invoke", p)))
        seq += 1
    return out, lost_ops


def _results(ops: list[Op], lost_ops: list[int]) -> dict[str, Any]:
    invoke_of: dict[int, int] = {}
    open_: dict[Any, int] = {}
    for op in ops:
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            open_[op.process] = op.index
        else:
            invoke_of[op.index] = open_.pop(op.process)
    queue: dict[str, Any] = {"valid": True, "anomaly-types": [], "anomalies": {}}
    if lost_ops:
        examples = []
        for i in lost_ops:
            _, k, (off, v) = ops[i].value[0]
            examples.append(
                {
                    "explanation": f"process {ops[i].process} sent {v} to key {k!r}; it was acknowledged at offset {off} "
                    f"(op {i}), but no poll ever read it, although polls read later values of {k!r}.",
                    "ops": [invoke_of[i], i],
                    "key": k,
                    "value": v,
                    "offset": off,
                }
            )
        queue = {
            "valid": False,
            "anomaly-types": ["lost-write"],
            "anomalies": {"lost-write": {"count": len(lost_ops), "definition": LOST_WRITE_DEFINITION, "examples": examples}},
        }
    by_f: dict[str, dict[str, int]] = {}
    for op in ops:
        if op.process != "nemesis":
            by_f.setdefault(op.f, {"invoke": 0, "ok": 0, "fail": 0, "info": 0})[op.type] += 1
    valid = queue["valid"]
    return {
        "valid": valid,
        "anomaly-types": list(queue["anomaly-types"]),
        "checkers": {"queue": queue, "stats": {"valid": True, "by-f": by_f}},
        "seconds": 0.01,
    }


def make_demo_run(
    run_dir: str | Path,
    *,
    n_ops: int = 400,
    processes: int = 5,
    lost: int = 0,
    keys: list[str] | None = None,
    seed: int = 0,
    name: str = "demo-queue",
) -> Path:
    """Writes a complete run directory and returns it."""
    files = Run(Path(run_dir))
    run = files.path
    run.mkdir(parents=True, exist_ok=True)
    ops, lost_ops = demo_ops(n_ops, processes=processes, keys=keys, lost=lost, seed=seed)
    write_jsonl(ops, files.history_path)
    test = {
        "name": name,
        "workload": "queue",
        "seed": seed,
        "time_limit": 60,
        "cluster": {"nodes": 3, "controllers": "combined", "replication_factor": 3, "min_insync_replicas": 2,
                    "unclean_leader_election": lost > 0, "broker_overrides": {}, "kafka_version": "4.1.0"},
        "client": {"library": "confluent-kafka", "acks": "all", "idempotence": True},
        "faults": ["partition", "kill"],
        "versions": {"prozess": "0.1.0", "kafka": "4.1.0", "python": "3.11"},
        "started": "2026-01-01T00:00:00+00:00",
    }
    files.test_path.write_text(json.dumps(test, indent=2))
    files.results_path.write_text(json.dumps(_results(ops, lost_ops), indent=2))
    with open(files.nemesis_path, "w") as fh:
        for op in ops:
            if op.process == "nemesis" and op.f.startswith(("start", "stop", "kill")):
                fh.write(json.dumps({"time": op.time, "f": op.f, "node": "n1", "argv": ["iptables", "-A", "INPUT", "-s", "10.0.0.2", "-j", "DROP"]}) + "\n")
    for node in ("n1", "n2", "n3"):
        (files.nodes_dir / node).mkdir(parents=True, exist_ok=True)
        (files.nodes_dir / node / "server.log").write_text(f"[{node}] Kafka server started\n")
    return run
