"""The interpreter: generator -> workers -> history, with the nemesis as one more worker.

    Interpreter(workload, topics, writer, concurrency=N, test=test, faults=True).run(
        main, final, nemesis, nemesis_rng, Bounds(...)) -> early-stop error or None

It knows nothing of clusters, specs or run directories: it takes the workload's
client side, a topic manager, a history recorder, a nemesis, a clock and the
generators as parameters (each a small `Protocol` below), so it runs against
fakes as well as against a real cluster (`prozess.runner` is the lifecycle that
builds those and calls it).

What it does, in Jepsen's terms (`jepsen.generator.interpreter`):

- **Workers.** `concurrency` threads, each one logical process at a time. A
  worker asks the generator (under one lock) for an op, sleeps until the op's
  start time, makes sure the op's topics exist and that its process has a
  client (if not, the op is recorded `fail`: it was never sent), records the
  invocation, runs it through the workload, records the completion. A client
  call that raises becomes `info` with an `indeterminate: ...` error, never a
  lost op.
- **Process replacement.** An op that ends `info` (a `crash` op, a timeout, an
  exception) abandons its client: the thread goes on as process
  `p + concurrency` with a fresh client, so the indeterminate op stays
  concurrent with everything after it.
- **The nemesis worker.** One more thread walks the nemesis schedule
  (`(delay_s, f, value)` steps) during the main phase; each action is an
  `info` op pair of process `"nemesis"` in the same history.
- **Phases.** main (the workload generator under the time and op limits, the
  nemesis running) -> heal (a `heal-all` nemesis op pair when the test has
  faults) -> final (the workload's final generator, every op marked
  `"final": true`, bounded by the final time limit, or by
  `interrupted_final_s` after a stop).
- **Bounds.** Every loop ends by itself: the generators are wrapped in
  `Limit` / `TimeLimit`, every wait is interruptible by the stop event, and a
  worker still stuck in a client call after its phase's deadline is left
  behind (a daemon thread) with its invocation open, i.e. indeterminate.
- **Early stop.** When every op of the main phase's first `EARLY_CHECK_S`
  failed before it was sent, all in the same way, the run cannot work: the
  main phase ends and `run` returns the reason (no heal, no final phase).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from prozess.generator import PENDING, Context, Generator, Limit, TimeLimit
from prozess.history import NEMESIS, HistoryWriter, Op

__all__ = [
    "Bounds",
    "Clock",
    "EarlyStop",
    "Interpreter",
    "MonotonicClock",
    "NemesisWorker",
    "Observer",
    "Phase",
    "Recorder",
    "SafeWriter",
    "Topics",
    "Workload",
]

log = logging.getLogger("prozess.runner")  # the harness's own logger: its messages stay on the terminal

INTERRUPTED_FINAL_S = 10.0  # final reads after a stop, at most
EARLY_CHECK_S = 5.0  # when every op of the main phase's first seconds failed before it was sent, the run stops


# -- what the interpreter is given ------------------------------------------------


class Workload(Protocol):
    """The client side of a workload: which keys an op touches, a client per process, one op through a client."""

    def keys_of(self, op: dict[str, Any]) -> Iterable[Any]: ...

    def open_client(self, process: int) -> Any: ...

    def invoke(self, client: Any, op: dict[str, Any]) -> tuple[str, Any, Any]:
        """Runs `op` and returns (type, value, error); type is ok, fail or info."""
        ...


class Topics(Protocol):
    """Creates the topics of `keys` if they do not exist yet (idempotent; raises when it cannot)."""

    def ensure(self, keys: Iterable[Any]) -> None: ...


class NemesisWorker(Protocol):
    """What the interpreter calls of a nemesis (set-up and teardown belong to the lifecycle).

    `schedule(test, rng)` yields `(delay_s, f, value)` steps (may be infinite;
    randomness only from `rng`); `invoke(f, value) -> (type, value)` applies one
    action and may raise; `heal_all()` ends every fault, idempotent.
    """

    def schedule(self, test: dict[str, Any], rng: random.Random) -> Iterable[tuple[float, str, Any]]: ...

    def invoke(self, f: str, value: Any) -> tuple[str, Any]: ...

    def heal_all(self) -> Any: ...


class Recorder(Protocol):
    """Appends one op to the history (assigning index and time) and returns it; None once closed."""

    def record(self, type: str, process: Any, f: str, value: Any = None, *, error: Any = None,
               extra: dict[str, Any] | None = None) -> Op | None: ...


class Clock(Protocol):
    """Time as the interpreter sees it: a monotonic reading and an interruptible sleep."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Sleeps up to `seconds`; returns True at once when `event` is (or becomes) set."""
        ...


