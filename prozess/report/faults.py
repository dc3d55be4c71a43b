"""Fault windows: the spans of time during which a nemesis fault was in force.

The nemesis records its actions as ops of process "nemesis" (Jepsen style: an op
opens an action and the next op with the same `f` completes it). A fault window
runs from the start of the action that begins a fault to the completion of the
action that ends it. Which f begins and ends which kind of fault is data the run
carries: results.json's `faults.edges` (or test.json's `fault_edges`), f ->
[kind, "start" | "stop"], written by the nemesis's fault packages. This module never
imports the nemesis. For runs saved before the pairing was written, and for
histories from elsewhere, the pairing comes from tables kept here as data:

- `SAVED_EDGES`: the pairing of prozess's own fault kinds at the time runs did not
  save it (start-partition/stop-partition, kill/start, pause/resume, bump-clock or
  strobe-clock/reset-clock, the links and the disk faults);
- then by name: `start-X` ... `stop-X` (and bare `start` ... `stop`, shown as
  "fault"), `pause` ... `resume`, `partition` ... `heal`, `kill` ... `start`/`restart`.

`heal-all` ends every open window. Any other nemesis action becomes a window of
its own duration. A fault never ended is open until the end of the history, and is
flagged `healed: False` so the report can say so.

Only what happened is drawn: an action whose completion carries an error (in its
value or on the op), or that never completed, opens no window (and a failed stop
closes none); `failed_actions` lists those actions with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from prozess.history import NEMESIS, Op, nemesis_actions

__all__ = ["SAVED_EDGES", "FailedAction", "FaultWindow", "failed_actions", "fault_windows", "windows_at"]

# closing f -> the f that opened the fault it closes
_CLOSERS = {"stop": "fault", "resume": "pause", "heal": "partition", "restart": "kill"}


@dataclass(frozen=True)
class FaultWindow:
    kind: str  # e.g. "partition"
    start: int  # ns since the run started
    end: int  # ns; the end of the history when never healed
    start_op: int  # index of the op that opened the fault
    end_op: int | None  # index of the op that completed its end, None when never healed
    value: Any  # the opening op's value (what the fault did), or its completion's when richer
    healed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "start_op": self.start_op,
            "end_op": self.end_op,
            "value": self.value,
            "healed": self.healed,
        }


_NOT_FAULTS = frozenset({"check-offsets"})  # nemesis actions that observe, not break


#: f -> [kind, "start" | "stop"] of prozess's fault kinds as runs recorded them before
#: results.json carried `faults.edges`; a run that carries its own pairing uses that.
SAVED_EDGES: dict[str, list[str]] = {
    "start-partition": ["partition", "start"], "stop-partition": ["partition", "stop"],
    "kill": ["kill", "start"], "start": ["kill", "stop"],
    "pause": ["pause", "start"], "resume": ["pause", "stop"],
    "bump-clock": ["clock", "start"], "strobe-clock": ["clock", "start"], "reset-clock": ["clock", "stop"],
    "start-bandwidth": ["bandwidth", "start"], "stop-bandwidth": ["bandwidth", "stop"],
    "start-loss": ["loss", "start"], "stop-loss": ["loss", "stop"],
    "start-netem": ["netem", "start"], "stop-netem": ["netem", "stop"],
    "start-power-cut": ["power-cut", "start"], "stop-power-cut": ["power-cut", "stop"],
    "start-corrupt-segment": ["corrupt-segment", "start"], "stop-corrupt-segment": ["corrupt-segment", "stop"],
    "start-disk-full": ["disk-full", "start"], "stop-disk-full": ["disk-full", "stop"],
}


@dataclass(frozen=True)
class FailedAction:
    """A nemesis action that did not take effect: drawn as a marker, never as a window."""

    kind: str
    f: str
    time: int  # ns, when it was invoked
    op: int  # index of its opening op
    reason: str
    outcome: str = "failed"  # or "unavailable"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "f": self.f, "time": self.time, "op": self.op, "reason": self.reason, "outcome": self.outcome}


def _failure(done: Op | None) -> tuple[str, str] | None:
    """(outcome, reason) when an action did not take effect, else None."""
    if done is None:
        return "failed", "it never completed: the run ended while it was being applied"
    if done.error:
        return "failed", str(done.error)
    if isinstance(done.value, dict) and done.value.get("error"):
        err = str(done.value["error"])
        return ("unavailable" if err.startswith("unavailable") else "failed"), err
    return None


def plain_reason(reason: str) -> str:
    """A failure reason in plain words: the exception class name dropped ("NemesisError: no leader" -> "no leader")."""
    head, sep, tail = reason.partition(": ")
    return tail if sep and head.isidentifier() and (head.endswith("Error") or head.endswith("Exception")) else reason


def _kind(f: str, edges: dict[str, Any] | None = None) -> tuple[str, str]:
    """(role, kind) for a nemesis f; role is "open", "close", "close-all", "skip" or "instant"."""
    if f == "heal-all":
        return "close-all", ""
    if f in _NOT_FAULTS:
        return "skip", f
    if edges and f in edges:
        kind, side = edges[f][0], edges[f][1]
        return ("open" if side == "start" else "close"), kind
    if f not in ("start", "stop") and f in SAVED_EDGES:
        kind, side = SAVED_EDGES[f]
        return ("open" if side == "start" else "close"), kind
    if f.startswith("start-"):
        return "open", f[len("start-") :]
    if f.startswith("stop-"):
        return "close", f[len("stop-") :]
    if f in _CLOSERS:
        return "close", _CLOSERS[f]
    if f == "start":  # Jepsen's bare partitioner: start ... stop
        return "open", "fault"
    if f in ("pause", "partition", "kill"):
        return "open", f
    return "instant", f



def failed_actions(ops: Iterable[Op], edges: dict[str, Any] | None = None) -> list[FailedAction]:
    """Every nemesis action (not heal-all or observations) that did not take effect, in order."""
    ops = [op for op in ops if op.process == NEMESIS]
    out = []
    for opening, done in nemesis_actions(ops):
        role, kind = _kind(opening.f, edges)
        if role in ("skip", "close-all") or opening.f == "schedule":
            continue
        bad = _failure(done)
        if bad is not None:
            out.append(FailedAction(kind or opening.f, opening.f, opening.time, opening.index, plain_reason(bad[1]), bad[0]))
    return out


def fault_windows(ops: Iterable[Op], end_time: int | None = None, edges: dict[str, Any] | None = None) -> list[FaultWindow]:
    """Every fault window of a history, ordered by start time; failed actions open (and close) nothing.

    `edges`: f -> [kind, "start" | "stop"] as saved with the run (results.json
    `faults.edges`, or test.json `fault_edges`); without it, `SAVED_EDGES` and the f's name.
    """
    ops = list(op for op in ops if op.process == NEMESIS) if not isinstance(ops, list) else ops
    last = end_time
    if last is None:
        last = max((op.time for op in ops), default=0)
    open_: dict[str, tuple[Op, Op | None]] = {}
    windows: list[FaultWindow] = []

    def value_of(opening: Op, done: Op | None) -> Any:
        if done is not None and done.value not in (None, opening.value):
            return done.value
        return opening.value

    for opening, done in nemesis_actions(ops):
        role, kind = _kind(opening.f, edges)
        finish = done.time if done is not None else opening.time
        if role != "close-all" and _failure(done) is not None:
            continue  # it did not happen: no window opens, and a failed stop leaves its fault open
        if opening.f == "start" and "kill" in open_ and "fault" not in open_:
            role, kind = "close", "kill"  # Jepsen's kill nemesis restarts with :start
        if role == "skip":
            continue
        if role == "close-all":
            for kind, (o, d) in sorted(open_.items(), key=lambda kv: kv[1][0].index):
                windows.append(FaultWindow(kind, o.time, max(finish, o.time), o.index, (done or opening).index, value_of(o, d)))
            open_.clear()
            continue
        if role == "open":
            if kind in open_:  # opened twice: the earlier one ends where the new one starts
                o, d = open_.pop(kind)
                windows.append(FaultWindow(kind, o.time, opening.time, o.index, None, value_of(o, d), healed=False))
            open_[kind] = (opening, done)
        elif role == "close":
            if kind in open_:
                o, d = open_.pop(kind)
                windows.append(FaultWindow(kind, o.time, max(finish, o.time), o.index, (done or opening).index, value_of(o, d)))
            # a stop with nothing open (an idempotent heal at the end) is not a window
        else:
            windows.append(FaultWindow(kind, opening.time, finish, opening.index, (done or opening).index, value_of(opening, done)))
    for kind, (o, d) in open_.items():
        windows.append(FaultWindow(kind, o.time, max(last, o.time), o.index, None, value_of(o, d), healed=False))
    windows.sort(key=lambda w: (w.start, w.kind))
    return windows


def windows_at(windows: list[FaultWindow], time: int) -> list[FaultWindow]:
    """The windows in force at `time` (ns)."""
    return [w for w in windows if w.start <= time <= w.end]
