"""Detection power: a measured matrix of unsafe Kafka settings x faults that prozess must catch, and safe twins it must pass.

    .venv/bin/python benchmarks/detection.py                 # every cell, K=3, one cluster
    .venv/bin/python benchmarks/detection.py --cells 'acks1*' -k 1 --time-limit 40
    .venv/bin/python benchmarks/detection.py --cluster NAME  # reuse a running cluster (prozess cluster up)
    .venv/bin/python benchmarks/detection.py --render        # docs/detection.md and the README table from the json
    .venv/bin/python benchmarks/detection.py --column untargeted   # the default fault mixes instead of targeted nemeses

Rows are client/topic settings, columns fault sets (mostly targeted nemeses from
`prozess.nemesis.targeted`, aimed at the window where the setting loses data).
The untargeted column (`--column untargeted`) runs each unsafe row and its safe
twin under the default fault mixes a user runs (`partition+kill`,
`pause+partition`; the random schedules of `prozess.nemesis`, default options),
60 s each, and records each campaign's fault accounting (scheduled / applied /
failed actions per kind), so it says what a plain campaign catches.
Each cell runs K seeded campaigns through the real runner on a real cluster and
records whether the expected anomaly was found, which types were seen, the time
from the first fault to the first anomalous op and the ops until then. Safe
twins run the same faults with the safe setting: any invalid verdict there is a
false alarm (or a real Kafka anomaly, to be kept as a saved history).

One cluster serves every cell: the settings that differ between rows
(min.insync.replicas, unclean.leader.election.enable) are topic configs the
runner sets on the topics each campaign creates, and every campaign writes to
topics of its own (`topic_prefix`), so histories never mix. Runs go to
results/detection/<cell>/<timestamp>/; the summary is merged into
docs/detection.json by cell id and rendered to docs/detection.md and to the
README's "Detection power" section.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fnmatch
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC_JSON = ROOT / "docs" / "detection.json"
DOC_MD = ROOT / "docs" / "detection.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- detection-matrix:begin -->", "<!-- detection-matrix:end -->"
FAULT_STARTS = ("start-partition", "kill", "pause", "bump-clock", "strobe-clock", "start-bandwidth", "start-loss", "start-netem",
                "start-power-cut", "start-corrupt-segment", "start-disk-full")
# The cluster every cell runs on: the safe broker defaults; a follower that stops fetching leaves the ISR after 6 s,
# and the KRaft quorum tolerates a loaded machine (fetches late by seconds) without endless elections.
CLUSTER_OVERRIDES = {"replica.lag.time.max.ms": "6000", "controller.quorum.election.timeout.ms": "5000",
                     "controller.quorum.fetch.timeout.ms": "15000"}

QUEUE_OPTIONS = {"key_count": 2, "partitions_per_topic": 2, "max_writes_per_key": 100000, "crash_clients": False, "final_time_limit_s": 20}
SAFE_CLIENT = {"acks": "all", "idempotence": True, "isolation": "read_committed"}


@dataclass
class Cell:
    """One cell: a setting (row) under a fault set (column), safe or not, with what must be found."""

    id: str
    config: str
    faults: str
    safe: bool
    expected: list[str]
    strategy: str
    preset: str = "safe"
    client: dict[str, Any] = field(default_factory=dict)
    workload: str = "queue"
    workload_options: dict[str, Any] = field(default_factory=dict)
    targeted: dict[str, Any] = field(default_factory=dict)
    twin: str | None = None
    note: str = ""
    time_limit: float | None = None   # seconds of workload, when the cell needs more than the matrix default
    mix: str | None = None            # untargeted column: the fault group of prozess.nemesis (e.g. "partition+kill")
    column: str = "targeted"          # "targeted" or "untargeted"
    broker_config: dict[str, str] = field(default_factory=dict)  # cluster-wide dynamic broker defaults during the cell
    finding: str = ""  # a safe cell whose invalid verdicts are a real anomaly of the system, written up in this file

    @property
    def mirror(self) -> bool:
        """Whether the cell is a mirror campaign (each campaign makes its own source, target and MM2 node)."""
        return self.strategy == "mirror"

    @property
    def disk(self) -> bool:
        """Whether the cell needs the disk layer (a cluster made with disk faults)."""
        return self.strategy in DISK_STRATEGIES

    def spec_faults(self) -> list[str]:
        """The fault kinds the strategy uses, as test.json names them."""
        if self.strategy == "untargeted":
            return [str(self.mix)]
        return {"isolate-leader": ["partition"], "kill-leader": ["kill"], "shrink-isr-kill": ["partition+kill"],
                "cut-responses": ["partition"], "none": [], "mirror": ["kill"], **DISK_STRATEGIES}[self.strategy]


# Disk strategies run the combined nemesis with one disk fault kind on a fixed, seeded schedule
# (options in Cell.targeted: the nemesis option map).
DISK_STRATEGIES = {"power-cut": ["power-cut"], "corrupt": ["corrupt-segment"]}
DISK_WORKLOAD = {"final_time_limit_s": 60}  # a cluster that lost power everywhere needs time to come back


def _pair(id: str, config: str, safe_config: str, faults: str, expected: list[str], strategy: str, *, unsafe: dict, safe: dict,
          targeted: dict | None = None, note: str = "", time_limit: float | None = None) -> list[Cell]:
    base = {"faults": faults, "strategy": strategy, "targeted": dict(targeted or {}), "time_limit": time_limit}
    return [
        Cell(id=id, config=config, safe=False, expected=expected, twin=f"{id}-safe", note=note, **base, **unsafe),
        Cell(id=f"{id}-safe", config=safe_config, safe=True, expected=[], twin=id, **base, **safe),
    ]


CELLS: list[Cell] = [
    *_pair("acks0", "acks=0", "acks=all, idempotence", "kill leader after a write burst", ["lost-write", "unseen"], "kill-leader",
           unsafe={"client": {"acks": "0", "idempotence": False}}, safe={"client": dict(SAFE_CLIENT)},
           targeted={"calm": 5, "hold": 12}),
    *_pair("acks1", "acks=1", "acks=all, idempotence", "isolate leader after a write burst", ["lost-write"], "isolate-leader",
           unsafe={"client": {"acks": "1", "idempotence": False}}, safe={"client": dict(SAFE_CLIENT)},
           targeted={"calm": 5, "hold": 28}),
    *_pair("min-isr-1", "acks=all, min.insync.replicas=1, RF 3", "acks=all, min.insync.replicas=2, RF 3",
           "shrink ISR to leader, then lose leader (kill -9 + its disk)", ["lost-write", "inconsistent-offsets"], "shrink-isr-kill",
           unsafe={"preset": "unsafe-min-isr", "client": dict(SAFE_CLIENT)}, safe={"preset": "safe", "client": dict(SAFE_CLIENT)},
           targeted={"calm": 5, "after_shrink": 3, "down": 4, "wipe": True}, time_limit=60),
    *_pair("truncate-tail", "acks=all, min.insync.replicas=1, RF 3; writes stop, then the leader's log is lost",
           "acks=all, min.insync.replicas=2, RF 3; the same",
           "shrink ISR to leader, stop writes, let consumers catch up, then kill the leader and wipe its copy",
           ["truncated-tail"], "shrink-isr-kill",
           unsafe={"preset": "unsafe-min-isr", "client": dict(SAFE_CLIENT), "workload_options": {"send_until_s": 17}},
           safe={"preset": "safe", "client": dict(SAFE_CLIENT), "workload_options": {"send_until_s": 17}},
           targeted={"calm": 5, "after_shrink": 12, "down": 4, "wipe": True}, time_limit=45,
           note="No write follows the loss, so no offset is rewritten: lost-write and inconsistent-offsets stay silent "
                "and only the final reads (ops marked final) show that values once read are gone."),
    *_pair("unclean", "unclean.leader.election.enable=true, min ISR 1", "unclean off, min ISR 2",
           "shrink ISR to leader, then kill it", ["lost-write", "inconsistent-offsets"], "shrink-isr-kill",
           unsafe={"preset": "unsafe", "client": dict(SAFE_CLIENT)}, safe={"preset": "safe", "client": dict(SAFE_CLIENT)},
           targeted={"calm": 5, "after_shrink": 4, "down": 10}),
    *_pair("no-idempotence", "enable.idempotence=false, retries on, acks=all", "enable.idempotence=true, acks=all",
           "drop broker responses, then reset connections", ["duplicate"], "cut-responses",
           unsafe={"client": {"acks": "all", "idempotence": False, "retries": 100}}, safe={"client": {**SAFE_CLIENT, "retries": 100}},
           targeted={"calm": 3, "hold": 2.5}),
    *_pair("read-uncommitted", "isolation.level=read_uncommitted, aborted txns (eos)", "read_committed, aborted txns (eos)",
           "none (the workload aborts 20% of transactions)", ["G1a"], "none",
           unsafe={"workload": "eos", "client": {**SAFE_CLIENT, "isolation": "read_uncommitted"}},
           safe={"workload": "eos", "client": dict(SAFE_CLIENT)}),
]
#: the untargeted column: the default fault mixes a user runs, each campaign this long
UNTARGETED_MIXES = ("partition+kill", "pause+partition")
UNTARGETED_TIME_LIMIT = 60.0


def untargeted_cells(cells: list[Cell]) -> list[Cell]:
    """Each unsafe row with faults and its safe twin, under each default fault mix (random schedules, default options)."""
    import dataclasses

    out = []
    for mix in UNTARGETED_MIXES:
        for c in cells:
            if c.strategy == "none" or c.column != "targeted" or c.disk or c.mirror:  # disk and mirror rows need set-ups of their own
                continue
            out.append(dataclasses.replace(
                c, id=f"{c.id}@{mix}", faults=f"{mix} (untargeted)", strategy="untargeted", targeted={}, mix=mix,
                column="untargeted", twin=f"{c.twin}@{mix}" if c.twin else None, time_limit=UNTARGETED_TIME_LIMIT))
    return out



# Compaction rows: one compacted partition (the targeted nemesis aims at partition 0 of the first topic) and many keys
# written about a dozen times each. Under acks=1 the isolated leader acknowledges writes the new leader never has; the
# final read then ends below keys' acknowledged last writes (lost-latest), and reused offsets show the truncation.
COMPACTION_OPTIONS = {"partitions": 1, "delete_topic": False, "keys": 1000, "read_p": 0.02, "delete_p": 0.1,
                      "compaction_wait_s": 25, "final_time_limit_s": 60}
CELLS += [
    *_pair("acks1-compaction", "acks=1 on a compacted topic", "acks=all, idempotence, compacted topic",
           "isolate leader after a write burst", ["lost-latest"], "isolate-leader",
           unsafe={"workload": "compaction", "workload_options": dict(COMPACTION_OPTIONS), "client": {"acks": "1", "idempotence": False}},
           safe={"workload": "compaction", "workload_options": dict(COMPACTION_OPTIONS), "client": dict(SAFE_CLIENT)},
           targeted={"calm": 5, "hold": 28}),
]

# MirrorMaker 2 rows: each campaign makes its own source, target (3 nodes each) and MM2 node (`--cells 'mirror-*'`).
# One partition, so every copy goes through one target leader; a fixed schedule kills the target's leader of the
# mirrored partition (`source.<prefix>-0`) every `every` seconds for `down` seconds. Unsafe: MM2's producer to the
# target with acks=0 (Connect then commits source offsets for records no broker confirmed); twin: MM2's defaults.
MIRROR_OPTIONS = {"partitions": 1, "produce_batch": 8, "mirror_wait_s": 40, "final_time_limit_s": 90}
CELLS += [
    *_pair("mirror-acks0", "MirrorMaker 2 producer acks=0 (target.producer.acks)", "MirrorMaker 2 defaults (acks=all)",
           "kill the target's leader of the mirrored partition, repeatedly", ["mirror-lost"], "mirror",
           unsafe={"workload": "mirror", "client": dict(SAFE_CLIENT),
                   "workload_options": {**MIRROR_OPTIONS, "mm2_properties": {"target.producer.acks": "0"}}},
           safe={"workload": "mirror", "client": dict(SAFE_CLIENT), "workload_options": dict(MIRROR_OPTIONS)},
           targeted={"first": 8, "every": 8, "down": 4}, time_limit=45),
]

# Every row above, targeted or not, also runs under the default fault mixes (the untargeted column).
CELLS += untargeted_cells(CELLS)

# Disk rows run on a cluster of their own (made with the disk layer): `--cells 'disk-*'`.
DISK_NEMESIS = {"interval": 30, "duty": 0.3, "quiet": 10}
DAMAGED_LEADER = "docs/findings/kafka-4.4.0-damaged-leader-segment.md"
CELLS += [
    Cell(id="disk-power-cut-all", config="acks=all, RF 3, min ISR 2, default flush", faults="power cut of every replica of a partition",
         safe=False, expected=["lost-write", "unseen", "inconsistent-offsets", "truncated-tail"], strategy="power-cut", client=dict(SAFE_CLIENT), twin="disk-power-cut-all-fsync",
         targeted={**DISK_NEMESIS, "disk": {"targets": ["replicas"]}}, workload_options=dict(DISK_WORKLOAD), time_limit=45,
         note="Kafka acknowledges from the page cache and does not fsync by default: a correlated power loss of every replica loses "
              "acknowledged writes. They show as unseen (acknowledged, never read), lost-write (a later write read, this one not) or "
              "inconsistent-offsets (the truncated offsets are handed out again to new writes, so one offset holds two values), or "
              "truncated-tail (values read before the cut that the final reads no longer find, when no later write reuses their offsets)."),
    Cell(id="disk-power-cut-all-fsync", config="acks=all, RF 3, min ISR 2, flush.messages=1", faults="power cut of every replica of a partition",
         safe=True, expected=[], strategy="power-cut", client=dict(SAFE_CLIENT), twin="disk-power-cut-all",
         targeted={**DISK_NEMESIS, "disk": {"targets": ["replicas"]}}, workload_options=dict(DISK_WORKLOAD), time_limit=45,
         broker_config={"log.flush.interval.messages": "1"}),
    Cell(id="disk-power-cut-one", config="acks=all, RF 3, min ISR 2, default flush", faults="power cut of one node",
         safe=True, expected=[], strategy="power-cut", client=dict(SAFE_CLIENT),
         targeted={**DISK_NEMESIS, "disk": {"targets": ["one"]}}, workload_options=dict(DISK_WORKLOAD), time_limit=45),
    Cell(id="disk-corrupt-one", config="acks=all, RF 3, min ISR 2", faults="bit flips in the newest segment of one replica",
         safe=True, expected=[], strategy="corrupt", client=dict(SAFE_CLIENT),
         targeted={**DISK_NEMESIS, "disk": {"corrupt_targets": ["newest"], "corrupt_modes": ["bitflip"]}},
         workload_options=dict(DISK_WORKLOAD), time_limit=45, finding=DAMAGED_LEADER,
         note="What Kafka does with a damaged segment on one replica is measured; an invalid verdict here is a finding."),
    # The partition leader's copy damaged, read by consumers that verify each batch's CRC (librdkafka check.crcs, a
    # consumer property passed through client.properties): whether Kafka serves the damaged batch is then in the history.
    Cell(id="disk-corrupt-leader", config="acks=all, RF 3, min ISR 2; consumers check CRCs", faults="bit flips in the newest segment of the partition leader",
         safe=True, expected=[], strategy="corrupt", client={**SAFE_CLIENT, "properties": {"check.crcs": "true"}},
         targeted={**DISK_NEMESIS, "disk": {"corrupt_targets": ["leader"], "corrupt_modes": ["bitflip"]}},
         workload_options=dict(DISK_WORKLOAD), time_limit=45, finding=DAMAGED_LEADER,
         note="The leader's own copy of partition 0 of the run's first topic is damaged; an invalid verdict here is a finding."),
]
EOS_OPTIONS = {"partitions": 2, "transformers": 2, "readers": 2, "abort_p": 0.2, "crash_clients": False,
               "drain_time_s": 15, "final_time_limit_s": 30}


# --------------------------------------------------------------------------- running
def make_spec(cell: Cell, seed: int, *, time_limit: float, results_dir: str, prefix: str) -> Any:
    from prozess.spec import TestSpec

    eos = cell.workload == "eos"
    base = {"eos": EOS_OPTIONS, "compaction": {}, "mirror": {}}.get(cell.workload, QUEUE_OPTIONS)
    wopts = {**base, **cell.workload_options, "topic_prefix": prefix}
    spec = TestSpec(
        name=cell.id, workload=cell.workload, seed=seed, time_limit=time_limit, rate=200 if eos else 300,
        concurrency=3 if cell.mirror else 6, preset=cell.preset, results_dir=results_dir, faults=cell.spec_faults(),
        workload_options=wopts,  # the workload's own checkers (eos: eos, stats, perf)
    )
    spec.client.update({"timeout_s": 5.0, **cell.client})
    if cell.mirror:
        spec.nemesis_schedule = mirror_schedule(prefix, cell.targeted, time_limit)
    return spec


def mirror_schedule(prefix: str, t: dict[str, Any], time_limit: float) -> list[dict[str, Any]]:
    """Kills of the target's leader of the mirrored partition: from `first` s, every `every` s, each held `down` s,
    the last one healed 10 s before the end of the main phase."""
    steps, at = [], float(t.get("first", 8))
    while at + t.get("down", 4) <= time_limit - 10:
        steps.append({"at": at, "f": "kill", "value": {"targets": "leader", "topic": f"source.{prefix}-0", "partition": 0}})
        steps.append({"at": at + t.get("down", 4), "f": "start", "value": {}})
        at += float(t.get("every", 8))
    return steps


def first_anomaly(results: dict[str, Any], types: list[str] | None = None) -> int | None:
    """The op at which the history first holds the evidence of an anomaly of the given types (all when None).

    An example's evidence is complete at the last op it names (e.g. the poll that
    read a second value at an offset an earlier op saw holding another); the
    anomaly is first observable at the smallest such op over all examples.
    """
    best: int | None = None
    for res in (results.get("checkers") or {}).values():
        if not isinstance(res, dict):
            continue
        for kind, entry in (res.get("anomalies") or {}).items():
            if types is not None and kind not in types:
                continue
            for ex in (entry or {}).get("examples") or []:
                ops = [i for i in (ex or {}).get("ops") or [] if isinstance(i, int)]
                if ops and (best is None or max(ops) < best):
                    best = max(ops)
    return best


def first_rewrite(ops: list[Any]) -> int | None:
    """The first op (index) that saw a second value at an offset of a key: where inconsistent offsets become evident.

    Checker examples list some of the ops that saw each value, not necessarily the
    first to see the second one, so this scans the whole history once.
    """
    first: dict[tuple[str, int], Any] = {}
    for o in ops:
        if o.process == "nemesis" or o.type != "ok" or o.f not in ("send", "poll", "txn") or not isinstance(o.value, list):
            continue
        seen: list[tuple[str, int, Any]] = []
        for mop in o.value:
            if not isinstance(mop, list) or not mop:
                continue
            if mop[0] == "send" and len(mop) == 3 and isinstance(mop[2], list) and len(mop[2]) == 2 and mop[2][0] is not None:
                seen.append((str(mop[1]), mop[2][0], mop[2][1]))
            elif mop[0] == "poll" and len(mop) == 2 and isinstance(mop[1], dict):
                seen += [(str(k), pair[0], pair[1]) for k, pairs in mop[1].items() for pair in pairs if pair and pair[0] is not None]
        for k, off, v in seen:
            prev = first.setdefault((k, off), v)
            if prev != v:
                return o.index
    return None


def campaign_record(cell: Cell, run_dir: Path, seed: int, wall_s: float) -> dict[str, Any]:
    """What one campaign showed: verdict, anomaly types, detection, time and ops from the first fault."""
    from prozess.history import read_history
    from prozess.store import Run

    run = Run(run_dir)
    results = json.loads(run.results_path.read_text())
    types = sorted(results.get("anomaly-types") or [])
    valid = results.get("valid", "unknown")
    detected = (not cell.safe) and valid is False and bool(set(types) & set(cell.expected))
    rec: dict[str, Any] = {"seed": seed, "run_dir": str(run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir),
                           "valid": valid, "anomaly_types": types, "detected": detected, "wall_s": round(wall_s, 1),
                           "error": (results.get("run") or {}).get("error") or results.get("error")}
    try:
        ops = read_history(run.history_path).ops
    except Exception as e:
        rec["error"] = rec["error"] or f"history unreadable: {e}"
        return rec
    acc = results.get("faults") if isinstance(results.get("faults"), dict) else {}
    if acc.get("kinds"):  # what the nemesis really did: a cell is only worth the faults that happened
        rec["fault_accounting"] = {k: {"scheduled": e.get("scheduled", 0), "applied": e.get("applied", 0), "failed": e.get("failed", 0)}
                                   for k, e in acc["kinds"].items()}
    faults = [o for o in ops if o.process == "nemesis" and o.f in FAULT_STARTS]
    errors = [o.value.get("error") for o in ops if o.process == "nemesis" and isinstance(o.value, dict) and o.value.get("error")]
    rec["faults"] = len(faults) // 2  # an invocation and a completion each
    if errors:
        rec["fault_errors"] = errors[:3]
    rec["ops"] = sum(1 for o in ops if o.process != "nemesis" and o.type != "invoke")
    if valid is False:
        wanted = cell.expected if detected else None
        idx = first_anomaly(results, [t for t in wanted if t != "inconsistent-offsets"] if wanted else None)
        if "inconsistent-offsets" in types and (wanted is None or "inconsistent-offsets" in wanted):
            rw = first_rewrite(ops)
            if rw is not None and (idx is None or rw < idx):
                idx = rw
        by_index = {o.index: o for o in ops}
        if idx in by_index:
            t0 = faults[0].time if faults else 0
            rec["time_to_detect_s"] = round(max(0, by_index[idx].time - t0) / 1e9, 2)
            rec["ops_to_detect"] = sum(1 for o in ops if o.index <= idx and o.process != "nemesis" and o.type != "invoke")
            rec["first_anomalous_op"] = idx
    return rec


def run_cell(cluster: Any, cell: Cell, seeds: list[int], *, time_limit: float, results_dir: str) -> list[dict[str, Any]]:
    from prozess.nemesis.targeted import Targeted
    from prozess.runner import run_test

    records = []
    for seed in seeds:
        prefix = re.sub(r"[^A-Za-z0-9._-]", "-", f"det-{cell.id}-{seed}-{int(time.time()) % 100000}")  # a legal topic name
        spec = make_spec(cell, seed, time_limit=cell.time_limit or time_limit, results_dir=results_dir, prefix=prefix)
        if cell.disk:
            from prozess.nemesis.combined import build_nemesis

            spec.nemesis = dict(cell.targeted)
            nem = build_nemesis(cell.spec_faults(), spec.nemesis)
        elif cell.mirror:
            nem = None  # prozess.nemesis's own, on the spec's fixed schedule, over the set-up the run makes
        else:
            nem = None if cell.strategy == "untargeted" else Targeted(cell.strategy, cell.targeted)  # None: prozess.nemesis's own
        t0 = time.monotonic()
        try:
            with broker_defaults(cluster, cell.broker_config):
                # eos runs get the eos checker by default; a mirror campaign makes its own clusters and MM2 node
                out = run_test(spec, cluster=None if cell.mirror else cluster, nemesis=nem, progress=False)
            rec = campaign_record(cell, out.run_dir, seed, time.monotonic() - t0)
        except Exception as e:  # one broken campaign is recorded as unknown; the matrix goes on
            rec = {"seed": seed, "run_dir": None, "valid": "unknown", "anomaly_types": [], "detected": False,
                   "wall_s": round(time.monotonic() - t0, 1), "error": f"{type(e).__name__}: {e}"}
        records.append(rec)
        print(f"  {cell.id} seed {seed}: valid={rec['valid']} types={rec['anomaly_types']} detected={rec['detected']} "
              f"ttd={rec.get('time_to_detect_s')} ops={rec.get('ops')} faults={rec.get('faults')} {rec.get('run_dir')}"
              + (f" error={rec['error']}" if rec.get("error") else "") + (f" fault_errors={rec['fault_errors']}" if rec.get("fault_errors") else ""),
              flush=True)
        # Let the cluster settle (a killed broker rejoins, leaders rebalance) before the next campaign.
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.wait_healthy(120)
    return records


@contextlib.contextmanager
def broker_defaults(cluster: Any, config: dict[str, str]):
    """Sets dynamic broker configs (e.g. log.flush.interval.messages) on every broker for a cell, and removes them after.

    Set per broker id, one call each: the client library refuses the empty resource name of the
    cluster-wide default and more than one broker resource per call.
    """
    if not config:
        yield
        return
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    def alter(op):
        for n in cluster.brokers:  # one broker resource per call: the client allows no more
            res = ConfigResource("broker", str(cluster.broker_id(n)), incremental_configs=[ConfigEntry(k, v, incremental_operation=op) for k, v in config.items()])
            for fut in cluster.admin().incremental_alter_configs([res]).values():
                fut.result(30)

    alter(AlterConfigOpType.SET)
    time.sleep(2)  # dynamic defaults reach every broker through the metadata log
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            alter(AlterConfigOpType.DELETE)


def summarize(cell: Cell, records: list[dict[str, Any]], *, kafka: str, time_limit: float) -> dict[str, Any]:
    """The cell's line in docs/detection.json."""
    ttd = [r["time_to_detect_s"] for r in records if r.get("detected") and r.get("time_to_detect_s") is not None]
    otd = [r["ops_to_detect"] for r in records if r.get("detected") and r.get("ops_to_detect") is not None]
    seen = sorted({t for r in records for t in r.get("anomaly_types", [])})
    accounting: dict[str, dict[str, int]] = {}
    for r in records:
        for kind, e in (r.get("fault_accounting") or {}).items():
            tot = accounting.setdefault(kind, {"scheduled": 0, "applied": 0, "failed": 0})
            for k in tot:
                tot[k] += int(e.get(k, 0))
    return {
        "column": cell.column,
        "mix": cell.mix,
        "fault_accounting": accounting,
        "id": cell.id,
        "config": cell.config,
        "faults": cell.faults,
        "strategy": cell.strategy,
        "targeted": cell.targeted,
        "workload": cell.workload,
        "preset": cell.preset,
        "client": cell.client,
        "safe": cell.safe,
        "expected": cell.expected,
        "campaigns": len(records),
        "detected": sum(1 for r in records if r.get("detected")),
        "anomaly_types_seen": seen,
        "median_time_to_detect_s": round(statistics.median(ttd), 2) if ttd else None,
        "median_ops_to_detect": int(statistics.median(otd)) if otd else None,
        "false_alarms": sum(1 for r in records if cell.safe and r.get("valid") is False),
        **({"finding": cell.finding} if cell.finding else {}),
        "unknown": sum(1 for r in records if r.get("valid") not in (True, False)),
        "time_limit_s": cell.time_limit or time_limit,
        "kafka": kafka,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": [r["seed"] for r in records],
        "runs": records,
    }