class Observer(Protocol):
    """Told what happens, for the progress display: phase changes, completions, nemesis actions."""

    def phase(self, name: str) -> None: ...

    def completed(self, type: str) -> None: ...

    def fault(self, f: str, value: Any, failed: bool) -> None: ...


class MonotonicClock:
    """The real clock: `time.monotonic` and `Event.wait`."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


class _NoObserver:
    def phase(self, name: str) -> None:
        pass

    def completed(self, type: str) -> None:
        pass

    def fault(self, f: str, value: Any, failed: bool) -> None:
        pass


@dataclass(frozen=True)
class Bounds:
    """The limits of one run: main phase time and op count, final phase time, and the slack for stuck calls.

    A phase's workers are waited for until its time limit plus three client
    timeouts plus `join_slack_s`; the nemesis worker, six client timeouts plus
    `join_slack_s` after the main phase.
    """

    time_limit_s: float | None
    op_limit: int | None
    final_time_limit_s: float
    op_timeout_s: float
    interrupted_final_s: float = INTERRUPTED_FINAL_S
    join_slack_s: float = 30.0


# -- the history recorder --------------------------------------------------------


class SafeWriter:
    """A HistoryWriter shared by threads: one lock around every append; closed writers drop ops."""

    def __init__(self, path: Path):
        self.writer = HistoryWriter(path, keep_ops=False)  # ops live on disk only: flat memory over hours
        self.lock = threading.Lock()
        self.closed = False

    def record(self, type: str, process: Any, f: str, value: Any = None, *, error: Any = None,
               extra: dict[str, Any] | None = None) -> Op | None:
        with self.lock:
            if self.closed:
                return None
            return self.writer.record(type, process, f, value, error=error, extra=extra)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.writer.close()

    def __len__(self) -> int:
        return self.writer._next


# -- phases and the early stop ---------------------------------------------------


class Phase:
    """One phase of worker ops: a generator under a lock, a clock started with the phase, and its stop event."""

    def __init__(self, name: str, gen: Any, stop: threading.Event, clock: Clock | None = None):
        self.name = name
        self.gen = gen
        self.lock = threading.Lock()
        self.clock = clock or MonotonicClock()
        self.start = self.clock.now()
        self.stop = stop

    def now(self) -> float:
        return self.clock.now() - self.start

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True when the phase was stopped meanwhile."""
        return self.clock.wait(self.stop, seconds)


class EarlyStop:
    """Decides once, after EARLY_CHECK_S of the main phase, whether the run cannot work at all.

    When every op completed so far failed before it was sent (no client could be
    built, or its topic could not be created), all with the same error (e.g.
    settings the client library refuses, an illegal topic name), the rest of
    the time limit would only repeat it: `see` returns True once, and `error`
    says why. Any other outcome (one ok op, another error) and the run goes on.
    """

    def __init__(self, concurrency: int, after_s: float = EARLY_CHECK_S):
        self.after_s = after_s
        self.min_ops = max(3, concurrency)
        self.lock = threading.Lock()
        self.errors: set[str] = set()
        self.failed = 0
        self.other = False
        self.decided = False
        self.error: str | None = None

    def see(self, now: float, typ: str, error: Any) -> bool:
        with self.lock:
            if self.decided:
                return False
            if typ == "fail" and isinstance(error, str) and error.startswith(("no client: ", "topic setup: ")):
                self.failed += 1
                self.errors.add(error)
            else:
                self.other = True
            if self.other:
                self.decided = True
                return False
            if now < self.after_s or self.failed < self.min_ops:
                return False
            self.decided = True
            if len(self.errors) != 1:
                return False
            self.error = (f"every op of the first {now:.0f} s failed the same way ({self.failed} ops): "
                          f"{next(iter(self.errors))}; the run stopped early")
            return True


# -- the interpreter -------------------------------------------------------------


