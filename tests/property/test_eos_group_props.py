"""The group checker against a simulated consumer group (an in-memory model, not Kafka).

A correct model (exclusive ownership, hand-over at the committed offset,
in-order delivery, commits of delivered positions) always checks valid; each
injected bug is always found.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.checkers.group import check_group
from prozess.history import History, Op


class Group:
    def __init__(self, partitions: int, members: int, bugs: frozenset[str] = frozenset()):
        self.ops: list[Op] = []
        self.P = partitions
        self.M = list(range(1, members + 1))
        self.bugs = set(bugs)
        self.done: set[str] = set()
        self.armed = False                          # bugs act only in the closing scenario, where they show
        self.log = [0] * partitions                 # records per partition
        self.committed = [-1] * partitions          # -1: nothing committed
        self.owner: dict[int, int | None] = {p: None for p in range(partitions)}
        self.pos: dict[int, int] = {}
        self.events: dict[int, dict] = {m: {"assigned": {}, "revoked": []} for m in self.M}

    def call(self, process: Any, f: str, inv: Any, value: Any) -> None:
        self.ops.append(Op(len(self.ops), len(self.ops), "invoke", process, f, inv))
        self.ops.append(Op(len(self.ops), len(self.ops), "ok", process, f, value))

    def bug(self, name: str) -> bool:
        return self.armed and name in self.bugs and name not in self.done

    def produce(self, p: int, n: int) -> None:
        recs = []
        for _ in range(n):
            recs.append([p, self.log[p], self.log[p] + 1000])
            self.log[p] += 1
        self.call(0, "produce", [[p, v] for p, _, v in recs], recs)

    def rebalance(self, shift: int) -> None:
        for p in range(self.P):
            new = self.M[(p + shift) % len(self.M)]
            old = self.owner[p]
            if old == new:
                continue
            if old is not None:
                if str(p) in self.events[old]["assigned"]:
                    del self.events[old]["assigned"][str(p)]  # assigned and revoked before it ever polled
                else:
                    self.events[old]["revoked"].append(p)
            self.owner[p] = new
            c = self.committed[p]
            start = max(c, 0)
            if self.bug("skip") and start < self.log[p]:
                start += 1
                self.done.add("skip")
            elif self.bug("rewind") and start > 0:
                start -= 1
                self.done.add("rewind")
            self.pos[p] = start
            self.events[new]["assigned"][str(p)] = c

    def poll(self, m: int, limit: int) -> None:
        recs: dict[str, list] = {}
        for p in range(self.P):
            if self.owner[p] != m:
                continue
            start = self.pos[p]
            # A repeat on the first poll after an assignment starts before the committed offset: that is a
            # resume-rewind, so the repeat is injected only into a member's later polls of the partition.
            if self.bug("repeat") and start > 0 and start < self.log[p] and str(p) not in self.events[m]["assigned"]:
                start -= 1
                self.done.add("repeat")
            end = min(self.log[p], start + limit)
            offs = list(range(start, end))
            if self.bug("gap") and len(offs) >= 3:
                offs.pop(1)
                self.done.add("gap")
            if offs:
                recs[str(p)] = [[o, o + 1000] for o in offs]
            self.pos[p] = max(self.pos[p], end)
        ev = self.events[m]
        self.events[m] = {"assigned": {}, "revoked": []}
        self.call(m, "poll", None, {"assigned": ev["assigned"], "revoked": ev["revoked"], "records": recs})

    def commit(self, m: int) -> None:
        offsets = {}
        for p in range(self.P):
            if self.owner[p] == m:
                x = self.pos[p]
                if self.bug("regress") and self.committed[p] > 0:
                    x = self.committed[p] - 1
                    self.done.add("regress")
                elif self.bug("undelivered") and x < self.log[p]:
                    x = self.pos[p] = self.log[p]  # skips ahead and commits past records never delivered
                    self.done.add("undelivered")
                self.committed[p] = x
                offsets[str(p)] = x
        self.call(m, "commit", None, {"offsets": offsets})

    def read_committed(self, final: bool = False) -> None:
        self.call(0, "committed", {"final": final},
                  {"final": final, "offsets": {str(p): c for p, c in enumerate(self.committed) if c >= 0}})

    def drain(self) -> None:
        self.bugs -= {"skip", "rewind", "repeat", "gap"}  # the drain itself is correct
        self.rebalance(0)
        for m in self.M:
            self.poll(m, 10_000)
            self.commit(m)
        self.call(0, "read-input", {"final": True}, {"records": {}, "ends": {str(p): n for p, n in enumerate(self.log)}})
        self.read_committed(final=True)


steps = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 7)), min_size=1, max_size=60)


def run(partitions: int, members: int, plan, bugs=frozenset(), scenario=False) -> Group:
    g = Group(partitions, members, frozenset(bugs))
    g.rebalance(0)
    for kind, arg in plan:
        if kind == 0:
            g.produce(arg % partitions, 1 + arg % 4)
        elif kind == 1:
            g.poll(g.M[arg % len(g.M)], 1 + arg % 3)
        elif kind == 2:
            g.commit(g.M[arg % len(g.M)])
        elif kind == 3:
            g.rebalance(arg)
        else:
            g.read_committed()
    if scenario:
        g.armed = True
        m = g.owner[0]
        g.produce(0, 6)
        g.poll(m, 1)
        g.commit(m)
        g.read_committed()
        g.poll(m, 3)          # gap / repeat
        g.commit(m)           # regress / undelivered
        g.read_committed()
        g.rebalance(g.M.index(g.owner[0]) + 1)  # hand partition 0 to another member: skip / rewind
        for x in g.M:
            g.poll(x, 2)
    g.drain()
    return g


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), steps)
def test_correct_group_is_valid(partitions, members, plan):
    r = check_group(History(run(partitions, members, plan).ops))
    assert r["anomaly-types"] == [], r["anomalies"]
    assert r["valid"] in (True, "unknown")
    if r["valid"] == "unknown":
        assert r["counts"]["records"] == 0, r


BUGS = {
    "skip": "resume-skip",
    "rewind": "resume-rewind",
    "gap": "delivery-gap",
    "repeat": "delivery-repeat",
    "regress": "offset-regression",
    "undelivered": "undelivered",
}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(BUGS)), st.integers(1, 4), st.integers(2, 3), steps)
def test_each_injected_bug_is_found(bug, partitions, members, plan):
    g = run(partitions, members, plan, {bug}, scenario=True)
    assert bug in g.done
    r = check_group(History(g.ops))
    assert r["valid"] is False and BUGS[bug] in r["anomaly-types"], (bug, r["anomaly-types"])
