"""The Jepsen kafka queue taxonomy: lost, unseen, duplicated, reordered and skipped messages.

Each anomaly type carries Jepsen's name (`jepsen.tests.kafka`) so results compare
one to one:

- lost-write: an acknowledged send (or an info send proven visible) below the
  highest value some ok poll read of that key, which no ok poll read.
- unseen: an ok send that no ok poll read by the end of the history.
- duplicate: a value at more than one offset of a key.
- inconsistent-offsets: two values at one offset of a key.
- G1a: an ok poll read a value whose send failed.
- precommitted-read: a transaction read a value it sent itself.
- poll-skip / nonmonotonic-poll: successive ops of one process on a key skip
  forward / go back (or repeat) in the version order.
- int-poll-skip / int-nonmonotonic-poll: the same within one op's reads.
- int-send-skip / int-nonmonotonic-send: the same within one op's sends.
- nonmonotonic-send: a process's send lands at or before its previous send.
- garbage-read: a read of a value nobody sent (Jepsen stops with an error here).
- truncated-tail: a value an earlier ok poll read that the key's final reads (ops marked
  "final") no longer return — the log's tail was cut or holed (a prozess addition,
  `truncation.py`).

Allowed (informational) types, as in Jepsen's `allowed-error-types`:
int-send-skip always (transactions interleave their writes in Kafka); poll-skip and
nonmonotonic-poll when consumers subscribe (a rebalance moves positions).
"""

from __future__ import annotations

from typing import Any

from prozess.checkers.analysis import Analysis, key_sort
from prozess.checkers.result import build, entry, unknown

ALWAYS_ALLOWED = frozenset({"int-send-skip"})
SUBSCRIBE_ALLOWED = frozenset({"poll-skip", "nonmonotonic-poll"})


def sub_via(test: dict | None, a: Analysis) -> set[str]:
    """How consumers get partitions: from the test spec when it says, else from the history."""
    if test:
        wl = test.get("workload")
        for holder in (test, wl if isinstance(wl, dict) else None, test.get("workload_options"), test.get("client")):
            if isinstance(holder, dict):
                for name in ("sub-via", "sub_via"):
                    v = holder.get(name)
                    if v:
                        return {v} if isinstance(v, str) else set(v)
    return {a.ops[i].f for i in a.subs if a.ops[i].type in ("ok", "info")} or {"assign"}


def allowed_types(test: dict | None, a: Analysis) -> set[str]:
    allowed = set(ALWAYS_ALLOWED)
    if "subscribe" in sub_via(test, a):
        allowed |= SUBSCRIBE_ALLOWED
    if test and isinstance(test.get("allowed-anomalies"), (list, tuple)):
        allowed |= set(test["allowed-anomalies"])
    return allowed


def _desc(a: Analysis, i: int) -> str:
    op = a.ops[i]
    return f"op {i} ({op.type} {op.f} by process {op.process})"


# ------------------------------------------------------------------ finders


def lost_write_cases(a: Analysis) -> list[dict]:
    if hasattr(a, "columnar_lost_write_cases"):  # an Analysis built from columns joins the arrays
        return a.columnar_lost_write_cases()
    out = []
    for k in key_sort(a.read_ok):
        vo = a.orders.get(k)
        if vo is not None:
            out.extend(lost_write_key(a, k, a.read_ok[k], vo))
    return out


def lost_write_key(a: Analysis, k: Any, vs: Any, vo: Any) -> list[dict]:
    """The lost writes of key k: values below the highest one read ok (`vs`: the values read ok)."""
    out = []
    if not vo.extra and len(vo.by_value) == len(vo.by_index):
        bound = -1
        by_value = vo.by_value
        for v in vs:
            i = by_value.get(v)
            if i is not None and i > bound:
                bound = i
        must = [(i, v) for i, v in enumerate(vo.by_index[: bound + 1])]
        first_index = by_value
    else:
        sets = vo.index_sets()
        first_index: dict = {}
        last_index: dict = {}
        for i, s in enumerate(sets):
            for v in s:
                first_index.setdefault(v, i)
                last_index[v] = i
        bound = max((first_index[v] for v in vs if v in first_index), default=-1)
        must = sorted(((i, v) for v, i in last_index.items() if i <= bound), key=lambda iv: iv[0])
    if bound < 0:
        return out
    max_value = vo.by_index[bound]
    max_reader = None
    wk = a.writer_of.get(k, {})
    for i, v in must:
        if v in vs:
            continue
        w = wk.get(v)
        if w is None or not a.must_have_committed(w):
            continue
        if max_reader is None:
            max_reader = _first_ok_reader(a, k, max_value)
        out.append({"key": k, "value": v, "index": first_index.get(v, i), "offset": vo.offsets[first_index.get(v, i)],
                    "max-read-index": bound, "max-read-value": max_value, "max-read-offset": vo.offsets[bound],
                    "writer": w, "max-read": max_reader})
    return out


