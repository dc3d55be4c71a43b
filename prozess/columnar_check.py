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
from typing import Any, Callable

import numpy as np

from prozess.columnar import INVOKE, NEMESIS_P, TYPE_NAMES, Columns, perf, read_columns, stats
from prozess.columnar_analysis import _rows, analysis_from_columns
from prozess.history import NEMESIS, HistoryError, Op, gc_paused

__all__ = ["analysis_from_columns", "check_columns", "check_path", "light_ops"]


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


def check_columns(c: Columns, test: dict | None = None, names: list[str] | None = None, *,
                  release: bool = False, progress: Any = None) -> dict:
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
        phase = getattr(progress, "phase", None) or (lambda text: None)
        phase(f"building the analysis of {len(c)} ops")
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

        def run(name: str) -> dict:
            phase(f"checker {name}")
            return own[name](c) if name in own else CHECKERS[name](ops, test, analysis)

        return compose(names, run,
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
    return check_columns(c, test, names, release=True, progress=progress), len(c)
