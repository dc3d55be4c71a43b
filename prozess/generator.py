"""Generators: what decides the next operation for each process, seeded and pure.

A generator is asked for an op by a free worker thread (`op(ctx)`) and told
about every invocation and completion (`update(ctx, event)`). It does no I/O
and reads no clock: time comes in through `ctx.time` (seconds since the phase
started) and randomness only from a `random.Random` seeded by the test. Given
the seed and the same sequence of calls it produces the same ops, so a run's
workload can be replayed and simulated without a cluster (`dry_run`; `prozess.simulate` is something else: a simulator of whole Kafka histories).

`op` returns one of:
- a dict `{"f": ..., "value": ...}` (plus optional keys such as `"time"`,
  the earliest time in seconds the op may start; the runner sleeps until then),
- `PENDING`: nothing for this thread now; ask again a little later,
- `None`: this generator is exhausted for this thread.

Unlike Jepsen's persistent generators these objects are mutable (cheaper in
Python); the runner serialises calls under one lock, as Jepsen's interpreter
runs its generator on one thread. Combinators below wrap any generator:
`Limit` (op count), `TimeLimit`, `Stagger` (a total rate with random gaps,
as Jepsen's `stagger`), `EachThread` (one sub-generator per worker thread),
and `Phases`.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

__all__ = [
    "Context",
    "EachThread",
    "Generator",
    "Limit",
    "PENDING",
    "Phases",
    "Stagger",
    "TimeLimit",
    "dry_run",
]


class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()


@dataclass(frozen=True, slots=True)
class Context:
    """What a generator may know when asked: the time, who asks, how many threads there are."""

    time: float          # seconds since the phase started
    process: int         # the process id of the asking thread (changes after an info)
    thread: int          # the worker thread, 0 .. concurrency-1
    concurrency: int


class Generator(Protocol):
    def op(self, ctx: Context) -> Any: ...

    def update(self, ctx: Context, event: dict[str, Any]) -> None: ...


class Limit:
    """Emits at most `n` ops of `gen` in total (across threads)."""

    def __init__(self, gen: Generator, n: int | None):
        self.gen = gen
        self.left = n

    def op(self, ctx: Context) -> Any:
        if self.left is not None and self.left <= 0:
            return None
        o = self.gen.op(ctx)
        if isinstance(o, dict) and self.left is not None:
            self.left -= 1
        return o

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.gen.update(ctx, event)


class TimeLimit:
    """Exhausted once `ctx.time` reaches `seconds` (measured from the phase start)."""

    def __init__(self, gen: Generator, seconds: float | None):
        self.gen = gen
        self.seconds = seconds

    def op(self, ctx: Context) -> Any:
        if self.seconds is not None and ctx.time >= self.seconds:
            return None
        o = self.gen.op(ctx)
        if isinstance(o, dict) and self.seconds is not None and o.get("time", 0.0) >= self.seconds:
            return None
        return o

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.gen.update(ctx, event)


class Stagger:
    """Spaces ops so that all threads together run about `rate` ops per second.

    Gaps are uniform in [0, 2/rate) (Jepsen's `stagger`), drawn from the
    seeded rng; each op carries the `time` it may start. `rate` None or 0:
    no limit.
    """

    def __init__(self, gen: Generator, rate: float | None, rng: random.Random):
        self.gen = gen
        self.rate = rate
        self.rng = rng
        self.next_time: float | None = None

    def op(self, ctx: Context) -> Any:
        o = self.gen.op(ctx)
        if not isinstance(o, dict) or not self.rate:
            return o
        if self.next_time is None:
            self.next_time = ctx.time
        t = max(self.next_time, ctx.time - 1.0 / self.rate)  # after a stall, no burst bigger than one op
        self.next_time = t + self.rng.uniform(0, 2.0 / self.rate)
        o = dict(o)
        o["time"] = max(t, o.get("time", 0.0))
        return o

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.gen.update(ctx, event)


class EachThread:
    """Runs a fresh generator from `factory(thread)` on every worker thread independently."""

    def __init__(self, factory: Callable[[int], Generator]):
        self.factory = factory
        self.gens: dict[int, Generator] = {}

    def _gen(self, thread: int) -> Generator:
        g = self.gens.get(thread)
        if g is None:
            g = self.gens[thread] = self.factory(thread)
        return g

    def op(self, ctx: Context) -> Any:
        return self._gen(ctx.thread).op(ctx)

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self._gen(ctx.thread).update(ctx, event)


class Phases:
    """Runs generators one after another: a thread moves on when the current one is exhausted for it.

    Every thread finishes phase i before anyone starts phase i+1 (the others
    get PENDING), as Jepsen's `phases` synchronises threads.
    """

    def __init__(self, *gens: Generator, concurrency: int):
        self.gens = list(gens)
        self.concurrency = concurrency
        self.phase = 0
        self.done: set[int] = set()
        self.busy: set[int] = set()

    def op(self, ctx: Context) -> Any:
        while self.phase < len(self.gens):
            if ctx.thread in self.done:
                if len(self.done) >= self.concurrency and not self.busy:
                    self.phase += 1
                    self.done.clear()
                    continue
                return PENDING
            o = self.gens[self.phase].op(ctx)
            if o is None:
                self.done.add(ctx.thread)
                continue
            return o
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        if event.get("type") == "invoke":
            self.busy.add(ctx.thread)
        else:
            self.busy.discard(ctx.thread)
        if self.phase < len(self.gens):
            self.gens[self.phase].update(ctx, event)


def dry_run(
    gen: Generator,
    concurrency: int,
    *,
    complete: Callable[[dict[str, Any]], tuple[str, Any]] | None = None,
    latency: float = 0.001,
    max_ops: int = 100_000,
    max_time: float = 3600.0,
) -> list[dict[str, Any]]:
    """Runs `gen` against a fake, instant system and returns the invocations in order.

    Threads take turns by simulated time; each op completes after `latency`
    seconds with `complete(op) -> (type, value)` (default: ok with the invoked
    value). An `info` completion gives the thread a new process, as the runner
    does. Deterministic: no clock, no threads. Bounded by `max_ops` and `max_time`.
    """
    complete = complete or (lambda op: ("ok", op.get("value")))
    free: list[tuple[float, int]] = [(0.0, t) for t in range(concurrency)]
    heapq.heapify(free)
    process = list(range(concurrency))
    out: list[dict[str, Any]] = []
    while free and len(out) < max_ops:
        now, thread = heapq.heappop(free)
        if now > max_time:
            break
        ctx = Context(now, process[thread], thread, concurrency)
        o = gen.op(ctx)
        if o is None:
            continue  # this thread is done
        if o is PENDING:
            heapq.heappush(free, (now + latency, thread))
            continue
        start = max(now, o.get("time", now))
        inv = {"type": "invoke", "process": process[thread], "f": o["f"], "value": o.get("value"), "time": start}
        out.append(inv)
        ictx = Context(start, process[thread], thread, concurrency)
        gen.update(ictx, inv)
        typ, value = complete(inv)
        end = start + latency
        comp = {"type": typ, "process": process[thread], "f": o["f"], "value": value, "time": end}
        gen.update(Context(end, process[thread], thread, concurrency), comp)
        if typ == "info":
            process[thread] += concurrency
        heapq.heappush(free, (end, thread))
    return out


def iter_ops(ops: list[dict[str, Any]]) -> Iterator[tuple[Any, str, Any]]:
    """(process, f, value) triples, for comparing simulated runs."""
    for o in ops:
        yield o["process"], o["f"], o["value"]