def _first_ok_reader(a: Analysis, k: Any, v: Any) -> int | None:
    for i, rs in a.reads.items():
        if a.ops[i].type != "ok":
            continue
        lst = rs.get(k)
        if lst and any(pv == v for _, pv in lst):
            return i
    return None


def unseen_cases(a: Analysis) -> tuple[list[dict], dict, dict]:
    """(cases, {key: count}, {key: first 32 values}) for ok sends no ok poll read."""
    ops = a.ops
    cases = []
    counts: dict = {}
    messages: dict = {}
    read_ok = a.read_ok
    empty: set = set()
    fast = hasattr(a, "columnar_unseen_cases")  # an Analysis built from columns finds them with a vectorised join
    if fast:
        cases = a.columnar_unseen_cases()
    for i, ws in () if fast else a.writes.items():
        if ops[i].type != "ok":
            continue
        for k, v, o in ws:
            if v not in read_ok.get(k, empty):
                cases.append({"key": k, "value": v, "offset": o, "writer": i})
    cases.sort(key=lambda c: c["writer"])
    for c in cases:
        counts[c["key"]] = counts.get(c["key"], 0) + 1
        messages.setdefault(c["key"], []).append(c["value"])
    ks = key_sort(counts)
    counts = {str(k): counts[k] for k in ks}
    messages = {str(k): sorted(messages[k], key=_vsort)[:32] for k in ks}
    return cases, counts, messages


def _vsort(v: Any) -> tuple:
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, repr(v))


def duplicate_cases(a: Analysis) -> list[dict]:
    out = []
    for k in key_sort(a.orders):
        vo = a.orders[k]
        if not vo.extra and len(vo.by_value) == len(vo.by_index):
            continue
        offsets_of: dict = {}
        for o, vs in zip(vo.offsets, vo.index_sets()):
            for v in vs:
                offsets_of.setdefault(v, []).append(o)
        for v, offs in offsets_of.items():
            if len(offs) > 1:
                out.append({"key": k, "value": v, "count": len(offs), "offsets": offs,
                            "writer": a.writer_of.get(k, {}).get(v)})
    return out


def inconsistent_offset_cases(a: Analysis) -> list[dict]:
    out = []
    for k in key_sort(a.conflicts):
        vo = a.orders[k]
        index = {o: i for i, o in enumerate(vo.offsets)}
        for o, vs in a.conflicts[k].items():
            out.append({"key": k, "offset": o, "index": index[o], "values": sorted(vs, key=_vsort),
                        "ops": _ops_touching(a, k, o)})
    return out


def _ops_touching(a: Analysis, k: Any, o: int, limit: int = 6) -> list[int]:
    found = []
    for i, ws in a.writes.items():
        if any(wk == k and wo == o for wk, _, wo in ws):
            found.append(i)
    for i, rs in a.reads.items():
        lst = rs.get(k)
        if lst and any(po == o for po, _ in lst):
            found.append(i)
    return sorted(found)[:limit]


def _delta_case(kind: str, k: Any, vo, v1: Any, v2: Any, i1: int, i2: int, **more: Any) -> dict:
    d = {"type": kind, "key": k, "values": [v1, v2], "delta": i2 - i1, **more}
    if kind == "skip":
        d["skipped"] = vo.by_index[i1 + 1: i2][:16]
    return d


def int_send_cases(a: Analysis) -> tuple[list[dict], list[dict]]:
    if hasattr(a, "columnar_int_send_cases"):  # an Analysis built from columns has them as group-bys
        return a.columnar_int_send_cases()
    skips, nonmono = [], []
    orders = a.orders
    for i, ws in a.writes.items():
        if len(ws) < 2:
            continue
        last: dict = {}
        for k, v2, _ in ws:
            if k in last:
                v1 = last[k]
                vo = orders.get(k)
                if vo is not None:
                    i1 = vo.by_value.get(v1)
                    i2 = vo.by_value.get(v2)
                    if i1 is not None and i2 is not None:
                        d = i2 - i1
                        if d > 1:
                            skips.append(_delta_case("skip", k, vo, v1, v2, i1, i2, op=i))
                        elif d < 1:
                            nonmono.append(_delta_case("nonmonotonic", k, vo, v1, v2, i1, i2, op=i))
            last[k] = v2
    skips.sort(key=lambda c: c["op"])
    nonmono.sort(key=lambda c: c["op"])
    return skips, nonmono


