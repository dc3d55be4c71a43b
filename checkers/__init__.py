"""Checkers: pure functions from a history (and the test spec) to a JSON-able verdict.

    from prozess.checkers import check, summary
    result = check(history, test=None, names=None)
    print(summary(result))

Checkers compose as a dict of name -> function(history, test, analysis) -> result:

- "queue":   Jepsen's kafka taxonomy (lost-write, unseen, duplicate, ...) — `queue.py`
- "txn":     an Elle-style dependency graph and its cycles — `txn.py`
- "offsets": offsets that respect real time (linearizable offsets) — `offsets.py`
- "stats":   op counts per f and type — `stats.py`
- "perf":    latency quantiles and throughput — `stats.py`
- "eos", "group": the exactly-once and consumer-group workloads' checkers — `eos.py`, `group.py`
- "compaction": latest values and tombstones of compacted topics — `compaction.py`
- "mirror": MirrorMaker 2 loss, order and failover offsets across two clusters — `mirror.py`

`valid` merges false > unknown > true; a checker that raises yields "unknown"
with the error, never a crash of the whole check. A checker module that cannot
be imported is not a verdict but a broken installation: it raises. See
`result.py` for the shape; the default checkers of each workload are data in
`prozess.workload_checkers`.
"""

from __future__ import annotations

import importlib
import time as _time
import traceback
from typing import Any, Callable, Iterable

from prozess.checkers.definitions import DEFINITIONS
from prozess.checkers.result import jsonable, merge_valid
from prozess.history import HistoryError, gc_paused
from prozess.workload_checkers import DEFAULT_CHECKERS, QUEUE_CHECKERS

__all__ = ["CHECKERS", "DEFINITIONS", "check", "checker_names", "default_names", "summary", "merge_valid"]

QUEUE_NAMES = QUEUE_CHECKERS


def _queue(h, t, a):
    from prozess.checkers import queue

    return queue.check(h, t, a)


def _txn(h, t, a):
    from prozess.checkers import txn

    return txn.check(h, t, a)


def _offsets(h, t, a):
    from prozess.checkers import offsets

    return offsets.check(h, t, a)


def _stats(h, t, a):
    from prozess.checkers import stats

    return stats.stats(h, t, a)


def _perf(h, t, a):
    from prozess.checkers import stats

    return stats.perf(h, t, a)


def _eos(h, t, a):
    from prozess.checkers import eos

    return eos.check_eos(h, t)


def _group(h, t, a):
    from prozess.checkers import group

    return group.check_group(h, t)


def _compaction(h, t, a):
    from prozess.checkers import compaction

    return compaction.check_compaction(h, t)


def _mirror(h, t, a):
    from prozess.checkers import mirror

    return mirror.check_mirror(h, t)


CHECKERS: dict[str, Callable[[Any, dict | None, Any], dict]] = {
    "queue": _queue,
    "txn": _txn,
    "offsets": _offsets,
    "stats": _stats,
    "perf": _perf,
    "eos": _eos,
    "group": _group,
    "compaction": _compaction,
    "mirror": _mirror,
}
_NEEDS_ANALYSIS = {"queue", "txn", "offsets"}
#: checker name -> the module here that holds it; imported before any checker runs, outside the
#: unknown-on-error net: a module that cannot be imported is a broken installation, not a verdict.
_MODULES = {"queue": "queue", "txn": "txn", "offsets": "offsets", "stats": "stats", "perf": "stats", "eos": "eos",
            "group": "group", "compaction": "compaction", "mirror": "mirror"}


# Ops only one workload records: a bare history (no test.json) is checked by that workload's checkers.
_WORKLOAD_FS = {"read-all": "compaction", "put": "compaction", "read-target": "mirror", "failover": "mirror"}


def _infer_workload(history: Any) -> str | None:
    from prozess.checkers.analysis import ops_of

    for op in ops_of(history)[:10_000]:
        w = _WORKLOAD_FS.get(op.f)
        if w is not None:
            return w
    return None


def default_names(test: dict | None, history: Any = None) -> list[str]:
    """The checkers to run for a test spec (test.json).

    An explicit list in `test["checkers"]` wins. The eos, group, compaction and
    mirror workloads get their own checker plus stats and perf; a bare history
    (no workload named) of compaction or mirror ops is recognised by its ops. Every other (queue-shaped) workload,
    and a bare history, gets queue, txn, offsets, stats and perf: the txn graph
    too, even without transactions, because a poll that observes a send invoked
    after the poll finished is a wr + real-time cycle whatever the workload.
    """
    if test:
        names = test.get("checkers")
        if isinstance(names, (list, tuple)) and names:
            return [str(n) for n in names]
        if isinstance(names, dict) and names:
            return [str(n) for n in names]
        workload = test.get("workload")
        if isinstance(workload, str) and workload in DEFAULT_CHECKERS:
            return list(DEFAULT_CHECKERS[workload])
    if history is not None and not (test and test.get("workload")):
        inferred = _infer_workload(history)
        if inferred is not None:
            return list(DEFAULT_CHECKERS[inferred])
    return list(QUEUE_NAMES)


def checker_names(test: dict | None, names: list[str] | None, history: Any = None) -> list[str]:
    """The checkers to run (`names`, else the test's defaults), after the test's allow/forbid lists are validated.

    Raises ValueError (bad input) naming an unknown checker or anomaly type, before any work."""
    from prozess.checkers.policy import options

    options(test)  # raises PolicyError (a ValueError) on unknown anomaly names
    names = list(names) if names else default_names(test, history)
    unknown_names = [n for n in names if n not in CHECKERS]
    if unknown_names:
        raise ValueError(f"unknown checker name(s) {', '.join(map(repr, unknown_names))}; "
                         f"choose from {', '.join(CHECKERS)}")
    return names


