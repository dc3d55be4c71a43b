"""Fault accounting: what each nemesis action of a run really did.

A verdict is only worth the faults that happened. From the history's nemesis ops
(an `info` op opens an action, the next `info` op with the same f completes it)
this module works out, per action, its outcome:

- ``applied``: it completed without an error;
- ``failed``: it completed with an error (in its value or on the op), or never
  completed; the reason is kept in plain words;
- ``unavailable``: this machine cannot apply it (e.g. netem without sch_netem).

and, per fault kind, how many start actions were scheduled, applied and failed,
and the windows really in force (an applied start up to the completion of the
next applied stop of its kind, or `heal-all`, or the end of the run). The result
is plain JSON data for results.json's ``faults`` section; the report and the
terminal read it from there.

`never_applied` names the requested kinds that never took effect: a run resting
on them is `unknown`.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from prozess.history import NEMESIS, Op, nemesis_actions
from prozess.nemesis import packages
from prozess.nemesis.schedule import fault_edge, parse_faults

__all__ = ["account", "edges", "never_applied", "summary_lines", "verdict_notes"]

_NOT_FAULTS = frozenset({"check-offsets", "heal-all", "schedule"})


def edges() -> dict[str, list[str]]:
    """f -> [kind, "start" | "stop"] for every fault f (from the fault packages), saved with the run so readers need not import the nemesis."""
    return packages.edges()


def _reason(opening: Op, done: Op | None) -> tuple[str, str | None]:
    """(outcome, reason) of one action from its completing op."""
    if done is None:
        return "failed", "never completed: the run ended while it was being applied"
    if done.error:
        return "failed", str(done.error)
    value = done.value
    if isinstance(value, Mapping) and value.get("error"):
        err = str(value["error"])
        if err.startswith("unavailable"):
            return "unavailable", err
        return "failed", err
    return "applied", None


def _nodes(value: Any) -> list[str]:
    """The nodes an action touched, from what it recorded (nodes, drops, offsets, started, resumed)."""
    if not isinstance(value, Mapping):
        return []
    found: list[str] = []
    for key in ("nodes", "started", "resumed", "healed", "cleared"):
        v = value.get(key)
        if isinstance(v, list):
            found += [str(x) for x in v]
    drops = value.get("drops")
    if isinstance(drops, Mapping):
        found += [str(n) for n, peers in drops.items() if peers]
    offsets = value.get("offsets")
    if isinstance(offsets, Mapping):
        found += [str(n) for n in offsets]
    for key in ("node", "isolated"):
        if isinstance(value.get(key), str):
            found.append(value[key])
    return sorted(dict.fromkeys(found))



def _s(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e9, 3)


def account(
    ops: Iterable[Op],
    *,
    faults: Any = None,
    schedule: Sequence[Mapping[str, Any]] | None = None,
    unavailable: Mapping[str, str] | None = None,
    end_time: int | None = None,
) -> dict[str, Any]:
    """The ``faults`` section of results.json for a history (see the module docstring).

    `faults`: the test's requested faults (spec syntax); `schedule`: the steps the
    nemesis drew (to count steps the run never reached); `unavailable`: kind -> reason
    for kinds the nemesis found it cannot apply.
    """
    ops = [op for op in ops if op.process == NEMESIS]
    last = end_time if end_time is not None else max((op.time for op in ops), default=0)
    requested = sorted({k for g in parse_faults(faults) for k in g}) if faults else []
    kinds: dict[str, dict[str, Any]] = {}

    def kind_entry(kind: str) -> dict[str, Any]:
        return kinds.setdefault(kind, {"scheduled": 0, "invoked": 0, "applied": 0, "failed": 0, "unavailable": 0, "stops-failed": 0, "failures": [], "windows": []})

    for k in requested:
        kind_entry(k)
    if schedule is not None:
        for step in schedule:
            edge = fault_edge(str(step.get("f")))
            if edge and edge[1] == "start":
                kind_entry(edge[0])["scheduled"] += 1
    actions: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}

    def close(kind: str, at: int, op_index: int | None, healed: bool = True) -> None:
        w = open_.pop(kind, None)
        if w is not None:
            w.update(end=max(at, w["start"]), end_s=_s(max(at, w["start"])), end_op=op_index, healed=healed)
            kinds[kind]["windows"].append(w)

    for opening, done in nemesis_actions(ops):
        finish = done.time if done is not None else opening.time
        if opening.f == "heal-all":
            for kind in sorted(open_, key=lambda k: open_[k]["start"]):
                close(kind, finish, (done or opening).index)
            continue
        edge = fault_edge(opening.f)
        if edge is None or opening.f in _NOT_FAULTS:
            continue
        kind, side = edge
        outcome, reason = _reason(opening, done)
        value = done.value if done is not None else opening.value
        action = {
            "f": opening.f,
            "kind": kind,
            "side": side,
            "outcome": outcome,
            "start": opening.time,
            "start_s": _s(opening.time),
            "stop": finish,
            "stop_s": _s(finish),
            "invoke_op": opening.index,
            "complete_op": done.index if done is not None else None,
            "nodes": _nodes(value) if outcome == "applied" else [],
        }
        if reason:
            action["reason"] = reason
        actions.append(action)
        entry = kind_entry(kind)
        if side == "start":
            entry["invoked"] += 1
            if schedule is None:
                entry["scheduled"] += 1
            entry[outcome] += 1
            if outcome != "applied":
                entry["failures"].append({"f": opening.f, "side": side, "time_s": _s(opening.time), "op": opening.index, "outcome": outcome, "reason": reason})
                continue
            if kind in open_:  # a second start while open: merge into one window
                open_[kind]["nodes"] = sorted(set(open_[kind]["nodes"]) | set(action["nodes"]))
                continue
            open_[kind] = {"kind": kind, "start": opening.time, "start_s": _s(opening.time), "start_op": opening.index, "nodes": action["nodes"], "f": opening.f}
        else:
            if outcome == "applied":
                close(kind, finish, (done or opening).index)
            else:
                entry["stops-failed"] += 1
                entry["failures"].append({"f": opening.f, "side": side, "time_s": _s(opening.time), "op": opening.index, "outcome": outcome, "reason": reason})
    for kind in list(open_):
        close(kind, last, None, healed=False)
    for kind, reason in (unavailable or {}).items():
        e = kind_entry(kind)
        e["unavailable-reason"] = reason
    for e in kinds.values():
        e["not-reached"] = max(0, e["scheduled"] - e["invoked"])
        e["windows"].sort(key=lambda w: w["start"])
    out = {
        "requested": requested,
        "kinds": dict(sorted(kinds.items())),
        "actions": actions,
        "edges": edges(),
    }
    out["never-applied"] = never_applied(out)
    out["failed"] = sum(e["failed"] + e["unavailable"] for e in kinds.values())
    return out


def never_applied(faults: Mapping[str, Any]) -> dict[str, str]:
    """kind -> why, for each requested kind that never took effect in the run."""
    out: dict[str, str] = {}
    for kind in faults.get("requested") or []:
        e = (faults.get("kinds") or {}).get(kind) or {}
        if e.get("applied", 0) > 0:
            continue
        reasons = [f["reason"] for f in e.get("failures", []) if f.get("reason") and f.get("side") == "start"]
        if e.get("unavailable-reason"):
            why = f"unavailable: {e['unavailable-reason']}" if not str(e["unavailable-reason"]).startswith("unavailable") else e["unavailable-reason"]
        elif reasons:
            first = reasons[0]
            why = f"{e.get('scheduled', 0)} scheduled, 0 applied; {e.get('failed', 0)} failed: {first}"
        elif e.get("scheduled", 0) == 0:
            why = "no action of this kind was scheduled (the run was too short for its fault cycles, or drew other fault groups)"
        else:
            why = f"{e.get('scheduled', 0)} scheduled, none reached (the run ended first)"
        out[kind] = why
    return out


def summary_lines(faults: Mapping[str, Any] | None) -> list[str]:
    """One line per fault kind, e.g. "kill: 3 scheduled, 3 applied" (plus failures and their first reason)."""
    if not faults:
        return []
    lines = []
    for kind, e in (faults.get("kinds") or {}).items():
        parts = [f"{e.get('scheduled', 0)} scheduled", f"{e.get('applied', 0)} applied"]
        if e.get("failed"):
            parts.append(f"{e['failed']} failed")
        if e.get("unavailable") or e.get("unavailable-reason"):
            parts.append(f"{e.get('unavailable', 0)} unavailable")
        if e.get("not-reached"):
            parts.append(f"{e['not-reached']} not reached")
        if e.get("stops-failed"):
            parts.append(f"{e['stops-failed']} stops failed")
        line = f"{kind}: {', '.join(parts)}"
        reasons = [f["reason"] for f in e.get("failures", []) if f.get("reason")]
        if reasons:
            line += f" (first failure: {reasons[0]})"
        lines.append(line)
    return lines


def verdict_notes(results: dict[str, Any], faults: Mapping[str, Any]) -> None:
    """Applies the fault accounting to a verdict, in place.

    A requested fault kind that never took effect turns `valid: true` into
    `unknown` with the reason (an anomaly found under the other faults stays
    `false`); partial failures keep the verdict and are counted in `faults`.
    """
    missing = faults.get("never-applied") or {}
    if not missing:
        return
    reason = "; ".join(f"fault {k} never took effect ({why})" for k, why in sorted(missing.items()))
    if results.get("valid") is True:
        results["valid"] = "unknown"
        results["error"] = reason if not results.get("error") else f"{results['error']}; {reason}"
    results["faults-not-applied"] = dict(missing)