def process_cases(a: Analysis) -> tuple[list[dict], list[dict], list[dict]]:
    """(poll-skip, nonmonotonic-poll, nonmonotonic-send), walking each process in order."""
    fast = a.columnar_process_cases() if hasattr(a, "columnar_process_cases") else None
    if fast is not None:  # an Analysis built from columns has them as vectorised group-bys
        return fast
    ops = a.ops
    orders = a.orders
    reads = a.reads
    writes = a.writes
    last_reads: dict[Any, dict] = {}  # process -> key -> (op, last value)
    last_sends: dict[Any, dict] = {}
    skips, nonmono, nm_send = [], [], []
    positions = sorted(a.txns + a.subs)
    for i in positions:
        op = ops[i]
        p = op.process
        t = op.type
        f = op.f
        if f == "assign" or f == "subscribe":
            if t == "ok" or t == "info":
                keep = {str(k) for k in (op.value or ())}
                lr = last_reads.get(p)
                if lr:
                    last_reads[p] = {k: x for k, x in lr.items() if k in keep}
                ls = last_sends.get(p)
                if ls:
                    last_sends[p] = {k: x for k, x in ls.items() if k in keep}
            continue
        rs = reads.get(i)
        if rs:
            lr = last_reads.get(p)
            if lr is None:
                lr = last_reads[p] = {}
            for k, lst in rs.items():
                if not lst:
                    continue
                prev = lr.get(k)
                if prev is not None:
                    vo = orders.get(k)
                    if vo is not None:
                        v = prev[1]
                        v2 = lst[0][1]
                        i1 = vo.by_value.get(v)
                        i2 = vo.by_value.get(v2)
                        if i1 is not None and i2 is not None:
                            d = i2 - i1
                            if d > 1:
                                skips.append(_delta_case("skip", k, vo, v, v2, i1, i2, ops=[prev[0], i]))
                            elif d < 1:
                                nonmono.append(_delta_case("nonmonotonic", k, vo, v, v2, i1, i2, ops=[prev[0], i]))
            if t == "ok":
                for k, lst in rs.items():
                    if lst:
                        lr[k] = (i, lst[-1][1])
        ws = writes.get(i)
        if ws and (t == "ok" or t == "info"):
            ls = last_sends.get(p)
            if ls is None:
                ls = last_sends[p] = {}
            firsts: dict = {}
            lasts: dict = {}
            for k, v, _ in ws:
                if k not in firsts:
                    firsts[k] = v
                lasts[k] = v
            for k, v2 in firsts.items():
                prev = ls.get(k)
                if prev is None:
                    continue
                vo = orders.get(k)
                if vo is None:
                    continue
                i1 = vo.by_value.get(prev[1])
                i2 = vo.by_value.get(v2)
                if i1 is not None and i2 is not None and i2 - i1 < 1:
                    nm_send.append(_delta_case("nonmonotonic", k, vo, prev[1], v2, i1, i2, ops=[prev[0], i]))
            for k, v in lasts.items():
                ls[k] = (i, v)
    return skips, nonmono, nm_send


# ------------------------------------------------------------------ rendering