def check(history: Any, test: dict | None = None, names: list[str] | None = None) -> dict:
    """Runs the named checkers (default: `default_names(test)`) and merges their verdicts.

    Raises ValueError for an unknown checker name or anomaly type in the test's
    allow/forbid lists (bad input, before any work). A `History` is completed first,
    as Jepsen does: an invocation that never completed (a killed run) ends `info`.
    Results name ops by their own indices, gaps and all.
    """
    names = checker_names(test, names, history)
    t0 = _time.monotonic()
    # The checkers allocate millions of small objects next to a history of millions more;
    # Python's cyclic GC would rescan all of them again and again. Nothing here makes
    # reference cycles, so collection waits until the check is done.
    with gc_paused():
        return _check(history, test, names, t0)


def _check(history: Any, test: dict | None, names: list[str], t0: float) -> dict:
    from prozess.checkers.analysis import analyze, ops_of

    from prozess.checkers import policy

    if hasattr(history, "complete") and hasattr(history, "pairing"):
        history = history.complete()
    ops = ops_of(history)
    _, allow, forbid = policy.options(test)
    analysis = None
    analysis_error = None
    if _NEEDS_ANALYSIS & set(names):
        try:
            analysis = analyze(ops)
        except HistoryError as e:  # offsets that are not integers: bad input, not "unknown"
            raise HistoryError(e.problem, path=getattr(history, "source", None)) from None
        except Exception as e:  # a malformed op value: the affected checkers say unknown
            analysis_error = e
    return compose(names, lambda name: CHECKERS[name](ops, test, analysis), ops=ops, analysis_error=analysis_error,
                   allow=allow, forbid=forbid, t0=t0)


def compose(names: Iterable[str], run: Callable[[str], dict], *, ops: list, analysis_error: Exception | None,
            allow: Any, forbid: Any, t0: float) -> dict:
    """Runs each named checker through `run(name)` and merges the results (false > unknown > true).

    A checker that raises, or needs the shared analysis when building it failed,
    becomes `unknown` with its error; the test's allow/forbid policy applies to each.
    """
    from prozess.checkers import policy
    from prozess.checkers.reindex import to_indices

    names = list(names)
    for name in names:  # raises on a checker module that cannot be imported: never an `unknown`
        if name in _MODULES:
            importlib.import_module(f"{__name__}.{_MODULES[name]}")
    results: dict[str, dict] = {}
    for name in names:
        t1 = _time.monotonic()
        try:
            if name in _NEEDS_ANALYSIS and analysis_error is not None:
                raise analysis_error
            r = run(name)
        except Exception as e:
            r = {"valid": "unknown", "anomaly-types": [], "anomalies": {},
                 "error": f"{type(e).__name__}: {e}",
                 "traceback": traceback.format_exception_only(type(e), e)[-1].strip()}
        r["seconds"] = round(_time.monotonic() - t1, 3)
        results[name] = jsonable(policy.apply(r, allow, forbid))
    types = sorted({t for r in results.values() for t in r.get("anomaly-types", [])})
    out = {
        "valid": merge_valid(r.get("valid") for r in results.values()),
        "anomaly-types": types,
        "checkers": results,
        "seconds": round(_time.monotonic() - t0, 3),
    }
    if ops and (ops[0].index != 0 or ops[-1].index != len(ops) - 1):
        to_indices(out, ops)  # indices with gaps: name ops as the history does
    return out


def summary(result: dict) -> str:
    """A readable multi-line summary of a composite (or single) checker result."""
    lines = []
    verdict = {True: "VALID", False: "INVALID"}.get(result.get("valid"), "UNKNOWN")
    lines.append(f"verdict: {verdict}" + (f" ({', '.join(result['anomaly-types'])})" if result.get("anomaly-types") else ""))
    checkers = result.get("checkers") or {"result": result}
    for name, r in checkers.items():
        v = {True: "valid", False: "INVALID"}.get(r.get("valid"), "unknown")
        extra = ""
        if r.get("error"):
            extra = f" — error: {r['error']}"
        elif r.get("reason"):
            extra = f" — {r['reason']}"
        lines.append(f"  {name}: {v}{extra}")
        for t, e in (r.get("anomalies") or {}).items():
            lines.append(f"    {t} x{e.get('count', 0)}: {e.get('definition', '')}")
            for ex in e.get("examples", [])[:2]:
                lines.append(f"      - {ex.get('explanation', '')} [ops {', '.join(map(str, ex.get('ops', [])[:8]))}]")
        info = r.get("informational") or {}
        if info:
            lines.append("    informational (allowed here): "
                         + ", ".join(f"{t} x{e.get('count', 0)}" for t, e in info.items()))
        if name == "stats" and r.get("counts"):
            c = r["counts"]
            lines.append(f"    {c.get('ops', 0)} ops: {c.get('ok', 0)} ok, {c.get('fail', 0)} fail, {c.get('info', 0)} info")
        if name == "perf" and r.get("latency-ms"):
            for f, q in r["latency-ms"].items():
                lines.append(f"    {f}: p50 {q['p50']} ms, p99 {q['p99']} ms, max {q['max']} ms ({q['count']} ops)")
    if "seconds" in result:
        lines.append(f"checked in {result['seconds']} s")
    return "\n".join(lines)
