"""The generic generator machinery: combinators and the deterministic simulator (no cluster)."""

from __future__ import annotations

import random

from prozess.generator import PENDING, Context, EachThread, Limit, Phases, Stagger, TimeLimit, dry_run


class Counter:
    """Emits {"f": "inc", "value": n} forever; records updates."""

    def __init__(self) -> None:
        self.n = 0
        self.events: list[dict] = []

    def op(self, ctx: Context):
        self.n += 1
        return {"f": "inc", "value": self.n}

    def update(self, ctx: Context, event: dict) -> None:
        self.events.append(event)


class Finite:
    def __init__(self, items):
        self.items = list(items)

    def op(self, ctx):
        return self.items.pop(0) if self.items else None

    def update(self, ctx, event):
        pass


def test_limit_stops_after_n_ops_across_threads():
    ops = dry_run(Limit(Counter(), 17), concurrency=4)
    assert len(ops) == 17
    assert [o["value"] for o in ops] == list(range(1, 18))


def test_time_limit_bounds_simulated_time():
    ops = dry_run(TimeLimit(Counter(), 1.0), concurrency=2, latency=0.01)
    assert ops and all(o["time"] < 1.0 for o in ops)
    assert 150 <= len(ops) <= 200


def test_stagger_holds_the_total_rate():
    rng = random.Random(3)
    ops = dry_run(TimeLimit(Stagger(Counter(), 100, rng), 10.0), concurrency=5, latency=0.001)
    assert 850 <= len(ops) <= 1150  # ~100 ops/s for 10 s
    times = [o["time"] for o in ops]
    assert times == sorted(times)


def test_stagger_is_seeded():
    def run(seed):
        return [o["time"] for o in dry_run(Limit(Stagger(Counter(), 50, random.Random(seed)), 200), concurrency=3)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_info_gives_the_thread_a_new_process():
    def complete(op):
        return ("info" if op["value"] == 2 else "ok"), op["value"]

    ops = dry_run(Limit(Counter(), 6), concurrency=2, complete=complete)
    procs = [o["process"] for o in ops]
    assert procs[:2] == [0, 1]
    # value 2 was run by process 1, which then becomes 1 + concurrency = 3.
    assert 3 in procs and procs.count(1) == 1


def test_each_thread_runs_its_own_generator():
    gen = EachThread(lambda t: Finite([{"f": "x", "value": t}] * 3))
    ops = dry_run(gen, concurrency=3)
    assert sorted(o["value"] for o in ops) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(o["value"] == o["process"] for o in ops)


def test_phases_run_in_order_for_all_threads():
    gen = Phases(Finite([{"f": "a"}] * 5), Finite([{"f": "b"}] * 5), concurrency=3)
    fs = [o["f"] for o in dry_run(gen, concurrency=3)]
    assert fs == ["a"] * 5 + ["b"] * 5


def test_pending_is_retried_not_fatal():
    class Once:
        def __init__(self):
            self.calls = 0

        def op(self, ctx):
            self.calls += 1
            if self.calls < 3:
                return PENDING
            return None if self.calls > 3 else {"f": "late"}

        def update(self, ctx, event):
            pass

    ops = dry_run(Once(), concurrency=1)
    assert [o["f"] for o in ops] == ["late"]
