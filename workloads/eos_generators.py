"""The eos workload's generators: the main phase and the final drain-and-read phase.

Pure (a seeded rng, no I/O): they decide each thread's next op from its role and
from what completions taught them (`Progress`: open transactions and the group's
committed offsets). See `prozess.workloads.eos` for the ops.
"""

from __future__ import annotations

import random
from typing import Any

from prozess.generator import PENDING, Context
from prozess.workloads.adapter import produce_op
from prozess.workloads.eos_options import EosOptions, role_of

__all__ = ["EosFinal", "EosGenerator", "Progress"]


class Progress:
    """What the generators learn from completions: open transactions and the group's committed offsets."""

    def __init__(self) -> None:
        self.open_txn: dict[Any, str] = {}            # process -> txn awaiting commit/abort
        self.offsets_of: dict[str, dict[int, int]] = {}
        self.committed: dict[int, int] = {}           # input partition -> next offset, as far as known

    def update(self, event: dict[str, Any]) -> None:
        typ, f, p, v = event.get("type"), event.get("f"), event.get("process"), event.get("value")
        if typ == "invoke":
            return
        if f == "transform" and typ == "ok" and isinstance(v, dict) and v.get("txn") is not None:
            self.open_txn[p] = v["txn"]
            self.offsets_of[v["txn"]] = {int(k): int(x) for k, x in (v.get("offsets") or {}).items()}
        elif f in ("commit", "abort"):
            self.open_txn.pop(p, None)
            tid = v.get("txn") if isinstance(v, dict) else None
            offsets = self.offsets_of.pop(tid, None) if tid is not None else None
            if typ == "ok" and f == "commit" and offsets:
                for part, nxt in offsets.items():
                    self.committed[part] = max(self.committed.get(part, 0), nxt)
        if typ == "info":
            self.open_txn.pop(p, None)


class EosGenerator:
    """The main phase: producer, transformers (transform then commit/abort, crashes) and readers.

    Shared state (as in Jepsen's generators): the next input value and, in
    `progress`, each process's open transaction and the committed offsets.
    """

    def __init__(self, options: EosOptions, rng: random.Random):
        options.validate()
        self.o = options
        self.rng = rng
        self.next_value = 1
        self.progress = Progress()
        self.next_crash: dict[int, float] = {}

    def op(self, ctx: Context) -> Any:
        role = role_of(ctx.thread, self.o)
        if role is None:
            return None
        if role == "producer":
            op, self.next_value = produce_op(self.rng, self.o.partitions, self.o.produce_batch, self.next_value)
            return op
        if role == "reader":
            return {"f": "read-output", "value": {"final": False}}
        tid = self.progress.open_txn.get(ctx.process)
        if self.o.crash_only_in_txn:  # a due crash waits for an open txn (the at-least-once twin's duplicate)
            may_crash = tid is not None
        else:  # with crash_in_txn, a crash may abandon an open txn
            may_crash = tid is None or self.o.crash_in_txn
        if self.o.crash_clients and may_crash:
            nxt = self.next_crash.get(ctx.thread)
            if nxt is None:
                nxt = self.next_crash[ctx.thread] = ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s
            if ctx.time >= nxt:
                self.next_crash[ctx.thread] = ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s
                return {"f": "crash", "value": None}
        if tid is not None:
            f = "abort" if self.rng.random() < self.o.abort_p else "commit"
            return {"f": f, "value": {"txn": tid}}
        return {"f": "transform", "value": None}

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.progress.update(event)


class EosFinal:
    """The final phase: read the input, let transformers drain it, then read the output and the group's offsets.

    Thread 0: read-input, then waits until the transformers are done and
    `transaction_timeout_s` (+2 s) has passed since the phase began and since
    the last transformer op that ended `info` — so that every abandoned
    transaction has been aborted and no open one holds back the last stable
    offset — then read-output (final) and group-offsets. A transformer still
    stuck in an op when the drain ends does not hold this up for longer than
    `drain_time_s` + `transaction_timeout_s` + 2 s. Transformers commit
    any open transaction, then transform and commit (never abort) until the
    committed offsets reach the input's ends or `drain_time_s` passes.
    Readers have nothing to do.
    """

    def __init__(self, options: EosOptions, progress: Progress | None = None):
        self.o = options
        self.progress = progress or Progress()
        self.ends: dict[int, int] | None = None
        self.stage0 = "read-input"
        self.transformers_done: set[int] = set()
        self.last_abandoned = 0.0     # when a transformer last abandoned a client (its txn may still be open)

    def drained(self) -> bool:
        c = self.progress.committed
        return self.ends is not None and all(c.get(p, 0) >= e for p, e in self.ends.items())

    def op(self, ctx: Context) -> Any:
        role = role_of(ctx.thread, self.o)
        draining = ctx.time < self.o.drain_time_s
        if role == "producer":
            if self.stage0 == "read-input":
                return {"f": "read-input", "value": {"final": True}}
            if self.stage0 == "wait":
                n_tr = sum(1 for t in range(ctx.concurrency) if role_of(t, self.o) == "transformer")
                settled = ctx.time >= max(0.0, self.last_abandoned) + self.o.transaction_timeout_s + 2
                # A transformer stuck in an op past the drain counts as abandoned then (its txn times out).
                given_up = ctx.time >= self.o.drain_time_s + self.o.transaction_timeout_s + 2
                if (len(self.transformers_done) >= n_tr and settled) or given_up:
                    self.stage0 = "read-output"
                else:
                    return PENDING
            if self.stage0 == "read-output":
                return {"f": "read-output", "value": {"final": True}}
            if self.stage0 == "group-offsets":
                return {"f": "group-offsets", "value": None}
            return None
        if role == "transformer":
            tid = self.progress.open_txn.get(ctx.process)
            if tid is not None:
                return {"f": "commit", "value": {"txn": tid}}
            if ctx.thread in self.transformers_done:
                return None
            if self.drained() or not draining:
                self.transformers_done.add(ctx.thread)
                return None
            return {"f": "transform", "value": None}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.progress.update(event)
        typ, f, v = event.get("type"), event.get("f"), event.get("value")
        if typ == "invoke":
            return
        if typ == "info" and f in ("transform", "commit", "abort"):
            self.last_abandoned = ctx.time
        if f == "read-input" and typ == "ok" and isinstance(v, dict):
            self.ends = {int(k): int(e) for k, e in (v.get("ends") or {}).items()}
            self.stage0 = "wait"
        elif f == "read-output" and typ == "ok" and isinstance(v, dict) and v.get("final"):
            self.stage0 = "group-offsets"
        elif f == "group-offsets" and typ == "ok":
            self.stage0 = "done"
