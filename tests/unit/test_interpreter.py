"""The interpreter (generator -> workers -> history, the nemesis as one more worker) without a cluster.

Fakes stand in for the workload's clients, the topic manager, the nemesis and (where time matters)
the clock, as Jepsen's own interpreter tests do: the point here is the interpreter's bookkeeping
(process ids, op pairs, phases, bounds), which a real cluster would only make slower and
nondeterministic. The real parts are exercised end to end by the integration tests
(`tests/integration/test_runner_*.py`, `test_fault_accounting.py`). The history goes through the real
`SafeWriter` to a JSON Lines file and is read back with `read_history`, so every history asserted
here is also a well-formed one (no double invoke, no completion without its invocation).

The verdict downgrades of the lifecycle (`prozess.runner.downgrade_verdict`) are pure and tested
at the end.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from prozess.generator import PENDING, EachThread
from prozess.history import NEMESIS, read_history
from prozess.interpreter import Bounds, Interpreter, Phase, SafeWriter
from prozess.runner import downgrade_verdict


# -- fakes -----------------------------------------------------------------------


class FakeClock:
    """A clock that moves only when someone waits on it or calls `advance`: exact times, no sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.advance(seconds)
        return event.is_set()


class FakeClient:
    def __init__(self, workload: "FakeWorkload", process: int):
        self.workload = workload
        self.process = process

    def close(self, timeout: float = 0.0) -> None:
        self.workload.closed.append(self.process)


