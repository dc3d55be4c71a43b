"""`prozess check` over a columnar history: the same checkers and verdicts, without one object per op value.

`check_path(path, test, names)` reads a JSON Lines history with `read_columns` (one
streaming pass), computes stats and perf as passes over the columns, and builds the
queue checkers' shared `Analysis` straight from the send and read tables, so the queue,
txn and offsets checkers run unchanged on it: verdicts, counts and examples are theirs.
The op list those checkers index is rebuilt light (no values, except the keys of
assign/subscribe ops that the process-order pass reads).

A history the columns cannot hold exactly (`Unsupported`) is read as op objects and
checked the old way; `tests/unit/test_columnar.py` holds both paths equal on every saved
and simulated history.
"""

from __future__ import annotations

import time as _time
from array import array
from typing import Any, Callable

import numpy as np

from prozess.checkers.analysis import Analysis, VersionOrder, _MISSING
from prozess.columnar import (CLIENT_FS, FAIL, INFO, INVOKE, NEMESIS_P, NO_OFFSET, OK, SUB_FS, TYPE_NAMES, Columns,
                              perf, read_columns, stats)
from prozess.history import NEMESIS, HistoryError, Op, gc_paused

__all__ = ["analysis_from_columns", "check_columns", "check_path", "light_ops"]


CHUNK = 1 << 18  # rows turned into Python objects at a time (bounds the transient lists)


def _rows(*cols: np.ndarray):
    """Zips columns as Python values, a chunk at a time."""
    for lo in range(0, len(cols[0]), CHUNK):
        yield from zip(*(col[lo:lo + CHUNK].tolist() for col in cols))


def light_ops(c: Columns) -> list[Op]:
    """One small Op per completion (index, type, process, f; value only for assign/subscribe; extra fields).

    `time` is 0: the checkers that read ops never look at it (stats and perf use the columns).

    The checkers read invocations only by position, and their index only when the
    history's indices have gaps: in a dense history every invocation of one process
    and f is one shared Op."""
    names = TYPE_NAMES
    fs = c.fs
    subs = c.subs
    extra = c.extra
    dense = not len(c) or (int(c.index[0]) == 0 and int(c.index[-1]) == len(c) - 1)
    shared: dict = {}
    out = []
    append = out.append
    for i, (ix, t, p, f) in enumerate(_rows(c.index, c.type, c.process, c.f)):
        if dense and t == INVOKE and i not in extra:
            op = shared.get((p, f))
            if op is None:
                op = shared[(p, f)] = Op(-1, 0, "invoke", NEMESIS if p == NEMESIS_P else p, fs[f])
            append(op)
            continue
        append(Op(ix, 0, names[t], NEMESIS if p == NEMESIS_P else p, fs[f], subs.get(i), None, None, extra.get(i)))
    if dense and out and out[0].type == "invoke":
        out[0] = out[0]._replace(index=0)
    if dense and out and out[-1].type == "invoke":
        out[-1] = out[-1]._replace(index=len(out) - 1)
    return out


