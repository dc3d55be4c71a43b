"""The exactly-once (consume-transform-produce) checker: input/output accounting and read isolation.

It reads histories of the `eos` workload (`prozess.workloads.eos`), whose ops are:

    produce       invoke [[p, v], ...]                  input records for partition p of the input topic
                  ok     [[p, offset, v], ...]
    transform     invoke null
                  ok     {"txn": T, "in": [[p, off, v], ...], "out": [[p, off, src_p, src_off, out_v], ...],
                          "offsets": {"p": next_offset}}     (txn null when the poll returned nothing)
                  fail   the same, as far as known: T certainly aborted
                  info   the same, as far as known: T never asked to commit, so it never commits
    commit        invoke {"txn": T}; ok: committed; fail: certainly aborted; info: unknown
    abort         invoke {"txn": T}; any outcome: T not committed
    read-output   invoke {"final": bool}
                  ok     {"final": bool, "records": {"p": [[off, src_p, src_off, out_v, T], ...]},
                          "ends": {"p": position reached}}   (final reads only)
    read-input    ok     {"records": {"p": [[off, v], ...]}}  (final read of the whole input topic)
    group-offsets ok     {"offsets": {"p": next_offset}}      (the group's committed input offsets at the end)

The transform (`prozess.eos_model`, shared with the workload) is out_v = 2 * v, written to the output partition with the
input's number; each output record names its source record and its
transaction, so a reader's observation ties back to the one transform op that
wrote it.

Anomalies (each makes the history invalid):

- lost-input: an input record that the pipeline claims to have consumed (a
  committed transaction consumed it, or the group's committed offset is past
  it) but whose output no reader ever saw.
- duplicate-output: one input record has two or more visible outputs.
- reordered-output: within an output partition, outputs appear in another
  order than their input records.
- G1a: a reader saw output of a transaction that aborted (or never asked to
  commit): an aborted read.
- read-before-commit: a reader saw a transaction's output before that
  transaction's commit was even requested.
- torn-transaction: a reader saw some of a transaction's records but missed
  another one that lay inside what it read (same partition, below the
  reader's position; or any partition for a final read that reached the end).
- skipped-output: a reader read past a committed record without seeing it.
- wrong-source: a visible output whose value is not the transform of the
  input record it names, or that names an input record that does not exist.

Without transactions (`workload_options.transactional = false`, the
at-least-once twin) every written output counts as visible output: G1a and
read-before-commit do not apply, and duplicates are what it shows.

`unprocessed` input records (never consumed and committed by the end) are
not an anomaly but weak evidence: they make the result "unknown" unless
something else makes it false. Likewise a history without a final
read-output cannot show lost inputs and is "unknown" at best.

The checker is a pure function; it runs in linear time in the history plus
(readers x committed records) for the skip and torn checks.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from prozess.eos_model import transform_value
from prozess.history import gc_paused

__all__ = ["CHECKERS", "DEFINITIONS", "check_eos", "transactional"]

MAX_EXAMPLES = 8

DEFINITIONS: dict[str, str] = {
    "lost-input": "An input record the pipeline consumed and committed (offsets past it) whose output no read_committed reader ever saw.",
    "duplicate-output": "One input record has more than one output record visible to readers.",
    "reordered-output": "Within one output partition, outputs appear in a different order than their input records.",
    "G1a": "A reader observed a record written by a transaction that aborted (an aborted read).",
    "read-before-commit": "A reader observed a transaction's output before that transaction's commit was requested.",
    "torn-transaction": "A reader saw part of a transaction's records but not another one that lay within what it had read.",
    "skipped-output": "A reader read past a committed output record without observing it.",
    "wrong-source": "A visible output record whose value is not the transform of the input record it names, or names no input record.",
}


# -- helpers -------------------------------------------------------------------

def _ops(history: Any) -> list:
    return list(history.ops if hasattr(history, "ops") else history)


def _pkey(p: Any) -> int:
    return int(p)


class _Entries:
    """Collects anomaly cases by type."""

    def __init__(self) -> None:
        self.cases: dict[str, list[dict]] = defaultdict(list)

    def add(self, kind: str, explanation: str, ops: Iterable[int], **data: Any) -> None:
        c = self.cases[kind]
        if len(c) < MAX_EXAMPLES:
            c.append({"explanation": explanation, "ops": sorted(set(ops)), **data})
        else:
            c.append(None)  # counted, not rendered

    def result(self) -> dict[str, dict]:
        out = {}
        for kind in sorted(self.cases):
            cases = self.cases[kind]
            out[kind] = {
                "count": len(cases),
                "definition": DEFINITIONS.get(kind, kind),
                "examples": [c for c in cases if c is not None],
            }
        return out


class _Txn:
    __slots__ = ("id", "transform", "commit_inv", "commit_done", "abort_inv", "status", "ins", "outs", "offsets")

    def __init__(self, tid: str):
        self.id = tid
        self.transform: int | None = None      # index of the transform completion
        self.commit_inv: int | None = None
        self.commit_done: int | None = None
        self.abort_inv: int | None = None
        self.status = "open"                   # committed | aborted | unknown | open
        self.ins: list[tuple[int, int, int]] = []
        self.outs: list[tuple[int, int, int, int, int]] = []
        self.offsets: dict[int, int] = {}


def _status(t: _Txn, history_ops: list) -> str:
    if t.commit_inv is not None:
        if t.commit_done is None:
            return "unknown"
        typ = history_ops[t.commit_done].type
        return {"ok": "committed", "fail": "aborted"}.get(typ, "unknown")
    return "aborted"  # never asked to commit: aborted by the client, the coordinator or fencing


# -- the checker ---------------------------------------------------------------

def check_eos(history: Any, test: dict | None = None) -> dict:
    """Checks an `eos` workload history; returns the shared checker result (see the module docstring)."""
    # millions of small acyclic objects: the cyclic collector would only rescan them
    with gc_paused():
        try:
            return _check(_ops(history), test or {})
        except Exception as e:  # a checker never raises: it says it cannot tell
            return {"valid": "unknown", "anomaly-types": [], "anomalies": {}, "error": f"{type(e).__name__}: {e}"}


def transactional(test: dict | None) -> bool:
    """Whether the run used transactions (test.json workload_options.transactional; default yes)."""
    for holder in (test or {}).get("workload_options"), (test or {}).get("workload"):
        if isinstance(holder, dict) and "transactional" in holder:
            return bool(holder["transactional"])
    return True


def _check(ops: list, test: dict) -> dict:
    found = _Entries()
    txn_mode = transactional(test)
    txns: dict[str, _Txn] = {}
    inputs: dict[tuple[int, int], tuple[int, int]] = {}     # (p, off) -> (value, op index that shows it)
    group_offsets: dict[int, int] = {}
    group_offsets_op: int | None = None
    input_final: dict[int, int] = {}                       # p -> end of the final input read (exclusive)
    reads: list[tuple[int, int, bool, dict]] = []          # (completion index, invocation index, final, records)
    final_ends: dict[int, int] = {}
    open_inv: dict[Any, int] = {}
    n_final_reads = 0

    def txn(tid: str) -> _Txn:
        t = txns.get(tid)
        if t is None:
            t = txns[tid] = _Txn(tid)
        return t

    for i, op in enumerate(ops):
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            open_inv[op.process] = i
            if op.f == "commit" and isinstance(op.value, dict) and op.value.get("txn") is not None:
                txn(str(op.value["txn"])).commit_inv = i
            elif op.f == "abort" and isinstance(op.value, dict) and op.value.get("txn") is not None:
                txn(str(op.value["txn"])).abort_inv = i
            continue
        inv = open_inv.pop(op.process, None)
        f, v = op.f, op.value
        if f == "produce" and op.type in ("ok", "info") and isinstance(v, list):
            for rec in v:
                if isinstance(rec, list) and len(rec) == 3 and rec[1] is not None:
                    inputs.setdefault((int(rec[0]), int(rec[1])), (rec[2], i))
        elif f == "transform" and isinstance(v, dict):
            for rec in v.get("in") or []:
                inputs.setdefault((int(rec[0]), int(rec[1])), (rec[2], i))
            tid = v.get("txn")
            if tid is None:
                continue
            t = txn(str(tid))
            t.transform = i
            t.ins = [(int(r[0]), int(r[1]), r[2]) for r in v.get("in") or []]
            t.outs = [tuple(r) for r in v.get("out") or [] if r and r[1] is not None]
            t.offsets = {int(p): int(o) for p, o in (v.get("offsets") or {}).items()}
        elif f == "commit" and isinstance(v, dict) and v.get("txn") is not None:
            txn(str(v["txn"])).commit_done = i
        elif f == "read-output" and op.type == "ok" and isinstance(v, dict):
            final = bool(v.get("final"))
            recs = {int(p): rs for p, rs in (v.get("records") or {}).items()}
            reads.append((i, inv if inv is not None else i, final, recs))
            if final:
                n_final_reads += 1
                for p, end in (v.get("ends") or {}).items():
                    final_ends[int(p)] = max(final_ends.get(int(p), 0), int(end))
        elif f == "read-input" and op.type == "ok" and isinstance(v, dict):
            for p, rs in (v.get("records") or {}).items():
                for off, val in rs:
                    inputs.setdefault((int(p), int(off)), (val, i))
                    input_final[int(p)] = max(input_final.get(int(p), 0), int(off) + 1)
            for p, end in (v.get("ends") or {}).items():
                input_final[int(p)] = max(input_final.get(int(p), 0), int(end))
        elif f == "group-offsets" and op.type == "ok" and isinstance(v, dict):
            group_offsets = {int(p): int(o) for p, o in (v.get("offsets") or {}).items() if o is not None and int(o) >= 0}
            group_offsets_op = i

    for t in txns.values():
        t.status = _status(t, ops)
        if not txn_mode and t.status == "aborted":
            t.status = "unknown"  # without transactions an output is visible once written, whatever follows
    status_count: dict[str, int] = defaultdict(int)
    for t in txns.values():
        if t.transform is not None or t.commit_inv is not None:
            status_count[t.status] += 1

    # -- isolation: aborted reads, reads before commit, torn txns, skips --
    visible: dict[tuple[int, int], tuple] = {}              # (out_p, off) -> (src_p, src_off, out_v, txn, read index)
    committed_known: dict[int, dict[int, str]] = defaultdict(dict)  # out_p -> {off: txn} known committed
    for t in txns.values():
        if t.status == "committed":
            for r in t.outs:
                committed_known[int(r[0])][int(r[1])] = t.id
    seen_by_txn_final: dict[str, set[tuple[int, int]]] = defaultdict(set)
    per_reader: dict[tuple[Any, int], dict[int, str]] = defaultdict(dict)   # (process, out_p) -> {off: txn}
    reader_ops: dict[tuple[Any, int], list[int]] = defaultdict(list)
    g1a_seen: set[tuple[str, Any]] = set()
    early_seen: set[tuple[str, Any]] = set()
    for ci, ii, final, recs in reads:
        proc = ops[ci].process
        for p, rs in recs.items():
            seen = per_reader[(proc, p)]
            reader_ops[(proc, p)].append(ci)
            for rec in rs:
                off, src_p, src_off, out_v, tid = rec[0], rec[1], rec[2], rec[3], rec[4] if len(rec) > 4 else None
                off = int(off)
                if tid is not None and not isinstance(tid, str):
                    tid = str(tid)
                seen[off] = tid
                if (p, off) not in visible:
                    visible[(p, off)] = (src_p, src_off, out_v, tid, ci)
                if final and tid is not None:
                    seen_by_txn_final[tid].add((p, off))
                t = txns.get(tid) if tid is not None else None
                if t is None:
                    continue
                if t.status == "aborted" and (t.id, proc) not in g1a_seen:
                    g1a_seen.add((t.id, proc))
                    why = _abort_reason(t, ops)
                    found.add("G1a", f"Read op {ci} (process {proc}) observed output partition {p} offset {off}, written by transaction {t.id} "
                              f"in transform op {t.transform}. {why} A read_committed reader must never see an aborted transaction's records.",
                              [x for x in (ci, t.transform, t.commit_inv, t.commit_done, t.abort_inv) if x is not None],
                              txn=t.id, partition=p, offset=off)
                elif txn_mode and t.commit_inv is not None and ci < t.commit_inv and (t.id, proc) not in early_seen:
                    early_seen.add((t.id, proc))
                    found.add("read-before-commit", f"Read op {ci} (process {proc}) completed having observed output partition {p} offset {off} of "
                              f"transaction {t.id}, but that transaction's commit was only requested later, in op {t.commit_inv}. "
                              "Its output was visible while it could still abort.",
                              [x for x in (ci, t.transform, t.commit_inv) if x is not None], txn=t.id, partition=p, offset=off)

    # committed records: those known from committed transforms plus everything a final read saw from non-aborted txns
    for (p, off), (src_p, src_off, out_v, tid, ci) in visible.items():
        t = txns.get(tid) if tid is not None else None
        if t is None or t.status != "aborted":
            committed_known[p].setdefault(off, tid)

    # skipped / torn within a partition, per reader process
    for (proc, p), seen in per_reader.items():
        if not seen:
            continue
        top = max(seen)
        seen_txns = {tid for tid in seen.values() if tid is not None}
        reported: set[str] = set()
        skipped: list[int] = []
        for off, tid in committed_known.get(p, {}).items():
            if off < top and off not in seen:
                if tid is not None and tid in seen_txns:
                    if tid not in reported:
                        reported.add(tid)
                        t = txns.get(str(tid))
                        sib = min(o for o, x in seen.items() if x == tid)
                        found.add("torn-transaction", f"Reader process {proc} saw offset {sib} of output partition {p}, written by transaction {tid}, "
                                  f"and read that partition up to offset {top}, yet never saw offset {off}, which the same transaction wrote there. "
                                  "A transaction's records become visible all at once or not at all.",
                                  reader_ops[(proc, p)][-1:] + ([t.transform] if t and t.transform is not None else []),
                                  txn=tid, partition=p, seen=sib, missing=off, process=proc)
                else:
                    skipped.append(off)
        if skipped:
            skipped.sort()
            found.add("skipped-output", f"Reader process {proc} read output partition {p} up to offset {top} but never saw the committed "
                      f"record(s) at offset(s) {skipped[:10]}{' ...' if len(skipped) > 10 else ''}. A read_committed reader must see every committed record "
                      "below its position.", reader_ops[(proc, p)][-1:], partition=p, missing=skipped[:50], process=proc)

    # torn across partitions: a final read reached every partition's end
    if n_final_reads:
        for t in txns.values():
            got = seen_by_txn_final.get(t.id)
            if not got or t.status == "aborted":
                continue
            for r in t.outs:
                p, off = int(r[0]), int(r[1])
                end = final_ends.get(p)
                if (p, off) not in got and (end is None or off < end) and (p, off) not in visible:
                    some = sorted(got)[0]
                    found.add("torn-transaction", f"The final read saw output partition {some[0]} offset {some[1]} of transaction {t.id} "
                              f"(transform op {t.transform}) but never saw offset {off} of partition {p}, which the same transaction wrote "
                              "and the final read reached past. A committed transaction's records must be visible all together.",
                              [x for x in (t.transform, t.commit_done) if x is not None], txn=t.id, partition=p, missing=off)
                    break

    # -- accounting: duplicates, order, wrong source, lost --
    outputs_of: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)   # (src_p, src_off) -> [(out_p, off)]
    for (p, off), (src_p, src_off, out_v, tid, ci) in visible.items():
        t = txns.get(tid) if tid is not None else None
        if t is not None and t.status == "aborted":
            continue  # reported as G1a; not part of the committed output
        if src_p is None or src_off is None:
            found.add("wrong-source", f"Output partition {p} offset {off} (seen by read op {ci}) holds {out_v!r}, which names no input record.",
                      [ci], partition=p, offset=off)
            continue
        src = (int(src_p), int(src_off))
        outputs_of[src].append((p, off))
        known = inputs.get(src)
        if known is not None:
            if known[0] is not None and out_v != transform_value(int(known[0])):
                found.add("wrong-source", f"Output partition {p} offset {off} (read op {ci}) says it transforms input partition {src[0]} offset {src[1]} "
                          f"into {out_v}, but that input holds {known[0]} (op {known[1]}), whose transform is {transform_value(int(known[0]))}.",
                          [ci, known[1]], partition=p, offset=off)
        elif src[0] in input_final:  # the final input read went to the end and did not find it
            found.add("wrong-source", f"Output partition {p} offset {off} (read op {ci}) names input partition {src[0]} offset {src[1]}, "
                      "which the final read of the input topic did not find.", [ci], partition=p, offset=off)

    for src, outs in sorted((k, v) for k, v in outputs_of.items() if len(v) > 1):
        outs.sort()
        if len(outs) > 1:
            rops = sorted({visible[o][4] for o in outs})
            tids = [visible[o][3] for o in outs]
            found.add("duplicate-output", f"Input partition {src[0]} offset {src[1]} was transformed {len(outs)} times into visible outputs "
                      f"{[list(o) for o in outs]} by transactions {tids}. Exactly-once allows one.",
                      rops + [txns[str(x)].transform for x in tids if x is not None and str(x) in txns and txns[str(x)].transform is not None],
                      input=list(src), outputs=[list(o) for o in outs], txns=tids)

    # order: within an output partition, first occurrences of each source record in offset order
    by_out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    firsts = {min(outs) if len(outs) > 1 else outs[0]: src for src, outs in outputs_of.items()}
    for (p, off), src in firsts.items():
        by_out[p].append((off, src[0], src[1]))
    for p, rows in by_out.items():
        rows.sort()
        last: dict[int, tuple[int, int]] = {}
        bad = 0
        for off, sp, so in rows:
            prev = last.get(sp)
            if prev is not None and so < prev[1]:
                bad += 1
                if bad == 1:
                    found.add("reordered-output", f"In output partition {p}, offset {prev[0]} holds the output of input offset {prev[1]} but the later "
                              f"offset {off} holds the output of the earlier input offset {so} (input partition {sp}). Outputs must keep "
                              "the order of their inputs.", [visible[(p, prev[0])][4], visible[(p, off)][4]],
                              partition=p, offsets=[prev[0], off], inputs=[prev[1], so])
            if prev is None or so > prev[1]:
                last[sp] = (off, so)

    consumed_by_committed: dict[tuple[int, int], str] = {}
    committed_offsets: dict[int, int] = defaultdict(int)
    for t in txns.values():
        if t.status == "committed":
            for p, off, _ in t.ins:
                consumed_by_committed[(p, off)] = t.id
            for p, nxt in t.offsets.items():
                committed_offsets[p] = max(committed_offsets[p], nxt)
    for p, nxt in group_offsets.items():
        committed_offsets[p] = max(committed_offsets[p], nxt)

    unprocessed = 0
    lost = 0
    if n_final_reads:
        for src in sorted(s for s in inputs if s not in outputs_of):
            p, off = src
            tid = consumed_by_committed.get(src)
            if tid is not None:
                t = txns[tid]
                lost += 1
                found.add("lost-input", f"Input partition {p} offset {off} (value {inputs[src][0]}) was consumed by transaction {tid} "
                          f"(transform op {t.transform}), whose commit succeeded (op {t.commit_done}), yet no reader ever saw an output for it.",
                          [x for x in (inputs[src][1], t.transform, t.commit_done) if x is not None], input=[p, off], txn=tid)
            elif committed_offsets.get(p, 0) > off:
                lost += 1
                found.add("lost-input", f"Input partition {p} offset {off} (value {inputs[src][0]}, op {inputs[src][1]}) lies below the group's committed "
                          f"offset {committed_offsets[p]} for that partition, so the pipeline will never process it again, yet no reader saw an output for it.",
                          [x for x in (inputs[src][1], group_offsets_op) if x is not None], input=[p, off])
            else:
                unprocessed += 1

    entries = found.result()
    counts = {
        "inputs": len(inputs),
        "visible-outputs": len(visible),
        "committed-outputs": sum(len(v) for v in outputs_of.values()),
        "transactions": dict(sorted(status_count.items())),
        "reads": len(reads),
        "final-reads": n_final_reads,
        "unprocessed": unprocessed,
        "lost": lost,
    }
    result: dict[str, Any] = {
        "valid": not entries,
        "anomaly-types": sorted(entries),
        "anomalies": entries,
        "counts": counts,
    }
    if not entries:
        if not n_final_reads:
            result["valid"] = "unknown"
            result["reason"] = "no final read-output completed, so lost inputs cannot be told from unread ones"
        elif unprocessed:
            result["valid"] = "unknown"
            result["reason"] = (f"{unprocessed} input record(s) were never consumed and committed by the end of the run "
                                "(the pipeline did not drain); their fate is unknown")
        elif not inputs:
            result["valid"] = "unknown"
            result["reason"] = "no input records: nothing was tested"
    return result


def _abort_reason(t: _Txn, ops: list) -> str:
    if t.commit_done is not None and ops[t.commit_done].type == "fail":
        return f"Its commit failed for certain (op {t.commit_done}), so it aborted."
    if t.abort_inv is not None:
        return f"It was aborted on purpose (op {t.abort_inv})."
    if t.transform is not None and ops[t.transform].type == "fail":
        return f"Its transform failed and the transaction was aborted (op {t.transform})."
    return "Its commit was never requested, so it can only have aborted."


CHECKERS = {"eos": check_eos}