class FakeWorkload:
    """The client side of a workload, scripted by op value: "ok", "fail", "info", an exception to raise, or a callable."""

    def __init__(self, outcomes: dict[Any, Any] | None = None, *, open_error: Exception | None = None,
                 clock: FakeClock | None = None, op_seconds: float = 0.0):
        self.outcomes = outcomes or {}
        self.open_error = open_error
        self.clock = clock
        self.op_seconds = op_seconds
        self.opened: list[int] = []
        self.closed: list[int] = []
        self.invoked: list[tuple[int, str, Any]] = []  # (process of the client, f, value)

    def keys_of(self, op: dict[str, Any]) -> list[Any]:
        return op.get("keys", [])

    def open_client(self, process: int) -> FakeClient:
        if self.open_error is not None:
            raise self.open_error
        self.opened.append(process)
        return FakeClient(self, process)

    def invoke(self, client: FakeClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        self.invoked.append((client.process, op["f"], op.get("value")))
        if self.clock is not None:
            self.clock.advance(self.op_seconds)
        out = self.outcomes.get(op.get("value"), "ok")
        if isinstance(out, BaseException):
            raise out
        if callable(out):
            return out(op)
        return out, op.get("value"), None if out == "ok" else f"scripted {out}"


class FakeTopics:
    def __init__(self, broken: set[Any] = frozenset()):  # type: ignore[assignment]
        self.broken = broken
        self.ensured: list[Any] = []

    def ensure(self, keys: Any) -> None:
        for k in keys:
            if k in self.broken:
                raise RuntimeError(f"cannot create topic for key {k}")
            self.ensured.append(k)


class FakeNemesis:
    """Schedules the given steps; `invoke` raises for f "boom"; counts heals."""

    def __init__(self, steps: list[tuple[float, str, Any]] = (), *, schedule_error: Exception | None = None):  # type: ignore[assignment]
        self.steps = list(steps)
        self.schedule_error = schedule_error
        self.invoked: list[tuple[str, Any]] = []
        self.heals = 0
        self.calls: list[str] = []  # order of calls, shared with the generators in phase tests
        self.done = threading.Event()

    def schedule(self, test: dict[str, Any], rng: random.Random) -> Any:
        if self.schedule_error is not None:
            raise self.schedule_error
        yield from self.steps
        self.done.set()

    def invoke(self, f: str, value: Any) -> tuple[str, Any]:
        self.invoked.append((f, value))
        if f == "boom":
            raise RuntimeError("no such node")
        return "info", {"applied": f}

    def heal_all(self) -> Any:
        self.heals += 1
        self.calls.append("heal_all")
        return "healed"


class Script:
    """Emits the given ops in order, then is exhausted (a generator of the `prozess.generator` kind)."""

    def __init__(self, ops: list[dict[str, Any]]):
        self.ops = list(ops)
        self.events: list[dict[str, Any]] = []

    def op(self, ctx: Any) -> Any:
        return dict(self.ops.pop(0)) if self.ops else None

    def update(self, ctx: Any, event: dict[str, Any]) -> None:
        self.events.append(event)


class Forever:
    """Emits {"f": f, "value": n} for n = 1, 2, ... without end."""

    def __init__(self, f: str = "send"):
        self.f = f
        self.n = 0

    def op(self, ctx: Any) -> Any:
        self.n += 1
        return {"f": self.f, "value": self.n}

    def update(self, ctx: Any, event: dict[str, Any]) -> None:
        pass


class Observer:
    def __init__(self) -> None:
        self.phases: list[str] = []
        self.completions: list[str] = []
        self.faults: list[tuple[str, Any, bool]] = []

    def phase(self, name: str) -> None:
        self.phases.append(name)

    def completed(self, type: str) -> None:
        self.completions.append(type)

    def fault(self, f: str, value: Any, failed: bool) -> None:
        self.faults.append((f, value, failed))


def ops(n: int, f: str = "send") -> list[dict[str, Any]]:
    return [{"f": f, "value": v} for v in range(1, n + 1)]


def bounds(**kw: Any) -> Bounds:
    base: dict[str, Any] = {"time_limit_s": 60.0, "op_limit": None, "final_time_limit_s": 60.0, "op_timeout_s": 1.0,
                            "join_slack_s": 10.0}
    base.update(kw)
    return Bounds(**base)


def history(tmp_path) -> list[tuple[Any, ...]]:
    """(process, type, f, value, error) of every op, in history order."""
    return [(o.process, o.type, o.f, o.value, o.error) for o in read_history(tmp_path / "history.jsonl")]


def make(tmp_path, workload: FakeWorkload, *, concurrency: int = 1, topics: FakeTopics | None = None, **kw: Any) -> Interpreter:
    writer = SafeWriter(tmp_path / "history.jsonl")
    return Interpreter(workload, topics or FakeTopics(), writer, concurrency=concurrency, **kw)


def run_one_phase(interp: Interpreter, gen: Any, name: str = "main", *, clock: Any = None, timeout: float = 10.0) -> None:
    interp.run_phase(Phase(name, gen, interp.stop, clock), join_timeout=timeout)


# -- process replacement, crashes, exceptions ------------------------------------


def test_an_info_completion_gives_the_thread_a_new_process_and_a_new_client(tmp_path):
    wl = FakeWorkload({2: "info", 4: "fail"})
    interp = make(tmp_path, wl)
    gen = Script(ops(4))
    run_one_phase(interp, gen)
    assert history(tmp_path) == [
        (0, "invoke", "send", 1, None), (0, "ok", "send", 1, None),
        (0, "invoke", "send", 2, None), (0, "info", "send", 2, "scripted info"),
        (1, "invoke", "send", 3, None), (1, "ok", "send", 3, None),       # process 0 + concurrency 1
        (1, "invoke", "send", 4, None), (1, "fail", "send", 4, "scripted fail"),  # fail keeps the process
    ]
    assert wl.opened == [0, 1] and wl.closed == [0]  # the abandoned client is closed, a fresh one opened
    # the generator hears every invocation and completion, with the process that made it
    assert [(e["type"], e["process"], e["value"]) for e in gen.events] == [
        ("invoke", 0, 1), ("ok", 0, 1), ("invoke", 0, 2), ("info", 0, 2),
        ("invoke", 1, 3), ("ok", 1, 3), ("invoke", 1, 4), ("fail", 1, 4)]


def test_processes_are_replaced_per_thread_by_p_plus_concurrency(tmp_path):
    # Three threads, each with its own ops; every thread's first op ends info, thread 1's second one too.
    per_thread = {t: [{"f": "send", "value": f"t{t}-{i}"} for i in range(3)] for t in range(3)}
    wl = FakeWorkload({"t0-0": "info", "t1-0": "info", "t1-1": "info", "t2-0": "info"})
    interp = make(tmp_path, wl, concurrency=3)
    run_one_phase(interp, EachThread(lambda t: Script(per_thread[t])))
    by_process: dict[int, list[tuple[str, Any]]] = {}
    for p, typ, _f, value, _e in history(tmp_path):
        by_process.setdefault(p, []).append((typ, value))
    assert by_process == {
        0: [("invoke", "t0-0"), ("info", "t0-0")],
        3: [("invoke", "t0-1"), ("ok", "t0-1"), ("invoke", "t0-2"), ("ok", "t0-2")],
        1: [("invoke", "t1-0"), ("info", "t1-0")],
        4: [("invoke", "t1-1"), ("info", "t1-1")],
        7: [("invoke", "t1-2"), ("ok", "t1-2")],
        2: [("invoke", "t2-0"), ("info", "t2-0")],
        5: [("invoke", "t2-1"), ("ok", "t2-1"), ("invoke", "t2-2"), ("ok", "t2-2")],
    }
    assert interp.processes == [3, 7, 5]
    assert sorted(wl.opened) == [0, 1, 2, 3, 4, 5, 7]


def test_a_client_that_raises_gives_an_indeterminate_info_never_a_lost_op(tmp_path):
    wl = FakeWorkload({1: RuntimeError("connection reset"), 2: KeyError("k")})
    interp = make(tmp_path, wl)
    run_one_phase(interp, Script(ops(3)))
    assert history(tmp_path) == [
        (0, "invoke", "send", 1, None), (0, "info", "send", 1, "indeterminate: RuntimeError: connection reset"),
        (1, "invoke", "send", 2, None), (1, "info", "send", 2, "indeterminate: KeyError: 'k'"),
        (2, "invoke", "send", 3, None), (2, "ok", "send", 3, None),
    ]
    assert wl.closed == [0, 1]


def test_crash_ops_end_info_and_replace_the_process_with_or_without_an_open_client(tmp_path):
    crash = lambda op: ("info", op.get("value"), "crashed on purpose")  # noqa: E731  (what a workload's crash returns)
    wl = FakeWorkload({"c2": crash})
    interp = make(tmp_path, wl)
    run_one_phase(interp, Script([{"f": "crash", "value": "c1"}, {"f": "send", "value": 1}, {"f": "crash", "value": "c2"},
                                  {"f": "send", "value": 2}]))
    assert history(tmp_path) == [
        (0, "invoke", "crash", "c1", None), (0, "info", "crash", "c1", "crash: no client open"),  # no client was opened for it
        (1, "invoke", "send", 1, None), (1, "ok", "send", 1, None),
        (1, "invoke", "crash", "c2", None), (1, "info", "crash", "c2", "crashed on purpose"),  # through the open client
        (2, "invoke", "send", 2, None), (2, "ok", "send", 2, None),
    ]
    assert wl.opened == [1, 2] and wl.closed == [1]
    assert wl.invoked == [(1, "send", 1), (1, "crash", "c2"), (2, "send", 2)]


def test_an_op_that_cannot_get_its_topic_or_a_client_fails_without_being_sent(tmp_path):
    clock = FakeClock()
    wl = FakeWorkload()
    interp = make(tmp_path, wl, topics=FakeTopics(broken={"bad"}), clock=clock)
    run_one_phase(interp, Script([{"f": "send", "value": 1, "keys": ["bad"]}, {"f": "send", "value": 2, "keys": ["good"]}]), clock=clock)
    assert history(tmp_path) == [
        (0, "invoke", "send", 1, None), (0, "fail", "send", 1, "topic setup: cannot create topic for key bad"),
        (0, "invoke", "send", 2, None), (0, "ok", "send", 2, None),  # fail: same process, it never sent anything
    ]
    assert wl.invoked == [(0, "send", 2)]

    tmp2 = tmp_path / "noclient"
    tmp2.mkdir()
    wl = FakeWorkload(open_error=RuntimeError("acks must be all"))
    interp = make(tmp2, wl, clock=clock)
    t0 = clock.now()
    run_one_phase(interp, Script(ops(3)), clock=clock)
    assert history(tmp2) == [(0, t, "send", v, e) for v in (1, 2, 3)
                             for t, e in (("invoke", None), ("fail", "no client: acks must be all"))]
    assert wl.invoked == []
    assert clock.now() - t0 == pytest.approx(0.2 + 0.4)  # backing off between attempts to build a client, 0.1 s doubled


# -- phases ----------------------------------------------------------------------


def test_main_heal_final_phases_in_order_with_final_ops_marked(tmp_path):
    nem = FakeNemesis()
    obs = Observer()
    interp = make(tmp_path, FakeWorkload(), faults=True, observer=obs)

    def final() -> Script:
        nem.calls.append("final generator")
        return Script([{"f": "poll", "value": "catch-up"}])

    assert interp.run(Script(ops(2)), final, nem, random.Random(1), bounds()) is None
    h = read_history(tmp_path / "history.jsonl")
    assert [(o.process, o.type, o.f, o.value) for o in h] == [
        (0, "invoke", "send", 1), (0, "ok", "send", 1), (0, "invoke", "send", 2), (0, "ok", "send", 2),
        (NEMESIS, "info", "heal-all", None), (NEMESIS, "info", "heal-all", "healed"),
        (0, "invoke", "poll", "catch-up"), (0, "ok", "poll", "catch-up"),
    ]
    assert [bool(o.extra and o.extra.get("final")) for o in h] == [False] * 6 + [True, True]
    assert nem.calls == ["heal_all", "final generator"]  # the final generator is made after healing
    assert obs.phases == ["main", "heal", "final"]
    assert obs.completions == ["ok", "ok", "ok"]
    assert obs.faults == [("heal-all", None, False)]
    assert [o.f for o in interp.nemesis_ops] == ["heal-all", "heal-all"]


def test_a_test_without_faults_heals_without_recording_it(tmp_path):
    nem = FakeNemesis()
    interp = make(tmp_path, FakeWorkload(), faults=False)
    interp.run(Script(ops(1)), lambda: Script([]), nem, random.Random(1), bounds())
    assert nem.heals == 1
    assert [p for p, *_ in history(tmp_path)] == [0, 0]


def test_the_main_phase_is_bounded_by_the_op_limit(tmp_path):
    wl = FakeWorkload()
    interp = make(tmp_path, wl, concurrency=3)
    interp.run(Forever(), lambda: Script([]), FakeNemesis(), random.Random(1), bounds(op_limit=7, time_limit_s=3.0))
    h = history(tmp_path)
    assert sorted(v for _p, t, _f, v, _e in h if t == "invoke") == list(range(1, 8))
    assert len(h) == 14


def test_the_main_phase_is_bounded_by_its_time_limit(tmp_path):
    clock = FakeClock()
    wl = FakeWorkload(clock=clock, op_seconds=1.0)  # every op takes one second of the fake clock
    interp = make(tmp_path, wl, clock=clock)
    interp.run(Forever(), lambda: Script([]), FakeNemesis(), random.Random(1), bounds(time_limit_s=5.0))
    assert [v for _p, t, _f, v, _e in history(tmp_path) if t == "invoke"] == [1, 2, 3, 4, 5]  # started at 0, 1, 2, 3, 4 s


def test_after_a_stop_the_final_reads_run_for_at_most_interrupted_final_s(tmp_path):
    clock = FakeClock()
    stop = threading.Event()
    wl = FakeWorkload({2: lambda op: (stop.set(), ("ok", 2, None))[1]}, clock=clock, op_seconds=1.0)  # a SIGINT during op 2
    interp = make(tmp_path, wl, clock=clock, stop=stop)
    interp.run(Forever(), lambda: Forever("poll"), FakeNemesis(), random.Random(1),
               bounds(final_time_limit_s=100.0, interrupted_final_s=3.0))
    h = history(tmp_path)
    assert [(f, v) for _p, t, f, v, _e in h if t == "invoke"] == [("send", 1), ("send", 2), ("poll", 1), ("poll", 2), ("poll", 3)]


def test_a_worker_stuck_past_the_phase_deadline_is_left_with_its_op_open(tmp_path):
    release = threading.Event()
    wl = FakeWorkload({1: lambda op: (release.wait(30), ("ok", 1, None))[1]})
    interp = make(tmp_path, wl)
    t0 = time.monotonic()
    interp.run(Script(ops(1)), lambda: Script([]), FakeNemesis(), random.Random(1),
               bounds(time_limit_s=0.1, op_timeout_s=0.0, join_slack_s=0.3))
    took = time.monotonic() - t0
    try:
        assert took < 5.0  # bounded by time limit + 3 op timeouts + slack, not by the stuck call
        assert history(tmp_path) == [(0, "invoke", "send", 1, None)]  # open: indeterminate
    finally:
        interp.halt()
        interp.writer.close()  # type: ignore[attr-defined]
        release.set()


def test_halt_ends_a_phase_that_would_otherwise_wait_forever(tmp_path):
    class Waiting:
        def op(self, ctx):
            return PENDING

        def update(self, ctx, event):
            pass

    interp = make(tmp_path, FakeWorkload())
    threading.Timer(0.2, interp.halt).start()
    t0 = time.monotonic()
    run_one_phase(interp, Waiting(), timeout=30)
    assert time.monotonic() - t0 < 5.0
    # the final phase has its own stop event (a first Ctrl-C ends the main phase only); halt sets it too
    interp = make(tmp_path, FakeWorkload())
    threading.Timer(0.2, interp.halt).start()
    t0 = time.monotonic()
    interp.run_phase(Phase("final", Waiting(), interp.final_stop), join_timeout=30)
    assert time.monotonic() - t0 < 5.0
    assert (tmp_path / "history.jsonl").read_bytes() == b""  # nothing was invoked


def test_every_op_failing_the_same_way_stops_the_main_phase_early(tmp_path):
    clock = FakeClock()
    nem = FakeNemesis()
    finals: list[str] = []
    wl = FakeWorkload(open_error=RuntimeError("acks must be all"))
    interp = make(tmp_path, wl, clock=clock, early_stop_after_s=0.5, faults=True)
    err = interp.run(Forever(), lambda: finals.append("made") or Script([]), nem, random.Random(1), bounds())
    assert err == ("every op of the first 1 s failed the same way (3 ops): no client: acks must be all; "
                   "the run stopped early")
    assert len(history(tmp_path)) == 6  # three failed ops: at 0, 0.2 and 0.6 s (backoff), then the stop
    assert finals == [] and nem.heals == 0  # no heal, no final phase: the lifecycle's teardown heals


# -- the nemesis worker -----------------------------------------------------------


class UntilNemesisDone:
    """One op, but only once the nemesis has walked its schedule (so the main phase outlasts it)."""

    def __init__(self, nem: FakeNemesis):
        self.nem = nem
        self.sent = False

    def op(self, ctx):
        if self.sent:
            return None
        if not self.nem.done.is_set():
            return PENDING
        self.sent = True
        return {"f": "send", "value": 1}

    def update(self, ctx, event):
        pass


def test_the_nemesis_is_one_more_worker_whose_actions_are_info_pairs_in_the_history(tmp_path):
    nem = FakeNemesis([(0.0, "kill-start", {"node": "n1"}), (0.01, "kill-stop", None), (0.0, "boom", ["n9"])])
    obs = Observer()
    interp = make(tmp_path, FakeWorkload(), faults=True, observer=obs)
    interp.run(UntilNemesisDone(nem), lambda: Script([]), nem, random.Random(1), bounds(time_limit_s=20.0))
    h = history(tmp_path)
    nemesis = [(t, f, v, e) for p, t, f, v, e in h if p == NEMESIS]
    assert nemesis == [
        ("info", "kill-start", {"node": "n1"}, None), ("info", "kill-start", {"applied": "kill-start"}, None),
        ("info", "kill-stop", None, None), ("info", "kill-stop", {"applied": "kill-stop"}, None),
        ("info", "boom", ["n9"], None), ("info", "boom", ["n9"], "RuntimeError: no such node"),  # raised: recorded, not lost
        ("info", "heal-all", None, None), ("info", "heal-all", "healed", None),
    ]
    # all nemesis actions come before the client op that waited for them, and the heal after it
    procs = [p for p, *_ in h]
    assert procs == [NEMESIS] * 6 + [0, 0] + [NEMESIS] * 2
    assert nem.invoked == [("kill-start", {"node": "n1"}), ("kill-stop", None), ("boom", ["n9"])]
    assert obs.faults == [("kill-start", {"node": "n1"}, False), ("kill-stop", None, False), ("boom", ["n9"], True),
                          ("heal-all", None, False)]
    assert [(o.f, o.value) for o in interp.nemesis_ops] == [(t[1], t[2]) for t in nemesis]


def test_a_schedule_that_raises_is_recorded_and_the_run_goes_on(tmp_path):
    nem = FakeNemesis(schedule_error=ValueError("bad fault mix"))
    interp = make(tmp_path, FakeWorkload())
    interp.run(Script(ops(1)), lambda: Script([]), nem, random.Random(1), bounds())
    h = history(tmp_path)
    assert (NEMESIS, "info", "schedule", None, "ValueError: bad fault mix") in h
    assert [(p, t) for p, t, *_ in h if p != NEMESIS] == [(0, "invoke"), (0, "ok")]


def test_the_nemesis_stops_with_the_main_phase(tmp_path):
    # An endless schedule with long gaps: the nemesis worker ends when the main phase does, not at its next step.
    steps = ((30.0, "kill-start", None) for _ in iter(int, 1))
    nem = FakeNemesis()
    nem.steps = steps  # type: ignore[assignment]
    interp = make(tmp_path, FakeWorkload(), faults=False)
    t0 = time.monotonic()
    interp.run(Script(ops(1)), lambda: Script([]), nem, random.Random(1), bounds())
    assert time.monotonic() - t0 < 10.0
    assert nem.invoked == []


# -- verdict downgrades (the lifecycle's, pure) ----------------------------------


def test_a_requested_fault_that_could_not_be_applied_makes_a_pass_unknown():
    res = {"valid": True, "anomaly-types": []}
    out = downgrade_verdict(res, unavailable_faults={"link": "needs sch_netem, which this kernel lacks"})
    assert out == {"valid": "unknown", "anomaly-types": [], "unavailable-faults": {"link": "needs sch_netem, which this kernel lacks"},
                   "error": "fault link needs sch_netem, which this kernel lacks"}
    assert res == {"valid": True, "anomaly-types": []}  # the input is left as it was


def test_an_unavailable_fault_keeps_an_anomaly_and_an_earlier_error():
    out = downgrade_verdict({"valid": False, "anomaly-types": ["lost-write"]}, unavailable_faults={"link": "x"})
    assert out["valid"] is False and out["unavailable-faults"] == {"link": "x"} and "error" not in out
    out = downgrade_verdict({"valid": True, "error": "first reason"}, unavailable_faults={"link": "x"})
    assert out == {"valid": "unknown", "error": "first reason", "unavailable-faults": {"link": "x"}}


def test_missing_apis_make_the_run_unknown_whatever_the_checkers_said():
    apis = {"transactions": ["InitProducerId"]}
    for valid in (True, False, "unknown"):
        out = downgrade_verdict({"valid": valid}, unavailable_apis=apis, error="unavailable: transactions needs InitProducerId")
        assert out == {"valid": "unknown", "unavailable": apis, "error": "unavailable: transactions needs InitProducerId"}


def test_a_run_that_broke_off_on_an_error_is_unknown_but_an_interrupted_one_keeps_its_verdict():
    assert downgrade_verdict({"valid": True}, error="TimeoutError: brokers gone") == {"valid": "unknown", "error": "TimeoutError: brokers gone"}
    assert downgrade_verdict({"valid": True}, error="interrupted (second SIGINT)", interrupted=True) == {"valid": True}
    assert downgrade_verdict({"valid": False}, error="boom") == {"valid": False}
    assert downgrade_verdict({"valid": True, "error": "kept"}, error="boom") == {"valid": "unknown", "error": "kept"}


def test_a_clean_run_keeps_its_verdict():
    res = {"valid": True, "anomaly-types": [], "run": {"ops": 10}}
    out = downgrade_verdict(res, unavailable_apis=None, unavailable_faults={}, error=None)
    assert out == res and out is not res


def test_a_stuck_workers_client_is_never_closed_under_its_call(tmp_path):
    """Closing a librdkafka client while another thread is inside a call on it crashes the process:
    the client of a worker left stuck at the deadline is detached, not closed, until its call returns."""
    release = threading.Event()
    wl = FakeWorkload({1: lambda op: (release.wait(30), ("ok", 1, None))[1]})
    interp = make(tmp_path, wl)
    interp.run(Script(ops(1)), lambda: Script([]), FakeNemesis(), random.Random(1),
               bounds(time_limit_s=0.1, op_timeout_s=0.0, join_slack_s=0.3))
    try:
        interp.close_clients()  # what the runner does at teardown
        assert wl.closed == [] and len(interp.abandoned) == 1  # the stuck call still holds its client
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while wl.closed != [0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wl.closed == [0] and interp.abandoned == []  # its own thread closed it once the call returned
    interp.writer.close()  # type: ignore[attr-defined]