def analysis_from_columns(c: Columns, ops: list[Op]) -> Analysis:
    """The `Analysis` that `Analysis(ops)` builds from the full ops, built from the fact tables instead."""
    a = Analysis.__new__(Analysis)
    a.ops = ops
    n = len(ops)
    inv = c.pair.copy()
    client_completion = (c.type != INVOKE) & (c.process != NEMESIS_P)
    inv[~client_completion] = -1
    a.inv = array("q", inv.astype(np.int64).tobytes())  # indexes as Python ints, 8 bytes each
    fs = np.array(c.fs, dtype=object)
    fnames = fs[c.f] if n else np.zeros(0, dtype=object)
    is_client_f = np.isin(fnames, list(CLIENT_FS)) if n else np.zeros(0, bool)
    is_sub_f = np.isin(fnames, list(SUB_FS)) if n else np.zeros(0, bool)
    a.txns = np.nonzero(client_completion & is_client_f)[0].tolist()
    a.subs = np.nonzero(client_completion & is_sub_f)[0].tolist()
    a.writes, a.reads, a.writer_of, a.read_ok, a.failed = {}, {}, {}, {}, {}
    a.orders, a.conflicts = {}, {}
    a.rebalanced, a.final_keys, a.final_values, a.final_readers, a.final_subs = {}, set(), {}, {}, []
    a._scan = None
    a._s_map = None
    types = c.type
    final_ops: set[int] = set()
    for i, more in c.extra.items():
        if types[i] == INVOKE or c.process[i] == NEMESIS_P:
            continue
        if more.get("final") is True:
            final_ops.add(i)
        rl = more.get("rebalance-log")
        if rl and isinstance(rl, list):
            a.rebalanced[i] = {str(k) for e in rl if isinstance(e, dict) for k in (e.get("keys") or ())}
    for i in a.subs:
        value = ops[i].value
        if i in final_ops and types[i] == OK and isinstance(value, list):
            a.final_keys.update(str(k) for k in value)
            a.final_subs.append(i)
    keys = c.keys
    values = c.values
    # ---- sends, in op then micro-op order
    writes = a.writes
    writer_of = a.writer_of
    failed = a.failed
    offsets: dict[int, int] = {}  # one int object per distinct offset, shared by every row that has it
    for i, k, v, o, t in _rows(c.send_op, c.send_key, c.send_value, c.send_offset, types[c.send_op]):
        kk = keys[k]
        vv = values[v]
        o = offsets.setdefault(o, o)
        ws = writes.get(i)
        if ws is None:
            ws = writes[i] = []
        ws.append((kk, vv, None if o == NO_OFFSET else o))
        wk = writer_of.get(kk)
        if wk is None:
            wk = writer_of[kk] = {}
        wk[vv] = i
        if t == FAIL:
            failed.setdefault(kk, set()).add(vv)
    # ---- reads: {key: [(offset, value), ...]} per op, keys in first-seen order
    reads = a.reads
    for i in c.pollers.tolist():
        reads[i] = {}
    logs: dict[Any, dict[int, Any]] = {}
    extra: dict[Any, dict[int, list]] = {}

    def note(k, o, v):
        log = logs.get(k)
        if log is None:
            log = logs[k] = {}
        cur = log.get(o, _MISSING)
        if cur is _MISSING:
            log[o] = v
        elif cur != v:
            more = extra.setdefault(k, {}).setdefault(o, [])
            if v not in more:
                more.append(v)

    read_ok = a.read_ok
    for i, k, o, v, t in _rows(c.read_op, c.read_key, c.read_offset, c.read_value, types[c.read_op]):
        kk = keys[k]
        vv = values[v]
        oo = None if o == NO_OFFSET else offsets.setdefault(o, o)
        rs = reads[i]
        lst = rs.get(kk)
        if lst is None:
            lst = rs[kk] = []
        lst.append((oo, vv))
        if oo is not None and oo >= 0:
            log = logs.get(kk)
            if log is None:
                log = logs[kk] = {}
            cur = log.get(oo, _MISSING)
            if cur is _MISSING:
                log[oo] = vv
            elif cur != vv:
                note(kk, oo, vv)
        if t == OK:
            s = read_ok.get(kk)
            if s is None:
                s = read_ok[kk] = set()
            s.add(vv)
        if i in final_ops:
            a.final_values.setdefault(kk, set()).add(vv)
    for i, kids in sorted(c.final_reads.items()):
        if i in final_ops:
            for k in kids:
                a.final_readers.setdefault(keys[k], []).append(i)
    # Sends that must have committed contribute their acknowledged offsets.
    for i, ws in writes.items():
        if ops[i].type == "fail" or not a.must_have_committed(i):
            continue
        for k, v, o in ws:
            if o is not None:
                note(k, o, v)
    for k, log in logs.items():
        ek = extra.get(k, {})
        a.orders[k] = VersionOrder(log, ek)
        if ek:
            a.conflicts[k] = {o: [log[o]] + more for o, more in sorted(ek.items())}
    return a


def check_columns(c: Columns, test: dict | None = None, names: list[str] | None = None, *,
                  release: bool = False) -> dict:
    """`prozess.checkers.check` on a columnar history (same result shape, same verdicts).

    `release` drops the send/read tables from `c` once the Analysis holds them (less peak memory)."""
    from prozess.checkers import CHECKERS, _NEEDS_ANALYSIS, compose, default_names, policy

    policy.options(test)
    names = list(names) if names else default_names(test)
    unknown_names = [n for n in names if n not in CHECKERS]
    if unknown_names:
        raise ValueError(f"unknown checker name(s) {', '.join(map(repr, unknown_names))}; "
                         f"choose from {', '.join(CHECKERS)}")
    t0 = _time.monotonic()
    with gc_paused():
        _, allow, forbid = policy.options(test)
        ops = light_ops(c)
        analysis = None
        analysis_error = None
        if _NEEDS_ANALYSIS & set(names):
            try:
                analysis = analysis_from_columns(c, ops)
            except Exception as e:
                analysis_error = e
        if release:  # the fact tables now live in the Analysis; stats and perf need the op columns only
            for name in ("send_op", "send_key", "send_value", "send_offset", "read_op", "read_key", "read_offset", "read_value"):
                setattr(c, name, None)
        own: dict[str, Callable[[Columns], dict]] = {"stats": stats, "perf": perf}
        return compose(names, lambda name: own[name](c) if name in own else CHECKERS[name](ops, test, analysis),
                       ops=ops, analysis_error=analysis_error, allow=allow, forbid=forbid, t0=t0)


def check_path(path: Any, test: dict | None = None, names: list[str] | None = None, *,
               progress: Callable[[int, int], None] | None = None,
               warnings: list[str] | None = None) -> tuple[dict, int]:
    """(result, number of ops) of a JSON Lines history file, checked through its columns.

    A history the columns cannot hold exactly, or a check that needs op values (the eos and
    group workloads' checkers), reads op objects and checks the old way."""
    from prozess.checkers import QUEUE_NAMES, default_names
    from prozess.columnar import Unsupported

    try:
        if not set(names or default_names(test)) <= set(QUEUE_NAMES):
            raise Unsupported("the eos and group checkers read op values")
        c = read_columns(path, progress=progress, warnings=warnings)
    except Unsupported:
        from prozess.checkers import check
        from prozess.history import read_history

        if warnings is not None:
            warnings.clear()
        history = read_history(path, warnings=warnings)
        return check(history, test=test, names=names), len(history)
    return check_columns(c, test, names, release=True), len(c)
