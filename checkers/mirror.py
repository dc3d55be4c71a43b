"""The MirrorMaker 2 checker: did mirroring from a source cluster to a target cluster lose or reorder anything?

Reads the ops of a `mirror` workload history (values are unique integers per
run; MM2 keeps the source partition number in the mirrored topic):

    produce       invoke [[p, v], ...]            -> ok/info [[p, offset or null, v], ...]   (source)
    read-source   invoke {"final": true}          -> ok {"records": {"p": [[off, v], ...]}}  (source, from the beginning)
    read-target   invoke {"final": bool}          -> ok {"records": {"p": [[off, v], ...]}}  (mirrored topic, from the beginning)
    commit-source invoke {"offsets": {"p": next}} -> ok (a consumer group's commit in the source)
    failover      invoke null                     -> ok {"offsets": {"p": translated target offset or null},
                                                         "records": {"p": [[off, v], ...]}}  (the group resumes in the target)

Anomalies (each makes the history invalid):

- mirror-lost: a value the source still holds in its final read (so the
  source did not lose it: that is the queue checker's business) is missing
  from the target's final read. Example: 41 at source offset 7 of partition
  0; the final target read of partition 0 has no 41.
- mirror-reordered: within one partition, the target holds (first copies
  of) two values in the opposite order of their source offsets. Example:
  source 0:[5@3, 6@4]; target 0:[6@10, 5@11].
- mirror-garbage: the target holds a value no op produced. Example: 999 in
  the target, never produced.
- failover-skip: a group failing over to the target resumed, at the offset
  MM2 translated, past records it had not consumed in the source: the first
  record at or after the translated offset came from a source offset above
  the group's last committed one. Example: committed source offset 20;
  translated target offset 30 holds the copy of source offset 24: 20..23
  are skipped (lost for the group).
- failover-rewind: the translated offset rewinds the group further than MM2
  documents: more re-processing than its at-least-once translation allows
  (`rewind_bound`). A group at the head of the partition may be rewound
  `max_rewind` records (default `offset.lag.max`, 100: the spacing of offset
  syncs). A group behind the head is translated from older syncs, which MM2
  3.5+ keeps only sparsely (`OffsetSyncStore`: the syncs sit in power-of-two
  buckets behind the latest, and translation is off by less than the bucket
  that holds both the group's offset and the latest sync); with the source's
  end E as the latest sync's upper bound, a group committed at C may be
  rewound up to 2^(bitlen(E xor C) + 1) records (one bucket level of slack
  for a group just before a bucket's first sync). Example: committed 500 at
  the head (E = 500), resumed at the copy of 200. Judged only for a settled
  failover: one whose invoke says the copy had held every source value for the
  workload's settle time (`{"settled": true}`; an invoke without that word, as
  in older histories, counts as settled). Before that MM2 may not yet have
  checkpointed the group's last commit, so the target still holds an older,
  correct translation: such rewinds are counted (`unsettled`), not flagged.

Counted, never anomalies: `duplicates` (values copied more than once:
MM2 is at-least-once), rewinds within the bound, rewinds of unsettled
failovers (`unsettled`), and partitions the failover found no translation for. A history without a final target read is
`unknown`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prozess.checkers.result import Found, build, unknown

__all__ = ["DEFINITIONS", "check_mirror", "rewind_bound"]

DEFINITIONS: dict[str, str] = {
    "mirror-lost": "A value the source still holds is missing from the target's final read of the mirrored topic.",
    "mirror-reordered": "Within a partition, the target holds two values in the opposite order of their source offsets.",
    "mirror-garbage": "The target holds a value that no operation produced.",
    "failover-skip": "A group failing over to the target resumed at the translated offset past records it had not consumed in the source.",
    "failover-rewind": "The translated offset rewound a failing-over group further behind its committed source offset than MM2 documents.",
}


def rewind_bound(committed: int, end: int, max_rewind: int) -> int:
    """How many records back MM2 may resume a group committed at source offset `committed` when the partition
    ends at `end` (see failover-rewind in the module docstring): `max_rewind` at the head, more behind it."""
    if end <= committed + max_rewind:
        return max_rewind
    return max(max_rewind, 2 ** ((end ^ committed).bit_length() + 1))


def _records(value: Any) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for p, rs in ((value or {}).get("records") or {}).items():
        out[int(p)] = [(int(o), int(v)) for o, v in rs]
    return out


def check_mirror(history: Any, test: dict | None = None) -> dict:
    """Checks a mirror workload history; returns the shared checker result (see the module docstring)."""
    ops = list(history.ops if hasattr(history, "ops") else history)
    wo = ((test or {}).get("workload_options") or {}) if isinstance(test, dict) else {}
    max_rewind = int(wo.get("max_rewind", wo.get("offset_lag_max", 100)))
    found = Found(DEFINITIONS)
    produced: dict[int, int] = {}                 # value -> op that produced it
    src: dict[int, tuple[int, int]] = {}          # value -> (partition, source offset), from the final source read
    src_read: int | None = None
    target_final: tuple[int, dict[int, list[tuple[int, int]]]] | None = None
    commits: list[tuple[int, int, dict[int, int]]] = []   # (completion time, op, offsets)
    failovers: list[tuple[int, int, Any, bool]] = []   # (invoke time, op, value, settled)
    invoked: dict[Any, tuple[int, int, Any]] = {}
    for op in ops:
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            invoked[op.process] = (op.index, op.time, op.value)
            if op.f == "produce":
                for rec in op.value or []:
                    produced.setdefault(int(rec[1]), op.index)
            continue
        inv = invoked.pop(op.process, (op.index, op.time, None))
        if op.type != "ok":
            continue
        if op.f == "read-source":
            src_read = op.index
            for p, rs in _records(op.value).items():
                for off, v in rs:
                    src.setdefault(v, (p, off))
        elif op.f == "read-target" and (op.value or {}).get("final"):
            target_final = (op.index, _records(op.value))
        elif op.f == "commit-source":
            offs = {int(p): int(o) for p, o in ((op.value or {}).get("offsets") or {}).items()}
            commits.append((op.time, op.index, offs))
        elif op.f == "failover":
            settled = not isinstance(inv[2], dict) or inv[2].get("settled", True) is not False
            failovers.append((inv[1], op.index, op.value or {}, settled))
    if target_final is None:
        return unknown("no final read of the target's mirrored topic completed: nothing to check")
    t_op, target = target_final
    copies: dict[int, int] = defaultdict(int)
    where: dict[int, tuple[int, int]] = {}       # value -> (partition, target offset) of its first copy
    for p, rs in target.items():
        max_src: tuple[int, int] | None = None   # (source offset, value) of the highest first copy so far
        for off, v in rs:
            copies[v] += 1
            if copies[v] > 1:
                continue
            where[v] = (p, off)
            if v not in produced:
                found.add("mirror-garbage", f"the final target read (op {t_op}) holds {v} at {p}:{off}, which no op produced",
                          [t_op], partition=p, value=v)
                continue
            s = src.get(v)
            if s is None:
                continue
            if max_src is not None and s[1] < max_src[0]:
                found.add("mirror-reordered",
                          f"partition {p}: the target holds {v} (source offset {s[1]}) at {off}, after {max_src[1]} "
                          f"(source offset {max_src[0]})", [t_op, produced.get(v), produced.get(max_src[1])],
                          partition=p, values=[max_src[1], v])
            if max_src is None or s[1] > max_src[0]:
                max_src = (s[1], v)
    if src_read is not None:
        for v, (p, off) in sorted(src.items(), key=lambda x: (x[1], x[0])):
            if v not in where and v in produced:
                found.add("mirror-lost", f"{v} (source {p}:{off}, produced by op {produced[v]}) is missing from the "
                          f"final target read (op {t_op})", [produced[v], src_read, t_op], partition=p, value=v)
    # -- failover at translated offsets -------------------------------------------------------
    by_target: dict[int, list[tuple[int, int]]] = {p: sorted(rs) for p, rs in target.items()}
    ends: dict[int, int] = {}                     # p -> the source's end offset (one past its last record)
    for p, off in src.values():
        ends[p] = max(ends.get(p, 0), off + 1)
    rewinds: list[int] = []
    untranslated = 0
    unsettled: list[int] = []
    for inv_t, f_op, value, settled in failovers:
        before = [c for c in commits if c[0] < inv_t]
        last: dict[int, tuple[int, int]] = {}
        for _, c_op, offs in before:
            for p, o in offs.items():
                last[p] = (o, c_op)
        for p_s, t_off in ((value.get("offsets") or {}).items()):
            p = int(p_s)
            if t_off is None:
                untranslated += 1
                continue
            if p not in last:
                continue
            c, c_op = last[p]
            first = next(((o, v) for o, v in by_target.get(p, []) if o >= int(t_off)), None)
            if first is None or first[1] not in src:
                continue
            s_off = src[first[1]][1]
            skipped = [o for (pp, o) in (src[v] for v in src) if pp == p and c <= o < s_off]
            if s_off > c and skipped:
                found.add("failover-skip",
                          f"partition {p}: the group committed source offset {c} (op {c_op}); failover (op {f_op}) resumed at "
                          f"target offset {t_off}, the copy of source offset {s_off}: {len(skipped)} record(s) skipped",
                          [c_op, f_op, t_op], partition=p)
            elif not settled:
                unsettled.append(max(0, c - s_off))
            elif c - s_off > (bound := rewind_bound(c, ends.get(p, c), max_rewind)):
                found.add("failover-rewind",
                          f"partition {p}: the group committed source offset {c} (op {c_op}); failover (op {f_op}) resumed at "
                          f"the copy of source offset {s_off}, {c - s_off} records back (documented bound {bound} "
                          f"with the source's end at {ends.get(p, c)})", [c_op, f_op, t_op], partition=p)
            else:
                rewinds.append(max(0, c - s_off))
    dups = sum(n - 1 for n in copies.values() if n > 1)
    extra = {"mirror": {"source-values": len(src), "target-values": len(where), "duplicates": dups,
                        "failovers": len(failovers), "rewinds": sorted(rewinds)[-20:], "untranslated": untranslated,
                        "unsettled": sorted(unsettled)[-20:]}}
    result = build(found.entries(), (), **extra)
    if src_read is None and result["valid"] is True:
        return unknown("no final read of the source completed: loss cannot be told from the source's own", **extra)
    return result