def add_seed_records(stored: dict[str, Any] | None, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A cell's campaign records after adding new ones: the stored runs of other seeds, then the new runs, by seed.

    A new run of a seed already stored replaces it, so re-running a seed never counts it twice.
    """
    new_seeds = {r["seed"] for r in records}
    kept = [r for r in (stored or {}).get("runs") or [] if r.get("seed") not in new_seeds]
    return sorted(kept + list(records), key=lambda r: r.get("seed", 0))


def rescore(doc: dict[str, Any], patterns: list[str] | None = None) -> dict[str, Any]:
    """Recomputes each cell's campaign records and summary from its stored run directories (same verdicts, current scoring).

    `patterns` (globs of cell ids) limits it to those cells; the others are kept as stored.
    """
    from prozess.store import Run

    cells = {c.id: c for c in CELLS}
    out = []
    for s in doc.get("cells", []):
        cell = cells.get(s["id"])
        if cell is None or (patterns and not any(fnmatch.fnmatch(s["id"], p) for p in patterns)):
            out.append(s)
            continue
        recs = []
        for r in s.get("runs", []):
            rd = r.get("run_dir")
            path = (ROOT / rd) if rd and not Path(rd).is_absolute() else Path(rd or "")
            recs.append(campaign_record(cell, path, r["seed"], r.get("wall_s", 0.0)) if rd and Run(path).results_path.exists() else r)
        new = summarize(cell, recs, kafka=s.get("kafka", "?"), time_limit=s.get("time_limit_s") or 45)
        new["date"] = s.get("date", new["date"])
        out.append(new)
    return {**doc, "cells": out}


# --------------------------------------------------------------------------- docs
def machine() -> str:
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {round(int(line.split()[1]) / 1024 / 1024)} GiB"
    return f"{os.cpu_count()} cores{mem}"


def load_doc(path: Path = DOC_JSON) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"cells": []}


def merge_doc(doc: dict[str, Any], cells: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    by_id = {c["id"]: c for c in doc.get("cells", [])}
    for c in cells:
        by_id[c["id"]] = c
    order = [c.id for c in CELLS]
    merged = sorted(by_id.values(), key=lambda c: order.index(c["id"]) if c["id"] in order else len(order))
    return {**{k: v for k, v in doc.items() if k != "cells"}, **meta, "cells": merged}


def _rate(c: dict[str, Any]) -> str:
    if c["safe"]:
        return "—"
    return f"{c['detected']}/{c['campaigns']}"


def table(doc: dict[str, Any]) -> str:
    """The matrix as a Markdown table: one line per cell."""
    lines = [
        "| setting | faults | safe | expected | detected | median time to detect | median ops to detect | false alarms | anomaly types seen |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in doc.get("cells", []):
        if c.get("column", "targeted") != "targeted":
            continue
        ttd = "—" if c.get("median_time_to_detect_s") is None else f"{c['median_time_to_detect_s']:.1f} s"
        otd = "—" if c.get("median_ops_to_detect") is None else str(c["median_ops_to_detect"])
        fa = f"{c['false_alarms']}/{c['campaigns']}" if c["safe"] else "—"
        if c.get("finding") and c["safe"] and c["false_alarms"]:
            fa += f" (Kafka, not the checker: {c['finding']})"
        lines.append(f"| {c['config']} | {c['faults']} | {'yes' if c['safe'] else 'no'} | {', '.join(c['expected']) or 'valid'} | "
                     f"{_rate(c)} | {ttd} | {otd} | {fa} | {', '.join(c.get('anomaly_types_seen') or []) or '—'} |")
    return "\n".join(lines)


def _applied(c: dict[str, Any]) -> str:
    acc = c.get("fault_accounting") or {}
    if not acc:
        return "—"
    return ", ".join(f"{k} {e['applied']}/{e['scheduled']}" for k, e in sorted(acc.items()))


def _invalid(c: dict[str, Any]) -> int:
    """Campaigns of a cell whose verdict was invalid, whatever the anomaly types (what a user of a plain run sees)."""
    return sum(1 for r in c.get("runs") or [] if r.get("valid") is False)


def untargeted_summary(doc: dict[str, Any]) -> str:
    """One sentence over the whole untargeted column: unsafe campaigns caught, safe-twin campaigns wrongly flagged."""
    cells = [c for c in doc.get("cells", []) if c.get("column") == "untargeted"]
    unsafe = [c for c in cells if not c["safe"]]
    safe = [c for c in cells if c["safe"]]
    if not cells:
        return ""
    n_unsafe = sum(c["campaigns"] for c in unsafe)
    n_safe = sum(c["campaigns"] for c in safe)
    caught = sum(_invalid(c) for c in unsafe)
    rows = sum(1 for c in unsafe if _invalid(c))
    return (f"Over {n_unsafe} unsafe campaigns, {caught} ended invalid ({rows} of {len(unsafe)} rows caught at least once); "
            f"over {n_safe} safe-twin campaigns, {sum(c['false_alarms'] for c in safe)} false alarms.")


def untargeted_table(doc: dict[str, Any]) -> str:
    """The untargeted column: per unsafe setting and default fault mix, detection and its safe twin's false alarms."""
    cells = {c["id"]: c for c in doc.get("cells", []) if c.get("column") == "untargeted"}
    if not cells:
        return ""
    lines = [
        "| setting | fault mix (untargeted) | invalid verdicts | detected (expected type) | median time to detect | anomaly types seen | safe twin: false alarms | faults applied/scheduled (unsafe; twin) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells.values():
        if c["safe"]:
            continue
        twin = cells.get(f"{c['id'].split('@')[0]}-safe@{c.get('mix')}")
        ttd = "—" if c.get("median_time_to_detect_s") is None else f"{c['median_time_to_detect_s']:.1f} s"
        fa = f"{twin['false_alarms']}/{twin['campaigns']}" if twin else "not measured"
        applied = _applied(c) + ("; " + _applied(twin) if twin else "")
        lines.append(f"| {c['config']} | {c.get('mix')} | {_invalid(c)}/{c['campaigns']} | {c['detected']}/{c['campaigns']} | {ttd} | "
                     f"{', '.join(c.get('anomaly_types_seen') or []) or '—'} | {fa} | {applied} |")
    return "\n".join(lines)


def headline(doc: dict[str, Any]) -> str:
    return (f"Measured {doc.get('date', '?')[:10]} on Kafka {doc.get('kafka', '?')}, {doc.get('nodes', 3)} KRaft nodes in docker "
            f"on one machine ({doc.get('machine', '?')}), K={doc.get('k', '?')} seeded campaigns per cell of "
            f"{doc.get('time_limit_s', '?')} s of workload each (longer where docs/detection.md says so).")


def render_markdown(doc: dict[str, Any]) -> str:
    out = [
        "# Detection power",
        "",
        "What prozess catches, how fast, and that it stays quiet on safe settings. Generated by",
        "`benchmarks/detection.py` from `docs/detection.json`; do not edit by hand.",
        "",
        headline(doc),
        "",
        table(doc),
        "",
        "*detected*: campaigns whose verdict was invalid with at least one expected anomaly type, out of K.",
        "*time to detect*: from the first fault (the run's start when the cell has no fault) to the op that completes",
        "the evidence of the first expected anomaly (the last op its example names, e.g. the read that misses an",
        "acknowledged write; often a read of the final phase, after the heal). *ops to detect*: completed client ops",
        "up to that op. *false alarms*: invalid verdicts (any anomaly type) on a safe twin; *unknown*: runs that broke off.",
        "",
    ]
    plain = untargeted_table(doc)
    if plain:
        out += [
            "## What a plain campaign catches",
            "",
            f"Each unsafe row and its safe twin under the default fault mixes ({', '.join(UNTARGETED_MIXES)}): the random",
            "schedules of `prozess.nemesis` with default options, no aim at the setting's window. The last column is",
            "the fault accounting summed over the cell's campaigns: actions applied out of those scheduled, per kind.",
            "*invalid verdicts*: campaigns the run called invalid, whatever the anomaly; *detected*: those among them",
            "that showed one of the row's expected types (an acks=0 run flagged only for nonlinearizable offsets is",
            "invalid, not detected).",
            "",
            untargeted_summary(doc),
            "",
            plain,
            "",
        ]
    out += [
        "## Cells and their targeted schedules",
        "",
    ]
    for c in doc.get("cells", []):
        t = c.get("targeted") or {}
        sched = ", ".join(f"{k}={v}" for k, v in t.items()) or "defaults"
        out.append(f"- **{c['id']}** ({c['config']}; workload {c['workload']}, preset {c['preset']}, client {json.dumps(c['client'])}): "
                   f"strategy `{c['strategy']}` ({sched}); {c.get('time_limit_s')} s of workload; seeds {c['seeds']}; "
                   f"unknown verdicts {c.get('unknown', 0)}.")
    out += [
        "",
        "Every cell with faults uses a targeted nemesis (`prozess/nemesis/targeted.py`), aimed at the window the",
        "unsafe setting needs (a leader that acknowledged writes alone must lose them; a written batch must lose its",
        "response); random schedules of `prozess.nemesis` were not measured here. The read_uncommitted row needs no",
        "fault: its trigger is the workload's own aborted transactions. Safe twins run exactly the same schedule.",
        "Replay a cell: `.venv/bin/python benchmarks/detection.py --cells ID --seeds SEED`.",
        "Runs (histories, reports) are under `results/detection/<cell>/`.",
        "",
    ]
    notes = doc.get("notes") or []
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def render(doc: dict[str, Any], *, md: Path = DOC_MD, readme: Path = README) -> None:
    """Writes docs/detection.md and replaces the README's matrix between its markers (when they are there)."""
    md.write_text(render_markdown(doc))
    if readme.exists():
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            plain = untargeted_table(doc)
            plain = (f"\n\nWhat a plain campaign catches (the default fault mixes, untargeted, {UNTARGETED_TIME_LIMIT:.0f} s each; "
                     f"see docs/detection.md):\n\n{untargeted_summary(doc)}\n\n{plain}") if plain else ""
            block = f"{BEGIN}\n{headline(doc)}\n\n{table(doc)}{plain}\n{END}"
            readme.write_text(head + block + tail)


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="*", help="cell ids (comma-separated globs), default every cell of the column")
    ap.add_argument("--column", choices=("targeted", "untargeted", "all"), default="targeted",
                    help="targeted nemeses (default), the untargeted default fault mixes, or both")
    ap.add_argument("-k", type=int, default=3, help="campaigns per cell")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 1..K)")
    ap.add_argument("--time-limit", type=float, default=45.0, help="seconds of workload per campaign")
    ap.add_argument("--cluster", default=None, help="attach to this running cluster instead of starting one")
    ap.add_argument("--results-dir", default=str(ROOT / "results" / "detection"))
    ap.add_argument("--json", default=str(DOC_JSON), help="summary file to merge the cells into")
    ap.add_argument("--no-docs", action="store_true", help="do not write the json or render the docs")
    ap.add_argument("--render", action="store_true", help="only render docs/detection.md and the README from the json")
    ap.add_argument("--keep", action="store_true", help="keep the cluster this run started")
    ap.add_argument("--name", default=None, help="name of the cluster this run starts (default pzdet-<pid>)")
    ap.add_argument("--add-seeds", action="store_true",
                    help="add the campaigns of --seeds to each cell's stored ones (a stored run of the same seed is replaced) "
                         "and recompute the cell from all of them, instead of replacing the cell")
    ap.add_argument("--rescore", action="store_true", help="recompute the cells of --cells (default every cell) of the json "
                    "from their stored runs, then render")
    ap.add_argument("--kafka-version", default=None, help="Apache Kafka release to start (3.7.x-4.4.x; default the spec's, 4.4.0); "
                    "other than the default, cells merge into docs/detection-<version>-<mode>.json and docs/detection.md is left alone")
    ap.add_argument("--metadata", default="kraft", help="kraft, or zookeeper (3.7-3.9)")
    a = ap.parse_args(argv)
    from prozess.cluster.spec import KAFKA_VERSION, SpecError

    other_version = (a.kafka_version or KAFKA_VERSION) != KAFKA_VERSION or a.metadata != "kraft"
    if other_version and a.json == str(DOC_JSON):
        a.json = str(DOC_JSON.with_name(f"detection-{a.kafka_version or KAFKA_VERSION}-{a.metadata}.json"))

    if a.render or a.rescore:
        doc = load_doc(Path(a.json))
        if a.rescore:
            doc = rescore(doc, [p.strip() for p in a.cells.split(",") if p.strip()])
            Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
        render(doc)
        return 0
    import logging

    for name in ("prozess.client", "prozess.topics", "prozess.workloads"):  # client reconnect chatter under faults
        logging.getLogger(name).setLevel(logging.ERROR)
    pats = [p.strip() for p in a.cells.split(",") if p.strip()]
    cells = [c for c in CELLS if any(fnmatch.fnmatch(c.id, p) for p in pats) and a.column in ("all", c.column)]
    if not cells:
        print(f"no cell matches {a.cells!r}; cells: {', '.join(c.id for c in CELLS)}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else list(range(1, a.k + 1))

    from prozess.cluster import ClusterSpec, attach_cluster, open_cluster

    disk = {c.disk for c in cells}
    if len(disk) > 1:
        print("disk cells run on a cluster of their own (with the disk layer): select them apart, e.g. --cells 'disk-*'", file=sys.stderr)
        return 2
    mirror = {c.mirror for c in cells}
    if len(mirror) > 1:
        print("mirror cells make their own clusters and MM2 node per campaign: select them apart, e.g. --cells 'mirror-*'", file=sys.stderr)
        return 2
    if True in mirror:
        return run_mirror_cells(a, cells, seeds)
    own = a.cluster is None
    if own:
        overrides = dict(CLUSTER_OVERRIDES)
        if a.metadata == "zookeeper":  # the KRaft quorum timeouts mean nothing to a ZooKeeper-mode broker
            overrides = {k: v for k, v in overrides.items() if not k.startswith("controller.quorum.")}
        try:
            spec = ClusterSpec.preset("safe", broker_overrides=overrides, kafka_version=a.kafka_version or KAFKA_VERSION,
                                      metadata=a.metadata)
        except SpecError as e:
            print(f"detection: {e}", file=sys.stderr)
            return 2
        cluster = open_cluster(spec, backend="docker", name=a.name or f"pzdet-{os.getpid()}", keep=a.keep,
                               **({"disk_faults": True} if True in disk else {}))
    else:
        cluster = attach_cluster(a.cluster)
    t_all = time.monotonic()
    summaries = []
    try:
        if own:
            t = time.monotonic()
            cluster.up(timeout=900)
            print(f"cluster {cluster.name} up in {time.monotonic() - t:.0f} s", flush=True)
        kafka = cluster.spec.kafka_version + (" (ZooKeeper)" if cluster.spec.metadata == "zookeeper" else "")
        for cell in cells:
            print(f"cell {cell.id}: {cell.config} / {cell.faults}", flush=True)
            records = run_cell(cluster, cell, seeds, time_limit=a.time_limit, results_dir=a.results_dir)
            if a.add_seeds:
                stored = {c["id"]: c for c in load_doc(Path(a.json)).get("cells", [])}.get(cell.id)
                records = add_seed_records(stored, records)
            s = summarize(cell, records, kafka=kafka, time_limit=a.time_limit)
            summaries.append(s)
            print(f"  => detected {s['detected']}/{s['campaigns']}, median ttd {s['median_time_to_detect_s']}, "
                  f"false alarms {s['false_alarms']}, seen {s['anomaly_types_seen']}", flush=True)
            if not a.no_docs:  # after every cell, so an interrupted matrix keeps what it measured
                meta = {} if a.add_seeds else {  # added seeds complete a cell; the matrix's own date and K stay
                    "kafka": kafka, "date": s["date"], "machine": machine(), "nodes": len(cluster.nodes), "k": len(seeds),
                    "time_limit_s": a.time_limit, "cluster": {"preset": "safe", "broker_overrides": CLUSTER_OVERRIDES}}
                doc = merge_doc(load_doc(Path(a.json)), [s], meta)
                Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
                if not other_version:  # docs/detection.md and the README show the default version
                    render(doc)
    finally:
        if own and not a.keep:
            cluster.down()
    print(f"matrix done in {time.monotonic() - t_all:.0f} s", flush=True)
    for s in summaries:
        print(f"{s['id']:28s} safe={s['safe']!s:5s} detected={s['detected']}/{s['campaigns']} ttd={s['median_time_to_detect_s']} "
              f"false_alarms={s['false_alarms']} seen={','.join(s['anomaly_types_seen'])}")
    return 0


def run_mirror_cells(a: Any, cells: list[Cell], seeds: list[int]) -> int:
    """Mirror cells: every campaign makes (and removes) its own source, target and MM2 node through the runner."""
    from prozess.cluster.jars import MIRROR_VERSION
    from prozess.cluster.spec import KAFKA_VERSION

    kafka = f"{KAFKA_VERSION} (MirrorMaker 2 {MIRROR_VERSION})"
    for cell in cells:
        print(f"cell {cell.id}: {cell.config} / {cell.faults}", flush=True)
        records = run_cell(None, cell, seeds, time_limit=a.time_limit, results_dir=a.results_dir)
        s = summarize(cell, records, kafka=kafka, time_limit=a.time_limit)
        print(f"  => detected {s['detected']}/{s['campaigns']}, median ttd {s['median_time_to_detect_s']}, "
              f"false alarms {s['false_alarms']}, seen {s['anomaly_types_seen']}", flush=True)
        if not a.no_docs:  # the matrix's own metadata (kafka, date, k) stays the main run's
            doc = merge_doc(load_doc(Path(a.json)), [s], {})
            Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
            render(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
