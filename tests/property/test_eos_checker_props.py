"""The EOS checker against a simulated consume-transform-produce pipeline (an in-memory model, not Kafka).

A correct simulated pipeline (transactions that commit or abort, rebalances
that resume at the committed offsets, read_committed readers that stop at the
last stable offset) must always check valid; the same pipeline with one bug
injected must always show that bug's anomaly.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.checkers.eos import check_eos
from prozess.eos_model import transform_value
from prozess.history import History, Op


class Sim:
    """An in-memory EOS pipeline that records an `eos` history as it runs.

    Output partition p holds the transforms of input partition p. `bugs`
    names faults to inject: lose, duplicate, reorder, read-uncommitted,
    early-read, torn, skip, corrupt.
    """

    def __init__(self, partitions: int, transformers: int, bugs: frozenset[str] = frozenset()):
        self.ops: list[Op] = []
        self.P = partitions
        self.T = list(range(1, transformers + 1))
        self.bugs = set(bugs)
        self.inp: list[list[int]] = [[] for _ in range(partitions)]
        self.out: list[list[dict]] = [[] for _ in range(partitions)]
        self.group = [0] * partitions
        self.owner = {p: self.T[p % len(self.T)] for p in range(partitions)}
        self.pos = {p: 0 for p in range(partitions)}
        self.open: dict[int, dict] = {}
        self.seq: dict[int, int] = {}
        self.readers: dict[int, list[int]] = {}
        self.next_v = 1
        self.done: set[str] = set()  # bugs already injected

    # -- recording --
    def call(self, process: Any, f: str, inv: Any, value: Any, type: str = "ok") -> int:
        self.ops.append(Op(len(self.ops), len(self.ops), "invoke", process, f, inv))
        self.ops.append(Op(len(self.ops), len(self.ops), type, process, f, value))
        return len(self.ops) - 1

    def bug(self, name: str) -> bool:
        return name in self.bugs and name not in self.done

    # -- steps --
    def produce(self, p: int, n: int) -> None:
        recs = []
        for _ in range(n):
            v = self.next_v
            self.next_v += 1
            self.inp[p].append(v)
            recs.append([p, len(self.inp[p]) - 1, v])
        self.call(0, "produce", [[p, v] for p, _, v in recs], recs)

    def transform(self, t: int, limit: int = 3) -> None:
        if t in self.open:
            return
        ins = []
        for p in range(self.P):
            if self.owner[p] == t:
                for off in range(self.pos[p], min(len(self.inp[p]), self.pos[p] + limit)):
                    ins.append([p, off, self.inp[p][off]])
        if not ins:
            self.call(t, "transform", None, {"txn": None, "in": [], "out": [], "offsets": {}})
            return
        n = self.seq.get(t, 0)
        self.seq[t] = n + 1
        tid = f"{t}.{n}"
        by_p: dict[int, list] = {}
        for r in ins:
            by_p.setdefault(r[0], []).append(r)
        outs = []
        for p, rs in by_p.items():
            for _, off, v in rs:
                rec = {"src": off, "v": transform_value(v), "txn": tid, "status": "pending"}
                self.out[p].append(rec)
                outs.append([p, len(self.out[p]) - 1, p, off, rec["v"]])
        offsets = {}
        for p, rs in by_p.items():
            self.pos[p] = max(r[1] for r in rs) + 1
            offsets[str(p)] = self.pos[p]
        self.open[t] = {"txn": tid, "outs": outs, "offsets": offsets}
        self.call(t, "transform", None, {"txn": tid, "in": ins, "out": outs, "offsets": offsets})

    def finish(self, t: int, commit: bool) -> None:
        txn = self.open.pop(t, None)
        if txn is None:
            return
        if commit and self.bug("early-read"):
            self.read(50)
            self.done.add("early-read")
        status = "committed" if commit else "aborted"
        for p, off, *_ in txn["outs"]:
            self.out[p][off]["status"] = status
        if commit:
            same = [o for o in txn["outs"] if o[0] == txn["outs"][0][0]] if txn["outs"] else []
            if self.bug("reorder") and len(same) >= 2:
                a, b = self.out[same[0][0]][same[0][1]], self.out[same[1][0]][same[1][1]]
                a["src"], b["src"], a["v"], b["v"] = b["src"], a["src"], b["v"], a["v"]  # written in the wrong order
                self.done.add("reorder")
            if self.bug("corrupt") and txn["outs"]:
                p, off, *_ = txn["outs"][-1]
                self.out[p][off]["v"] += 1
                self.done.add("corrupt")
            if self.bug("lose") and txn["outs"]:
                p, off, *_ = txn["outs"][0]
                self.out[p][off]["status"] = "lost"
                self.done.add("lose")
            for p, nxt in txn["offsets"].items():
                if self.bug("duplicate"):
                    self.done.add("duplicate")
                    self.pos[int(p)] = self.group[int(p)]  # offsets not committed, consumer rewound
                    continue
                self.group[int(p)] = nxt
            self.call(t, "commit", {"txn": txn["txn"]}, {"txn": txn["txn"]})
        else:
            for p in txn["offsets"]:
                self.pos[int(p)] = self.group[int(p)]
            self.call(t, "abort", {"txn": txn["txn"]}, {"txn": txn["txn"]})
            if self.bug("read-uncommitted"):
                self.read(60)
                self.done.add("read-uncommitted")

    def rebalance(self, shift: int) -> None:
        for t in list(self.open):
            self.finish(t, True)
        for p in range(self.P):
            self.owner[p] = self.T[(p + shift) % len(self.T)]
            self.pos[p] = self.group[p]

    def read(self, r: int, final: bool = False) -> None:
        pos = self.readers.setdefault(r, [0] * self.P)
        uncommitted = "read-uncommitted" in self.bugs or r == 50
        recs: dict[str, list] = {}
        ends: dict[str, int] = {}
        for p in range(self.P):
            got = []
            off = pos[p]
            log = self.out[p]
            while off < len(log):
                rec = log[off]
                st_ = rec["status"]
                if st_ == "pending" and not uncommitted:
                    break  # the last stable offset
                visible = st_ == "committed" or (uncommitted and st_ in ("pending", "aborted"))
                if visible and not final and self.bug("torn") and st_ == "committed" and off + 1 < len(log) \
                        and log[off + 1]["txn"] == rec["txn"] and log[off + 1]["status"] == "committed":
                    visible = False  # shows the txn's second record but not its first
                    self.done.add("torn")
                elif visible and not final and self.bug("skip") and st_ == "committed" and off + 1 < len(log) \
                        and log[off + 1]["txn"] != rec["txn"] and log[off + 1]["status"] == "committed" \
                        and all(x["txn"] != rec["txn"] for x in log[:off]):
                    visible = False
                    self.done.add("skip")
                if visible:
                    got.append([off, p, rec["src"], rec["v"], rec["txn"]])
                off += 1
            pos[p] = off
            if got:
                recs[str(p)] = got
            ends[str(p)] = off
        value: dict[str, Any] = {"final": final, "records": recs}
        if final:
            value["ends"] = ends
        self.call(r, "read-output", {"final": final}, value)

    def drain(self) -> None:
        for t in list(self.open):
            self.finish(t, True)
        for _ in range(1000):
            if all(self.group[p] >= len(self.inp[p]) and self.pos[p] >= len(self.inp[p]) for p in range(self.P)):
                break
            for t in self.T:
                self.transform(t, limit=100)
                self.finish(t, True)
            self.bugs.discard("duplicate")  # only once: the drain must terminate
        self.read(999, final=True)
        self.call(999, "read-input", {"final": True}, {"records": {str(p): [[o, v] for o, v in enumerate(self.inp[p])]
                                                                  for p in range(self.P) if self.inp[p]}})
        self.call(999, "group-offsets", None, {"offsets": {str(p): self.group[p] for p in range(self.P)}})

    def history(self) -> History:
        return History(self.ops)


steps = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7)), min_size=1, max_size=60)


def run(partitions: int, transformers: int, plan: list[tuple[int, int]], bugs=frozenset(), scenario=False) -> Sim:
    sim = Sim(partitions, transformers, frozenset(bugs))
    for kind, arg in plan:
        if kind == 0:
            sim.produce(arg % partitions, 1 + arg % 3)
        elif kind == 1:
            sim.transform(sim.T[arg % len(sim.T)])
        elif kind == 2:
            sim.finish(sim.T[arg % len(sim.T)], commit=arg % 4 != 0)
        elif kind == 3:
            sim.rebalance(arg)
        elif kind == 4:
            sim.read(100 + arg % 2)
        else:
            sim.finish(sim.T[arg % len(sim.T)], commit=False)
    if scenario:
        # make sure the bug gets its chance: a multi-record txn, an abort, reads in between
        for t in list(sim.open):
            sim.finish(t, True)
        t0 = sim.owner[0]
        sim.produce(0, 3)
        sim.transform(t0, limit=3)
        sim.finish(t0, commit=False)        # abort (read-uncommitted reads here)
        sim.transform(t0, limit=3)          # early-read happens just before its commit
        sim.finish(t0, commit=True)         # lose / duplicate act here
        sim.produce(0, 2)
        sim.transform(t0, limit=1)
        sim.finish(t0, commit=True)
        sim.transform(t0, limit=1)
        sim.finish(t0, commit=True)
        sim.read(200)                       # torn / skip show here
    sim.drain()
    return sim


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), steps)
def test_correct_pipeline_is_valid(partitions, transformers, plan):
    sim = run(partitions, transformers, plan)
    r = check_eos(sim.history())
    assert r["anomaly-types"] == [], r["anomalies"]
    assert r["valid"] is True or (r["valid"] == "unknown" and r["counts"]["inputs"] == 0), r


BUGS = {
    "lose": "lost-input",
    "duplicate": "duplicate-output",
    "reorder": "reordered-output",
    "read-uncommitted": "G1a",
    "early-read": "read-before-commit",
    "torn": "torn-transaction",
    "skip": "skipped-output",
    "corrupt": "wrong-source",
}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(BUGS)), st.integers(1, 4), st.integers(1, 3), steps)
def test_each_injected_bug_is_found(bug, partitions, transformers, plan):
    sim = run(partitions, transformers, plan, {bug}, scenario=True)
    assert bug in sim.done, f"the simulation never injected {bug}"
    r = check_eos(sim.history())
    assert r["valid"] is False
    assert BUGS[bug] in r["anomaly-types"], (bug, r["anomaly-types"])
    for entry in r["anomalies"].values():
        for ex in entry["examples"]:
            assert ex["explanation"] and ex["ops"]