def _render(a: Analysis, kind: str):
    def r(c: dict) -> dict:
        k = c.get("key")
        ex: dict[str, Any] = {}
        if kind == "lost-write":
            ops = [c["writer"]] + ([c["max-read"]] if c["max-read"] is not None else [])
            reader = f"op {c['max-read']}" if c["max-read"] is not None else "an ok poll"
            ex["explanation"] = (
                f"{_desc(a, c['writer'])} sent {c['value']!r} to key {k!r}, which landed at offset {c['offset']}. "
                f"{reader} polled {c['max-read-value']!r} at the higher offset {c['max-read-offset']}, "
                f"yet no successful poll ever observed {c['value']!r}: the write was lost."
            )
        elif kind == "unseen":
            ops = [c["writer"]]
            ex["explanation"] = (f"{_desc(a, c['writer'])} sent {c['value']!r} to key {k!r}"
                                 + (f" at offset {c['offset']}" if c["offset"] is not None else "")
                                 + ", and no successful poll observed it by the end of the history.")
        elif kind == "duplicate":
            ops = [c["writer"]] if c["writer"] is not None else []
            ex["explanation"] = f"Value {c['value']!r} of key {k!r} appears at {c['count']} offsets: {c['offsets']}."
        elif kind == "inconsistent-offsets":
            ops = c["ops"]
            ex["explanation"] = f"Offset {c['offset']} of key {k!r} held different values in different ops: {c['values']!r}."
        elif kind == "G1a":
            ops = [c["writer"], c["reader"]]
            ex["explanation"] = (f"{_desc(a, c['reader'])} polled {c['value']!r} from key {k!r}, "
                                 f"but {_desc(a, c['writer'])} that sent it failed: an aborted read.")
        elif kind == "precommitted-read":
            ops = [c["op"]]
            ex["explanation"] = (f"{_desc(a, c['op'])} sent {c['value']!r} to key {k!r} and polled that same value "
                                 "inside the same transaction, before it committed.")
        elif kind == "garbage-read":
            ops = [c["reader"]]
            ex["explanation"] = f"{_desc(a, c['reader'])} polled {c['value']!r} from key {k!r}, a value no op ever sent."
        elif kind in ("int-poll-skip", "int-send-skip", "int-nonmonotonic-poll", "int-nonmonotonic-send"):
            ops = [c["op"]]
            verb = "polled" if "poll" in kind else "sent"
            v1, v2 = c["values"]
            if "skip" in kind:
                ex["explanation"] = (f"{_desc(a, c['op'])} {verb} {v1!r} and then {v2!r} on key {k!r}, skipping "
                                     f"{c['delta'] - 1} value(s) in between in the log: {c['skipped']!r}.")
            else:
                ex["explanation"] = (f"{_desc(a, c['op'])} {verb} {v1!r} and then {v2!r} on key {k!r}, but {v2!r} is "
                                     f"{-c['delta']} position(s) {'before' if c['delta'] < 0 else 'at'} {v1!r} in the log.")
        else:  # poll-skip, nonmonotonic-poll, nonmonotonic-send
            ops = list(c["ops"])
            verb = "send" if kind == "nonmonotonic-send" else "poll"
            v1, v2 = c["values"]
            if kind == "poll-skip":
                ex["explanation"] = (f"Process {a.ops[ops[1]].process}'s poll of key {k!r} in op {ops[0]} ended at {v1!r}; its next poll "
                                     f"(op {ops[1]}) began at {v2!r}, skipping {c['delta'] - 1} value(s): {c['skipped']!r}.")
            else:
                ex["explanation"] = (f"Process {a.ops[ops[1]].process}'s {verb} to/from key {k!r} in op {ops[0]} ended at {v1!r}; "
                                     f"its next {verb} (op {ops[1]}) began at {v2!r}, which is {'the same position' if c['delta'] == 0 else str(-c['delta']) + ' position(s) earlier'} in the log.")
        data = {kk: vv for kk, vv in c.items() if kk not in ("type", "op", "ops")}
        return {"explanation": ex["explanation"], "ops": ops, **data}

    return r


def check(history: Any, test: dict | None = None, analysis: Analysis | None = None) -> dict:
    """The queue checker: Jepsen's kafka anomaly taxonomy over send/poll/txn ops."""
    from prozess.checkers.analysis import analyze

    a = analysis if analysis is not None else analyze(history)
    if not a.txns:
        return unknown("the history has no completed send, poll or txn op: nothing to check")
    found: dict[str, list] = {}

    def add(kind: str, cases: list) -> None:
        if cases:
            found[kind] = cases

    add("lost-write", lost_write_cases(a))
    unseen, unseen_counts, unseen_messages = unseen_cases(a)
    add("unseen", unseen)
    add("duplicate", duplicate_cases(a))
    add("inconsistent-offsets", inconsistent_offset_cases(a))
    scan = a.scan
    add("G1a", scan.g1a)
    add("precommitted-read", scan.precommitted)
    add("garbage-read", scan.garbage)
    add("int-poll-skip", scan.int_skip)
    add("int-nonmonotonic-poll", scan.int_nonmono)
    s, n = int_send_cases(a)
    add("int-send-skip", s)
    add("int-nonmonotonic-send", n)
    s, n, ns = process_cases(a)
    add("poll-skip", s)
    add("nonmonotonic-poll", n)
    add("nonmonotonic-send", ns)
    from prozess.checkers import truncation

    add(truncation.KIND, truncation.truncated_tail_cases(a))
    entries = {kind: entry(kind, cases, truncation.render(a) if kind == truncation.KIND else _render(a, kind))
               for kind, cases in found.items()}
    if "unseen" in entries:
        entries["unseen"]["unseen"] = unseen_counts
        entries["unseen"]["messages"] = unseen_messages
    allowed = allowed_types(test, a)
    return build(entries, allowed, **{"sub-via": sorted(sub_via(test, a)),
                                      "keys": len(a.orders), "ops-checked": len(a.txns)})
