"""`prozess check` over a columnar history: the same checkers and verdicts, without one object per op value.

`check_path(path, test, names)` reads a JSON Lines history with `read_columns` (one
streaming pass), computes stats and perf as passes over the columns, and builds the
queue checkers' shared `Analysis` from the send and read tables with numpy
(`prozess.columnar_analysis`): verdicts, counts and examples are the checkers' own. The
op list those checkers index is a view that makes an op from the columns when asked.

A history the columns cannot hold exactly (`Unsupported`) is read as op objects and
checked the old way; `tests/unit/test_columnar.py` holds both paths equal on every saved
and simulated history.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from typing import Any, Callable

from prozess.columnar import NEMESIS_P, TYPE_NAMES, Columns, perf, read_columns, release_free_memory, stats
from prozess.columnar_analysis import analysis_from_columns
from prozess.history import NEMESIS, Op, gc_paused

__all__ = ["analysis_from_columns", "check_columns", "check_path", "light_ops"]


class _Ops(Sequence):
    """The op list the checkers index, made from the columns one op at a time when asked.

    Each op has its index, type, process and f, the value only for assign/subscribe (the
    keys the process-order pass reads) and its extra fields; `time` is 0 (stats and perf
    use the columns). The checkers look at the ops their cases cite, so no Python object
    per op exists for the whole history."""

    def __init__(self, c: Columns):
        self._c = c
        self._n = len(c)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        c = self._c
        p = int(c.process[i])
        return Op(int(c.index[i]), 0, TYPE_NAMES[c.type[i]], NEMESIS if p == NEMESIS_P else p, c.fs[c.f[i]],
                  c.subs.get(i), None, None, c.extra.get(i))


def light_ops(c: Columns) -> Sequence[Op]:
    """The checkers' view of the ops of `c` (see `_Ops`)."""
    return _Ops(c)


def check_columns(c: Columns, test: dict | None = None, names: list[str] | None = None, *,
                  progress: Any = None) -> dict:
    """`prozess.checkers.check` on a columnar history (same result shape, same verdicts).

    The Analysis answers the checkers' questions from `c`'s send and read tables (each op's writes and reads,
    lost writes, the txn graph's edges), so they stay in memory until the last checker has run."""
    from prozess.checkers import CHECKERS, _NEEDS_ANALYSIS, checker_names, compose, policy

    names = checker_names(test, names)
    t0 = _time.monotonic()
    with gc_paused():
        _, allow, forbid = policy.options(test)
        phase = getattr(progress, "phase", None) or (lambda text: None)
        release_free_memory()  # what reading the file left in the heap
        phase(f"building the analysis of {len(c)} ops")
        ops = light_ops(c)
        analysis = None
        analysis_error = None
        if _NEEDS_ANALYSIS & set(names):
            try:
                analysis = analysis_from_columns(c, ops)
            except Exception as e:
                analysis_error = e
        release_free_memory()
        own: dict[str, Callable[[Columns], dict]] = {"stats": stats, "perf": perf}

        def run(name: str) -> dict:
            phase(f"checker {name}")
            try:
                return own[name](c) if name in own else CHECKERS[name](ops, test, analysis)
            finally:
                release_free_memory()  # each checker's temporaries, before the next one's

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
    return check_columns(c, test, names, progress=progress), len(c)