class Interpreter:
    """Runs generators through worker threads and the nemesis worker into one history.

    `test` is the dict handed to `nemesis.schedule`; `faults` says whether the
    test asked for faults (then healing is recorded as a `heal-all` op pair).
    `stop` is the run's stop event (a signal, another thread): it ends the main
    phase; the final phase has its own (`halt` sets both).
    """

    def __init__(self, workload: Workload, topics: Topics, writer: Recorder, *, concurrency: int,
                 test: dict[str, Any] | None = None, faults: bool = False, stop: threading.Event | None = None,
                 clock: Clock | None = None, observer: Observer | None = None, early_stop_after_s: float = EARLY_CHECK_S):
        self.workload = workload
        self.topics = topics
        self.writer = writer
        self.test = test if test is not None else {}
        self.faults = faults
        self.clock: Clock = clock or MonotonicClock()
        self.observer: Observer = observer or _NoObserver()
        self.stop = stop or threading.Event()
        self.final_stop = threading.Event()
        self.main_done = threading.Event()
        self.concurrency = concurrency
        self.processes = list(range(concurrency))
        self.clients: list[Any] = [None] * concurrency
        # Clients of workers left inside a call at a phase's deadline: never closed from another thread.
        self.abandoned: list[Any] = []
        self.nemesis_ops: list[Op] = []
        self.early = EarlyStop(concurrency, early_stop_after_s)

    # -- the phases ---------------------------------------------------------
    def run(self, main: Generator, final: Callable[[], Generator], nemesis: NemesisWorker, nemesis_rng: random.Random,
            bounds: Bounds) -> str | None:
        """main (with the nemesis worker) -> heal -> final. Returns the early-stop reason, or None.

        `final` is called after healing (a workload's final generator may look
        at what the main phase did). After a stop, the final reads still run,
        for at most `bounds.interrupted_final_s`: without them, writes not yet
        read would all look "unseen".
        """
        gen = TimeLimit(Limit(main, bounds.op_limit), bounds.time_limit_s)
        self.observer.phase("main")
        nemesis_thread = threading.Thread(target=self.nemesis_loop, args=(nemesis, nemesis_rng), name="prozess-nemesis", daemon=True)
        nemesis_thread.start()
        main_join = (bounds.time_limit_s or 0.0) + bounds.op_timeout_s * 3 + bounds.join_slack_s
        self.run_phase(Phase("main", gen, self.stop, self.clock), join_timeout=main_join)
        self.main_done.set()
        if self.early.error:
            return self.early.error
        nemesis_thread.join(bounds.op_timeout_s * 6 + bounds.join_slack_s)
        self.observer.phase("heal")
        self.heal(nemesis)
        final_limit = (bounds.final_time_limit_s if not self.stop.is_set()
                       else min(bounds.final_time_limit_s, bounds.interrupted_final_s))
        self.observer.phase("final")
        self.run_phase(Phase("final", TimeLimit(final(), final_limit), self.final_stop, self.clock),
                       join_timeout=final_limit + bounds.op_timeout_s * 3 + bounds.join_slack_s)
        return None

    def halt(self) -> None:
        """Ends every phase and the nemesis worker (each at its next wait or op boundary)."""
        self.stop.set()
        self.final_stop.set()
        self.main_done.set()

    # -- workers ------------------------------------------------------------
    def _record(self, typ: str, process: Any, f: str, value: Any, error: Any = None,
                extra: dict[str, Any] | None = None) -> None:
        self.writer.record(typ, process, f, value, error=error, extra=extra)
        if typ != "invoke":
            self.observer.completed(typ)

    def _close_client(self, thread: int) -> None:
        c = self.clients[thread]
        self.clients[thread] = None
        if c is not None:
            try:
                c.close(timeout=2.0)
            except Exception:
                log.debug("closing client failed", exc_info=True)

    def run_phase(self, phase: Phase, *, join_timeout: float) -> None:
        """One worker thread per slot until the phase's generator is exhausted or it is stopped; waits at most `join_timeout` s."""
        threads = [
            threading.Thread(target=self._worker, args=(phase, t), name=f"prozess-worker-{t}", daemon=True)
            for t in range(self.concurrency)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + join_timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = [i for i, t in enumerate(threads) if t.is_alive()]
        if stuck:
            log.warning("workers still busy after the phase deadline (their ops stay open, i.e. indeterminate): %s",
                        ", ".join(threads[i].name for i in stuck))
        for i in stuck:
            # The stuck thread is still inside a call on this client: closing it (or handing it to the
            # next phase's worker) from another thread would free it under that call, which crashes
            # librdkafka. It is detached and left to its thread; the slot gets a fresh client.
            self.abandoned.append(self.clients[i])
            self.clients[i] = None

    def _worker(self, phase: Phase, thread: int) -> None:
        wl = self.workload
        n = self.concurrency
        backoff = 0.0
        # Ops of the final phase carry "final": true, so an offline check knows the catch-up reads.
        marks = {"final": True} if phase.name == "final" else None
        while not phase.stop.is_set():
            process = self.processes[thread]
            with phase.lock:
                o = phase.gen.op(Context(phase.now(), process, thread, n))
            if o is None:
                return
            if o is PENDING:
                phase.wait(0.01)
                continue
            start = o.get("time")
            if start is not None:
                delay = start - phase.now()
                if delay > 0 and phase.wait(delay):
                    return
            f, value = o["f"], o.get("value")
            error: Any = None
            typ: str
            result: Any = value
            # Topics and a client first; if either is impossible, the op certainly did not happen.
            try:
                self.topics.ensure(wl.keys_of(o))
            except Exception as e:
                error = f"topic setup: {e}"
            if error is None and self.clients[thread] is None and f != "crash":
                if backoff:
                    phase.wait(backoff)
                try:
                    self.clients[thread] = wl.open_client(process)
                    backoff = 0.0
                except Exception as e:
                    error = f"no client: {getattr(e, 'error', e)}"
                    backoff = min(2.0, (backoff or 0.1) * 2)
            client = self.clients[thread]  # this call's client, even if the slot is detached while it runs
            self._record("invoke", process, f, value, extra=marks)
            ctx = Context(phase.now(), process, thread, n)
            with phase.lock:
                phase.gen.update(ctx, {"type": "invoke", "process": process, "f": f, "value": value})
            if error is not None:
                typ = "fail"
            else:
                try:
                    if f == "crash" and client is None:
                        typ, result, error = "info", value, "crash: no client open"
                    else:
                        typ, result, error = wl.invoke(client, o)
                except Exception as e:
                    typ, result, error = "info", value, f"indeterminate: {type(e).__name__}: {e}"
                    log.debug("op crashed:\n%s", traceback.format_exc())
            self._record(typ, process, f, result, error, extra=marks)
            if phase.name == "main" and self.early.see(phase.now(), typ, error):
                log.error("stopping the run: %s", self.early.error)
                phase.stop.set()
            ctx = Context(phase.now(), process, thread, n)
            with phase.lock:
                phase.gen.update(ctx, {"type": typ, "process": process, "f": f, "value": result, "error": error})
            if self.clients[thread] is not client:
                # Detached at its phase's deadline while this call ran: the slot belongs to a later
                # worker now. The call is over, so this thread may close its client, and stops.
                self._close_abandoned(client)
                return
            if typ == "info":
                self._close_client(thread)
                self.processes[thread] = process + n

    def _close_abandoned(self, client: Any) -> None:
        with contextlib.suppress(ValueError):
            self.abandoned.remove(client)
        if client is not None:
            try:
                client.close(timeout=2.0)
            except Exception:
                log.debug("closing an abandoned client failed", exc_info=True)

    def close_clients(self) -> None:
        for t in range(self.concurrency):
            self._close_client(t)

    # -- the nemesis worker -------------------------------------------------
    def nemesis_loop(self, nemesis: NemesisWorker, rng: random.Random) -> None:
        try:
            sched = iter(nemesis.schedule(self.test, rng))
        except Exception as e:
            self.writer.record("info", NEMESIS, "schedule", None, error=f"{type(e).__name__}: {e}")
            return
        for _ in range(1_000_000):  # bounded; the time limit ends it long before
            if self.main_done.is_set() or self.stop.is_set():
                return
            try:
                delay, f, value = next(sched)
            except StopIteration:
                return
            except Exception as e:
                self.writer.record("info", NEMESIS, "schedule", None, error=f"{type(e).__name__}: {e}")
                return
            if delay > 0 and (self.clock.wait(self.main_done, delay) or self.stop.is_set()):
                return
            self.nemesis_op(nemesis, f, value)

    def heal(self, nemesis: NemesisWorker) -> None:
        """Heals every fault, recorded as a nemesis op pair `heal-all` (when the test has faults)."""
        if not self.faults:
            nemesis.heal_all()
            return
        self._nemesis_record("heal-all", None)
        try:
            result = nemesis.heal_all()
            self._nemesis_record("heal-all", result if _jsonable(result) else repr(result))
        except Exception as e:
            self._nemesis_record("heal-all", None, error=f"{type(e).__name__}: {e}")
        self.observer.fault("heal-all", None, False)

    def nemesis_op(self, nemesis: NemesisWorker, f: str, value: Any) -> None:
        self._nemesis_record(f, value)
        try:
            _typ, result = nemesis.invoke(f, value)
            done = self._nemesis_record(f, result)
        except Exception as e:
            done = self._nemesis_record(f, value, error=f"{type(e).__name__}: {e}")
        failed = done is None or bool(done.error) or (isinstance(done.value, dict) and bool(done.value.get("error")))
        self.observer.fault(f, value, failed)

    def _nemesis_record(self, f: str, value: Any, *, error: Any = None) -> Op | None:
        """Records a nemesis op and keeps it for the fault accounting (no re-read of the history)."""
        op = self.writer.record("info", NEMESIS, f, value, error=error)
        if op is not None:
            self.nemesis_ops.append(op)
        return op


def _jsonable(x: Any) -> bool:
    try:
        json.dumps(x)
        return True
    except (TypeError, ValueError):
        return False
