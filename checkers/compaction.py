"""The compaction checker: does a compacted topic keep the latest value of every key?

Reads the ops of `prozess.workloads.compaction` (shapes in
`prozess.compaction_model`): `put` and `delete` (a tombstone) with the
offsets the brokers acknowledged, and `read-all` (every record of one
topic-partition from its log start to the high watermark taken when the read
began; `final` reads come after the cleaner had time to run).

What compaction may do, and is therefore never an anomaly: drop a record of
a key when a record of the same key with a higher offset exists (older
values), and drop a tombstone once `delete.retention.ms` has passed.

Anomalies (each makes the history invalid):

- lost-latest: a full read misses the latest record of a key below its end
  (the highest offset known for that key from acknowledgements and reads),
  which the log must keep, and no newer record of the key can explain it; or
  a final read ends below the offset of a key's last write (no write of the
  key was invoked after it), acknowledged before the read began.
  Example: put k3=7 acknowledged at offset 40; a later read to end 90 has no
  record at 40 and nothing else of k3: the latest value of k3 was lost.
- compacted-latest: a record that an earlier full read returned, still the
  latest of its key, is missing from a later full read that has a gap at its
  offset: the log removed a latest record. Example: reads 1 and 2 both see
  k5=3 at offset 12 and nothing newer of k5; read 3 has offsets 11 and 13
  but none at 12.
- tombstone-vanished-early: the latest record of a key is a tombstone that is
  missing from a full read completed less than `delete.retention.ms` after
  the delete was invoked (a tombstone must stay that long after it was written).
  Example: delete k2 at 10.0 s, retention 30 s; a read at 12.0 s with end
  past the tombstone's offset has no record of k2 at all.
- resurrection: the latest record of a key below a full read's end is a
  tombstone, the read does not contain it, but returns an older value of the
  key as that key's last record: a deleted key came back. Example: put k1=4
  at offset 3, delete k1 at offset 9; a read to end 20 returns k1=4 at 3 and
  nothing at 9. (Not counted for reads that took longer than
  `delete.retention.ms`, which Kafka documents as able to miss tombstones.)
- nonmonotonic-offsets: offsets within one read are not strictly increasing.
  Example: a read returns offsets 10, 11, 11, 12.
- earlier-after-later: within one read, a record of a key sits at a higher
  offset than another record of that key whose write began only after the
  first record's write was acknowledged: an earlier value after a later one.
  Example: put k4=1 acknowledged at 2.0 s, put k4=2 invoked at 3.0 s; a read
  returns k4=2 at offset 7 and k4=1 at offset 9.
- inconsistent-offsets: two different records were seen at one offset of a
  partition (acknowledgements and reads), as after a truncated log.
  Example: put k6=2 acknowledged at offset 17; a read returns k8=5 at 17.
- garbage-read: a read returned a record (key, seq) that no op wrote.
  Example: a read returns k9=55, but no put of k9 with seq 55 was invoked.

Also reported, never an anomaly: `compaction` (records and offsets the final
reads no longer hold, i.e. evidence that the cleaner ran). A history with no
final read, or whose final reads show no removed offset at all (the cleaner
never ran; `require_compaction` in the workload options turns this off), is
`unknown`: it would vouch for nothing about compaction.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from prozess.checkers.result import Found, build, unknown
from prozess.compaction_model import DEFAULTS, Rec, parse_read_record

__all__ = ["DEFINITIONS", "check_compaction"]

DEFINITIONS: dict[str, str] = {
    "lost-latest": "A full read misses the latest record of a key below its end, which compaction must keep, and no newer record of the key explains it.",
    "compacted-latest": "A record an earlier full read returned, still the latest of its key, left a gap in a later full read: the log removed a latest record.",
    "tombstone-vanished-early": "The latest record of a key, a tombstone, is missing from a full read completed less than delete.retention.ms after the delete.",
    "resurrection": "A full read returns an older value of a key as its last record while the key's latest record below the read's end is a tombstone: a deleted key came back.",
    "nonmonotonic-offsets": "Offsets within one read are not strictly increasing.",
    "earlier-after-later": "Within one read, a record of a key sits after another record of that key whose write began only after the first record's write was acknowledged.",
    "inconsistent-offsets": "Two different records were seen at the same offset of a partition.",
    "garbage-read": "A read returned a record that no operation wrote.",
}

NS_PER_MS = 1_000_000
FOREVER = 1 << 62


class _Write:
    __slots__ = ("key", "seq", "tomb", "inv", "inv_t", "done", "done_t", "type", "offset", "tp")

    def __init__(self, key: int, seq: int, tomb: bool, inv: int, inv_t: int):
        self.key, self.seq, self.tomb, self.inv, self.inv_t = key, seq, tomb, inv, inv_t
        self.done: int | None = None
        self.done_t = FOREVER     # completion time; "never" for info writes (no real-time order after them)
        self.type = "info"
        self.offset: int | None = None
        self.tp: int | None = None


class _Read:
    __slots__ = ("tp", "final", "start", "end", "recs", "inv", "inv_t", "done", "done_t", "at")

    def __init__(self, tp: int, value: dict, inv: int, inv_t: int, done: int, done_t: int):
        self.tp = int(tp)
        self.final = bool(value.get("final"))
        self.start = int(value.get("start") or 0)
        self.end = int(value["end"])
        self.recs = [parse_read_record(x) for x in value.get("records") or []]
        self.inv, self.inv_t, self.done, self.done_t = inv, inv_t, done, done_t
        self.at = {r.offset: r for r in self.recs}


def _options(test: dict | None) -> dict[str, Any]:
    wo = (test or {}).get("workload_options") or {}
    return {**DEFAULTS, **(wo if isinstance(wo, dict) else {})}


def check_compaction(history: Any, test: dict | None = None) -> dict:
    """Checks a compaction workload history; returns the shared checker result (see the module docstring)."""
    import gc

    was = gc.isenabled()
    gc.disable()  # many small acyclic objects: the cyclic collector would only rescan them
    try:
        return _check(list(history.ops if hasattr(history, "ops") else history), _options(test))
    finally:
        if was:
            gc.enable()


def _desc(w: _Write) -> str:
    what = "tombstone" if w.tomb else f"value {w.seq}"
    at = f" at offset {w.offset}" if w.offset is not None else ""
    return f"{'delete' if w.tomb else 'put'} k{w.key} ({what}, op {w.done if w.done is not None else w.inv}, {w.type}{at})"


def _check(ops: list, opts: dict[str, Any]) -> dict:
    retention_ns = int(opts["delete_retention_ms"]) * NS_PER_MS
    # topic-partitions at or past `partitions` belong to the compact,delete topic, whose time retention may delete
    partitions = int(opts["partitions"]) if opts.get("delete_topic") else 0
    time_retention_ns = int(opts.get("retention_ms") or 0) * NS_PER_MS
    require_compaction = bool(opts.get("require_compaction", True))

    writes: dict[tuple[int, int], _Write] = {}
    open_inv: dict[Any, tuple[int, int, Any]] = {}
    reads: list[_Read] = []
    for op in ops:
        if op.process == "nemesis" or op.f not in ("put", "delete", "read-all"):
            continue
        if op.type == "invoke":
            open_inv[op.process] = (op.index, op.time, op.value)
            if op.f in ("put", "delete"):
                v = op.value
                w = _Write(int(v["key"]), int(v["seq"]), op.f == "delete", op.index, op.time)
                writes[(w.key, w.seq)] = w
            continue
        inv = open_inv.pop(op.process, None)
        if inv is None:
            continue
        if op.f in ("put", "delete"):
            iv = inv[2]
            w = writes.get((int(iv["key"]), int(iv["seq"])))
            if w is None:
                continue
            w.done, w.type = op.index, op.type
            if op.type == "ok":
                w.done_t = op.time
                v = op.value if isinstance(op.value, dict) else {}
                w.offset = int(v["offset"]) if v.get("offset") is not None else None
                w.tp = int(v["tp"]) if v.get("tp") is not None else None
            elif op.type == "fail":
                w.done_t = op.time
        elif op.type == "ok" and isinstance(op.value, dict) and op.value.get("end") is not None:
            reads.append(_Read(op.value.get("tp", (inv[2] or {}).get("tp", 0)), op.value, inv[0], inv[1], op.index, op.time))
    if not reads:
        return unknown("no read-all completed: nothing to check")

    found = Found(DEFINITIONS)
    # -- what is known at each offset: acknowledgements and reads -----------------------------
    at: dict[tuple[int, int], tuple[int, int]] = {}        # (tp, offset) -> (key, seq) first seen
    at_src: dict[tuple[int, int], int] = {}                 # ... and the op that showed it
    key_recs: dict[int, dict[int, int]] = defaultdict(dict)  # key -> {offset: seq} known to hold a record of it
    conflicted: set[tuple[int, int]] = set()
    tp_of: dict[int, int] = {}

    def learn(tp: int, off: int, key: int, seq: int, src: int) -> None:
        tp_of.setdefault(key, tp)
        key_recs[key].setdefault(off, seq)
        prev = at.get((tp, off))
        if prev is None:
            at[(tp, off)] = (key, seq)
            at_src[(tp, off)] = src
        elif prev != (key, seq) and (tp, off) not in conflicted:
            conflicted.add((tp, off))
            found.add("inconsistent-offsets",
                      f"offset {off} of partition {tp} held k{prev[0]}#{prev[1]} (op {at_src[(tp, off)]}) "
                      f"and k{key}#{seq} (op {src})", [at_src[(tp, off)], src], tp=tp, offset=off)

    for r in reads:
        for rec in r.recs:
            w = writes.get((rec.key, rec.seq))
            if w is None or w.tomb != rec.tombstone:
                found.add("garbage-read", f"read op {r.done} returned k{rec.key}#{rec.seq}"
                          f"{' (tombstone)' if rec.tombstone else ''} at offset {rec.offset}, which no op wrote",
                          [r.done], tp=r.tp, offset=rec.offset)
    # acknowledgements first, then reads in completion order: the first source of an offset is the earliest evidence
    for w in sorted((w for w in writes.values() if w.type == "ok" and w.offset is not None and w.tp is not None),
                    key=lambda w: w.done):
        learn(w.tp, w.offset, w.key, w.seq, w.done)  # type: ignore[arg-type]
    for r in sorted(reads, key=lambda r: r.done):
        for rec in r.recs:
            learn(r.tp, rec.offset, rec.key, rec.seq, r.done)
    key_offsets: dict[int, list[int]] = {k: sorted(d) for k, d in key_recs.items()}
    # indeterminate writes with no known offset: they may sit anywhere after their invocation
    unplaced: dict[int, list[int]] = defaultdict(list)  # key -> invocation times
    placed = {(k, seq) for k, d in key_recs.items() for seq in d.values()}
    for w in writes.values():
        if w.type != "fail" and (w.key, w.seq) not in placed:
            unplaced[w.key].append(w.inv_t)
    for k in unplaced:
        unplaced[k].sort()
    keys_of_tp: dict[int, set[int]] = defaultdict(set)
    for k, tp in tp_of.items():
        keys_of_tp[tp].add(k)
    seen_before: dict[tuple[int, int], int] = {}  # (key, seq) -> completion time of the first read that returned it

    # a key's last write in real time: no other write of the key (that may have happened) was invoked after it
    last_write: dict[int, _Write] = {}
    for w in writes.values():
        if w.type != "fail" and (w.key not in last_write or w.inv_t > last_write[w.key].inv_t):
            last_write[w.key] = w
    removed_offsets = 0
    removed_records = 0
    final_reads = 0
    for r in sorted(reads, key=lambda r: r.done):
        # -- offsets strictly increasing ---------------------------------------------------
        prev_off = None
        for rec in r.recs:
            if prev_off is not None and rec.offset <= prev_off:
                found.add("nonmonotonic-offsets", f"read op {r.done} of partition {r.tp} returned offset {rec.offset} "
                          f"after offset {prev_off}", [r.done], tp=r.tp, offsets=[prev_off, rec.offset])
                break
            prev_off = rec.offset
        # -- earlier value after a later one ------------------------------------------------
        max_inv: dict[int, tuple[int, Rec]] = {}
        for rec in r.recs:
            w = writes.get((rec.key, rec.seq))
            if w is None:
                continue
            best = max_inv.get(rec.key)
            if best is not None and w.done_t < best[0]:
                a = writes[(best[1].key, best[1].seq)]
                found.add("earlier-after-later",
                          f"read op {r.done} returned k{rec.key}#{rec.seq} at offset {rec.offset} after "
                          f"k{rec.key}#{a.seq} at offset {best[1].offset}, but {_desc(w)} was acknowledged "
                          f"before {_desc(a)} was invoked (op {a.inv})",
                          [r.done, w.done, a.inv], key=rec.key, tp=r.tp)
            if best is None or w.inv_t > best[0]:
                max_inv[rec.key] = (w.inv_t, rec)
        # -- the latest record of each key below the end ------------------------------------
        last_in_read: dict[int, Rec] = {}
        for rec in r.recs:
            last_in_read[rec.key] = rec
        for k in keys_of_tp.get(r.tp, ()):
            offs = key_offsets[k]
            i = bisect.bisect_left(offs, r.end) - 1
            if i < 0:
                continue
            m = offs[i]
            if m < r.start:
                continue
            key_seq = (k, key_recs[k][m])
            got = r.at.get(m)
            if got is not None and (got.key, got.seq) == key_seq:
                continue
            w = writes.get(key_seq)
            if w is None:
                continue
            # a newer record of k (at or past the end), or an indeterminate write of k, may have replaced it
            if any(_write_inv_t(writes, k, key_recs[k][o]) <= r.done_t for o in offs[i + 1:]):
                continue
            u = unplaced.get(k)
            if u and u[0] <= r.done_t:
                continue
            if partitions and r.tp >= partitions and time_retention_ns and r.inv_t - w.inv_t >= time_retention_ns:
                continue  # the compact,delete topic's time retention may delete whole old segments
            if w.tomb:
                last = last_in_read.get(k)
                if last is not None and not last.tombstone and last.offset < m:
                    if r.done_t - r.inv_t < retention_ns:
                        older = writes.get((k, last.seq))
                        found.add("resurrection",
                                  f"read op {r.done} (end {r.end}) returns k{k}#{last.seq} at offset {last.offset} as the "
                                  f"last record of k{k}, but {_desc(w)} at offset {m} deleted it",
                                  [r.done, w.done or w.inv, older.done if older else None], key=k, tp=r.tp)
                elif r.done_t < w.inv_t + retention_ns:   # the whole read came before the tombstone could go
                    found.add("tombstone-vanished-early",
                              f"read op {r.done} (end {r.end}) has no record of k{k}; its latest record, {_desc(w)}, "
                              f"was invoked {(r.done_t - w.inv_t) / 1e9:.3f} s before the read completed, less than "
                              f"delete.retention.ms ({retention_ns / 1e9:.1f} s)",
                              [r.done, w.done or w.inv], key=k, tp=r.tp)
                continue
            seen = seen_before.get(key_seq)
            gap = got is None and r.recs and r.recs[0].offset < m < r.recs[-1].offset
            if seen is not None and seen < r.inv_t and gap:
                found.add("compacted-latest",
                          f"an earlier read saw {_desc(w)} at offset {m}, the latest record of k{k}; read op {r.done} "
                          f"(end {r.end}) has a gap at offset {m} and no newer record of k{k}",
                          [r.done, w.done or w.inv], key=k, tp=r.tp, offset=m)
            elif w.type == "ok" or seen is not None:
                instead = f"offset {m} holds k{got.key}#{got.seq}" if got is not None else f"offset {m} is missing"
                found.add("lost-latest",
                          f"read op {r.done} (end {r.end}) misses {_desc(w)}, the latest record of k{k}; {instead}",
                          [r.done, w.done or w.inv], key=k, tp=r.tp, offset=m)
        if r.final:
            # the log's end fell below an acknowledged write that is its key's last write: the final value is gone
            for k, w in last_write.items():
                if (w.type == "ok" and w.tp == r.tp and w.offset is not None and w.offset >= r.end
                        and w.done_t < r.inv_t and not w.tomb):
                    found.add("lost-latest",
                              f"final read op {r.done} ends at offset {r.end}, below {_desc(w)}, the last write of k{k}, "
                              f"acknowledged before the read began: the log lost it",
                              [r.done, w.done], key=k, tp=r.tp, offset=w.offset)
        for rec in r.recs:
            seen_before.setdefault((rec.key, rec.seq), r.done_t)
        if r.final:
            final_reads += 1
            removed_offsets += (r.end - r.start) - len(r.recs)
            removed_records += sum(1 for (tp, off) in at if tp == r.tp and r.start <= off < r.end and off not in r.at)

    compaction = {"final-reads": final_reads, "offsets-removed": max(0, removed_offsets),
                  "known-records-removed": removed_records, "reads": len(reads), "writes": len(writes)}
    result = build(found.entries(), (), compaction=compaction)
    if result["valid"] is True:
        if final_reads == 0:
            return unknown("no final read-all completed: the history says nothing about the compacted log", compaction=compaction)
        if require_compaction and removed_offsets <= 0:
            return unknown("the final reads hold every offset: the cleaner removed nothing, so compaction was not tested",
                           compaction=compaction)
    return result


def _write_inv_t(writes: dict, key: int, seq: int) -> int:
    w = writes.get((key, seq))
    return w.inv_t if w is not None else FOREVER
