"""The consumer-group checker: committed offsets, hand-overs and deliveries of the `group` workload.

Reads the ops of `prozess.workloads.group` (see its docstring): `produce`,
`poll` (with the rebalance events `assigned` {p: committed offset at
hand-over} and `revoked`), `commit`, `committed`, `read-input`.

Anomalies (each makes the history invalid):

- offset-regression: an operation observed a partition's committed offset
  lower than one observed by an operation that had completed before it
  began (observations: ok commits, committed reads, hand-over offsets).
- resume-skip: after a hand-over at committed offset c, the new owner's first
  record of the partition came after c although records from c on existed:
  they were skipped.
- resume-rewind: after a hand-over at committed offset c, the new owner's
  first record came before c: records the group had already committed were
  delivered again (more than at-least-once allows).
- delivery-gap: while one member owned a partition, two successive
  deliveries skipped over existing records.
- delivery-repeat: while one member owned a partition, a delivery went back
  to (or repeated) an offset it had already delivered.
- undelivered: a record below the group's final committed offset that no
  member ever received (the group moved past it: lost).

Re-delivery after a hand-over starting at the committed offset is what
at-least-once allows in both commit modes; it is counted (`redelivered`) but
not an anomaly. Records above the final committed offset (the group did not
drain) make the result "unknown" unless something makes it false.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prozess.checkers.result import Found

__all__ = ["CHECKERS", "DEFINITIONS", "check_group"]


DEFINITIONS: dict[str, str] = {
    "offset-regression": "A partition's committed offset was observed lower than an earlier observation that completed before it began.",
    "resume-skip": "After a rebalance, the partition's new owner started past the committed offset, skipping existing records.",
    "resume-rewind": "After a rebalance, the partition's new owner started before the committed offset, re-delivering committed records.",
    "delivery-gap": "While one member owned a partition, successive deliveries skipped over existing records.",
    "delivery-repeat": "While one member owned a partition, it was delivered an offset it had already been delivered.",
    "undelivered": "A record below the group's final committed offset that no member ever received.",
}


def check_group(history: Any, test: dict | None = None) -> dict:
    """Checks a `group` workload history; returns the shared checker result."""
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: the cyclic collector would only rescan them
    try:
        return _check(list(history.ops if hasattr(history, "ops") else history))
    except Exception as e:
        return {"valid": "unknown", "anomaly-types": [], "anomalies": {}, "error": f"{type(e).__name__}: {e}"}
    finally:
        if gc_was_enabled:
            gc.enable()


class _Own:
    __slots__ = ("expect", "assigned_at", "last", "last_op")

    def __init__(self, expect: int | None, assigned_at: int | None):
        self.expect = expect          # where the owner must resume (None: unknown)
        self.assigned_at = assigned_at
        self.last: int | None = None
        self.last_op: int | None = None


def _check(ops: list) -> dict:
    found = Found(DEFINITIONS)
    exists: set[tuple[int, int]] = set()
    ends: dict[int, int] = {}
    for op in ops:
        if op.type in ("ok", "info") and op.f == "produce" and isinstance(op.value, list):
            for rec in op.value:
                if isinstance(rec, list) and len(rec) == 3 and rec[1] is not None:
                    exists.add((int(rec[0]), int(rec[1])))
        elif op.type == "ok" and op.f == "read-input" and isinstance(op.value, dict):
            for p, rs in (op.value.get("records") or {}).items():
                for off, _ in rs:
                    exists.add((int(p), int(off)))
            for p, e in (op.value.get("ends") or {}).items():
                ends[int(p)] = int(e)
    by_p: dict[int, list[int]] = defaultdict(list)
    for p, off in exists:
        by_p[p].append(off)
    for offs in by_p.values():
        offs.sort()

    def existing_between(p: int, lo: int, hi: int) -> list[int]:
        """Known record offsets in [lo, hi) of partition p."""
        import bisect

        offs = by_p.get(p, [])
        return offs[bisect.bisect_left(offs, lo): bisect.bisect_left(offs, hi)]

    done_max: dict[int, tuple[int, int]] = {}        # p -> (offset, op index) among completed observations
    snapshot: dict[Any, dict[int, tuple[int, int]]] = {}
    open_inv: dict[Any, int] = {}
    owners: dict[tuple[Any, int], _Own] = {}
    delivered: dict[tuple[int, int], int] = defaultdict(int)
    final_committed: dict[int, int] | None = None
    max_committed: dict[int, int] = {}
    regressions_seen: set[tuple[int, int]] = set()

    def observe(p: int, x: int, i: int, inv: int | None) -> None:
        snap = snapshot.get(inv, {}) if inv is not None else {}
        prior = snap.get(p)
        if prior is not None and x < prior[0] and (p, prior[1]) not in regressions_seen:
            regressions_seen.add((p, prior[1]))
            found.add("offset-regression", f"Op {i} ({ops[i].f} by process {ops[i].process}) observed partition {p}'s committed offset at {x}, "
                      f"but op {prior[1]} ({ops[prior[1]].f} by process {ops[prior[1]].process}) had already observed {prior[0]} "
                      f"and completed before op {i} began. Committed offsets must never go backwards.",
                      [i, prior[1]] + ([inv] if inv is not None else []), partition=p, offsets=[prior[0], x])
        pending.append((p, x, i))
        if x > max_committed.get(p, -1):
            max_committed[p] = x

    for i, op in enumerate(ops):
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            open_inv[op.process] = i
            if op.f in ("poll", "commit", "committed"):
                snapshot[i] = dict(done_max)
            continue
        inv = open_inv.pop(op.process, None)
        pending: list[tuple[int, int, int]] = []
        v = op.value if isinstance(op.value, dict) else {}
        if op.f == "commit" and op.type == "ok":
            for p, x in (v.get("offsets") or {}).items():
                observe(int(p), int(x), i, inv)
        elif op.f == "committed" and op.type == "ok":
            for p, x in (v.get("offsets") or {}).items():
                observe(int(p), int(x), i, inv)
            if v.get("final"):
                final_committed = {int(p): int(x) for p, x in (v.get("offsets") or {}).items()}
        elif op.f == "poll" and op.type == "ok":
            proc = op.process
            assigned = {int(p): c for p, c in (v.get("assigned") or {}).items()}
            revoked = {int(p) for p in v.get("revoked") or []}
            recs = {int(p): rs for p, rs in (v.get("records") or {}).items()}
            for p in revoked:
                if p not in assigned:
                    _deliver(found, owners, delivered, existing_between, proc, p, recs.pop(p, []), i)
                owners.pop((proc, p), None)
            for p, c in assigned.items():
                if c is not None and c >= 0:
                    observe(p, int(c), i, inv)
                owners[(proc, p)] = _Own(None if c is None else max(int(c), 0), i)
            for p, rs in recs.items():
                _deliver(found, owners, delivered, existing_between, proc, p, rs, i)
        elif op.type == "info" or op.f in ("unsubscribe", "subscribe") and op.type == "ok":
            if op.type == "info" or op.f == "unsubscribe":
                for key in [k for k in owners if k[0] == op.process]:
                    del owners[key]
        snapshot.pop(inv, None)
        for p, x, j in pending:
            if p not in done_max or x > done_max[p][0]:
                done_max[p] = (x, j)

    committed_end = final_committed if final_committed is not None else max_committed
    undelivered: dict[int, list[int]] = defaultdict(list)
    unconsumed = 0
    for p, offs in by_p.items():
        top = committed_end.get(p, 0)
        for off in offs:
            if delivered.get((p, off), 0):
                continue
            if off < top:
                undelivered[p].append(off)
            else:
                unconsumed += 1
    for p, offs in sorted(undelivered.items()):
        found.add("undelivered", f"Partition {p}: the group's committed offset reached {committed_end[p]}, but no member ever received "
                  f"offset(s) {offs[:10]}{' ...' if len(offs) > 10 else ''}. Those records are lost to the group.",
                  [], partition=p, offsets=offs[:50], count=len(offs))
    entries = found.entries()
    redelivered = sum(n - 1 for n in delivered.values() if n > 1)
    result: dict[str, Any] = {
        "valid": not entries,
        "anomaly-types": sorted(entries),
        "anomalies": entries,
        "counts": {"records": len(exists), "delivered": len(delivered), "redelivered": redelivered,
                   "unconsumed": unconsumed, "final-committed": final_committed is not None},
    }
    if not entries:
        if final_committed is None:
            result["valid"] = "unknown"
            result["reason"] = "no final read of the committed offsets; undelivered records cannot be told from unconsumed ones"
        elif unconsumed:
            result["valid"] = "unknown"
            result["reason"] = f"{unconsumed} record(s) above the final committed offsets were never consumed (the group did not drain)"
        elif not exists:
            result["valid"] = "unknown"
            result["reason"] = "no records: nothing was tested"
    return result


def _deliver(found: Found, owners: dict, delivered: dict, existing_between: Any, proc: Any, p: int, rs: list, i: int) -> None:
    own = owners.get((proc, p))
    if own is None:
        own = owners[(proc, p)] = _Own(None, None)
    for off, _v in rs:
        off = int(off)
        delivered[(p, off)] += 1
        if own.last is None:
            if own.expect is not None and off != own.expect:
                if off < own.expect:
                    found.add("resume-rewind", f"Process {proc} took over partition {p} at committed offset {own.expect} (op {own.assigned_at}) "
                              f"but its first record was offset {off} (op {i}): {own.expect - off} committed record(s) delivered again.",
                              [x for x in (own.assigned_at, i) if x is not None], partition=p, committed=own.expect, first=off, process=proc)
                else:
                    skipped = existing_between(p, own.expect, off)
                    if skipped:
                        found.add("resume-skip", f"Process {proc} took over partition {p} at committed offset {own.expect} (op {own.assigned_at}) "
                                  f"but its first record was offset {off} (op {i}), skipping existing record(s) {skipped[:10]}.",
                                  [x for x in (own.assigned_at, i) if x is not None], partition=p, committed=own.expect, first=off,
                                  skipped=skipped[:50], process=proc)
        else:
            if off <= own.last:
                found.add("delivery-repeat", f"Process {proc}, owning partition {p} without a rebalance in between, received offset {off} "
                          f"(op {i}) after it had already received offset {own.last} (op {own.last_op}).",
                          [x for x in (own.last_op, i) if x is not None], partition=p, offsets=[own.last, off], process=proc)
            elif off > own.last + 1:
                skipped = existing_between(p, own.last + 1, off)
                if skipped:
                    found.add("delivery-gap", f"Process {proc}, owning partition {p}, received offset {own.last} (op {own.last_op}) and next "
                              f"offset {off} (op {i}), skipping existing record(s) {skipped[:10]}.",
                              [x for x in (own.last_op, i) if x is not None], partition=p, offsets=[own.last, off],
                              skipped=skipped[:50], process=proc)
        own.last, own.last_op = off, i


CHECKERS = {"group": check_group}
