"""The txn checker gives the same result, to the letter, as the recorded one on a fixed set of histories.

The recorded results (`txn_differential.json`) pin the whole output of `prozess.checkers.txn.check`
— verdict, anomaly and informational types, counts, examples, explanations and graph statistics —
on every saved history under tests/histories/ (with and without ww dependencies) and on simulated
histories with one injected anomaly each. A change to how the checker is built (graph building,
cycle search, classification, explanation) must leave every one of them unchanged; a change that
means to alter results re-records them, and the diff shows what moved:

    .venv/bin/python tests/unit/test_txn_differential.py --record

The searches stop on wall-clock budgets; generous ones here make each result depend on the
history alone, not on how busy the machine is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.checkers import txn, txn_cycles, txn_graph
from prozess.checkers.analysis import analyze
from prozess.checkers.result import jsonable
from prozess.history import read_history
from prozess.simulate import inject, simulate

HERE = Path(__file__).parent
RECORDED = HERE / "txn_differential.json"
HISTORIES = HERE.parent / "histories"
SAVED = sorted(p for p in HISTORIES.rglob("history.*") if p.suffix in (".jsonl", ".edn"))
INJECTED = ("G1c-realtime", "G1a", "duplicate", "lost-write", "nonmonotonic-send", "poll-skip")
BUDGETS = {"info_seconds": 120.0, "seconds": 600.0}


def _cases() -> dict[str, tuple]:
    """name -> (ops or history, test) for every differential case."""
    cases: dict[str, tuple] = {}
    for path in SAVED:
        name = str(path.parent.relative_to(HISTORIES))
        for ww in (False, True):
            cases[f"{name} ww_deps={ww}"] = (path, {"ww_deps": ww})
    for seed in (0, 1):
        base = simulate(1500, keys=6, processes=6, seed=seed)
        cases[f"simulated seed={seed}"] = (base, {"ww_deps": True})
        for kind in INJECTED:
            ops = inject(base, kind, seed=seed)
            if ops is not None:
                cases[f"simulated seed={seed} {kind}"] = (ops, {"ww_deps": seed == 1})
    return cases


def _result(source, test: dict) -> dict:
    history = read_history(source) if isinstance(source, Path) else source
    return json.loads(json.dumps(jsonable(txn.check(history, test, **BUDGETS)), sort_keys=True))


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_txn_result_is_unchanged(name):
    recorded = json.loads(RECORDED.read_text())
    assert name in recorded, f"no recorded result for {name!r}; record them with `python {Path(__file__).name} --record`"
    assert _result(*CASES[name]) == recorded[name]


def test_every_recorded_case_still_runs():
    assert set(json.loads(RECORDED.read_text())) == set(CASES)


def test_the_cases_reach_the_error_pass():
    """At least one case finds a real (invalid) cycle, so the differential covers the error pass too."""
    recorded = json.loads(RECORDED.read_text())
    assert any(r["valid"] is False for r in recorded.values())
    assert any(r.get("informational-types") for r in recorded.values())


# ------------------------------------------------------------------ the compact graph and its components


def _components_by_networkx(ctx, members: list[int], kinds: tuple[str, ...]) -> list[set]:
    """The reference: strongly connected components of networkx's graph with every edge of `kinds` (Elle's
    real-time frontier edges, process edges), sorted by lowest op as `components` returns them."""
    import networkx as nx

    g = txn_graph.dependency_graph(ctx, members, kinds + ("process",))
    return sorted((c for c in nx.strongly_connected_components(g) if len(c) > 1), key=min)


def _rows(g) -> list[list[int]]:
    return [sorted(g.successors(j)) for j in range(len(g))]


def _barrier_chain(ctx, members: list[int]) -> list[list[int]]:
    """The reference for real time: adjacency lists built event by event, one barrier per completion."""
    pos = {x: j for j, x in enumerate(members)}
    adj: list[list[int]] = [[] for _ in members]
    events = sorted([(ctx.inv_pos(x), 0, pos[x]) for x in members]
                    + [(x, 1, pos[x]) for x in members if ctx.a.ops[x].type != "info"])
    last = -1
    for _, kind, j in events:
        if kind == 1:
            adj.append([])
            if last >= 0:
                adj[last].append(len(adj) - 1)
            adj[j].append(len(adj) - 1)
            last = len(adj) - 1
        elif last >= 0:
            adj[last].append(j)
    return [sorted(row) for row in adj]


GRAPH_KINDS = (("wr", "realtime"), ("ww", "wr", "rw", "realtime"))


def _both_analyses(tmp_path, kind, seed: int):
    """(op-object Analysis, columnar Analysis) of one simulated history, with anomaly `kind` injected."""
    from prozess.columnar import read_columns
    from prozess.columnar_analysis import analysis_from_columns
    from prozess.columnar_check import light_ops
    from prozess.history import write_jsonl

    ops = simulate(1500, keys=6, processes=6, seed=seed)
    if kind is not None:
        ops = inject(ops, kind, seed=1)
    write_jsonl(ops, tmp_path / "h.jsonl")
    c = read_columns(tmp_path / "h.jsonl")
    return analyze(read_history(tmp_path / "h.jsonl").complete().ops), analysis_from_columns(c, light_ops(c))


@pytest.mark.parametrize("kind", [None, *INJECTED])
def test_compact_graph_components_are_the_full_graphs(kind, tmp_path):
    """The compact graph (edge arrays in compressed rows, real time as a barrier chain) and its Tarjan find
    the same components as networkx over the graph with every edge, for the error pass's kinds and for every
    kind, on the op-object Analysis and on the columnar one; and both Analyses build the same compact graph."""
    old, new = _both_analyses(tmp_path, kind, seed=1)
    found = {}
    for kinds in GRAPH_KINDS:
        graphs = []
        for a in (old, new):
            ctx = txn_graph.Vertices(a)
            members = list(ctx.nodes)
            g = txn_graph.compact_graph(ctx, members, kinds)
            comps = txn_cycles.components(g, members)
            assert comps == _components_by_networkx(ctx, members, kinds), kinds
            graphs.append(_rows(g))
            found[kinds] = comps
        assert graphs[0] == graphs[1], kinds
    ctx = txn_graph.Vertices(old)
    members = list(ctx.nodes)
    assert _rows(txn_graph.compact_graph(ctx, members, ("realtime",))) == _barrier_chain(ctx, members)
    if kind == "G1c-realtime":  # the injected cycle is one of wr and real-time edges
        assert found[GRAPH_KINDS[0]]
    assert found[GRAPH_KINDS[1]]  # with ww and rw edges, a simulated history has cycles


@pytest.mark.parametrize("kind", [None, "G1c-realtime"])
def test_compact_graph_in_edge_chunks_is_the_same(kind, tmp_path, monkeypatch):
    """Edges are mapped to member positions a chunk at a time (the rw pairs span the whole history): chunks of a
    few edges build the same compressed rows as one chunk, on a subset of members (edges leaving it dropped)."""
    from prozess.history import write_jsonl

    ops = simulate(1500, keys=6, processes=6, seed=2)
    if kind is not None:
        ops = inject(ops, kind, seed=1)
    write_jsonl(ops, tmp_path / "h.jsonl")
    ctx = txn_graph.Vertices(analyze(read_history(tmp_path / "h.jsonl").complete().ops))
    for members in (list(ctx.nodes), list(ctx.nodes)[::3]):
        for kinds in GRAPH_KINDS:
            whole = _rows(txn_graph.compact_graph(ctx, members, kinds))
            monkeypatch.setattr(txn_graph, "EDGE_CHUNK", 7)
            assert _rows(txn_graph.compact_graph(ctx, members, kinds)) == whole, kinds
            monkeypatch.undo()
            assert sum(map(len, whole)) > len(members)


@settings(max_examples=300, deadline=None)
@given(s=st.lists(st.integers(0, 40), max_size=30), windows=st.lists(st.tuples(st.integers(-2, 42), st.integers(0, 12)),
                                                                      min_size=1, max_size=8),
       cap=st.one_of(st.none(), st.integers(0, 30)))
def test_select_over_arrays_is_the_loop(s: list, windows: list, cap):
    """The vertices of the spans taken from the vertex arrays with one search and one mask are the loop's
    over the same sorted lists, in the same order, cut at the same span by `cap`."""
    from types import SimpleNamespace

    from prozess.columnar_views import IntList

    s.sort()
    verts = [1000 + 7 * j for j in range(len(s))]
    merged = txn_graph.spans([(lo, lo + w) for lo, w in windows])
    as_lists = SimpleNamespace(by_s=lambda: (s, verts))
    as_arrays = SimpleNamespace(by_s=lambda: (IntList(np.array(s, np.int32)), IntList(np.array(verts, np.int32))))
    out, cut = txn_graph.select(as_arrays, merged, cap)
    assert isinstance(out, IntList)
    assert (list(out), cut) == txn_graph.select(as_lists, merged, cap)


@settings(max_examples=300, deadline=None)
@given(windows=st.lists(st.tuples(st.integers(-5, 60), st.integers(0, 15)), max_size=25),
       s=st.lists(st.integers(0, 70), max_size=30))
def test_spans_of_window_arrays_are_the_list_merge(windows: list, s: list):
    """Windows kept as two arrays (a columnar scan's `PairList`) merge into the same spans as the list of
    tuples does, in any order and with repeats, and select the same vertices."""
    from types import SimpleNamespace

    from prozess.columnar_views import IntList, PairList

    pairs = [(lo, lo + w) for lo, w in windows]
    arrays = PairList(np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32))
    got = txn_graph.spans(arrays)
    want = txn_graph.spans(list(pairs))
    assert got.tolist() == want
    s.sort()
    ctx = SimpleNamespace(by_s=lambda: (IntList(np.array(s, np.int32)), IntList(np.arange(len(s), dtype=np.int32) + 100)))
    assert list(txn_graph.select(ctx, got)[0]) == list(txn_graph.select(ctx, want)[0])
    assert list(arrays) == pairs and arrays == pairs and (not pairs or arrays[-1] == pairs[-1])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), k=st.integers(0, 8))
def test_realtime_barriers_are_the_event_walk(data, k: int):
    """The real-time barrier chain built with arrays equals the event-by-event walk on any interleaving of
    invocations and completions (ops with no recorded invocation, info ops, members in any order)."""
    from types import SimpleNamespace

    slots = data.draw(st.permutations(range(2 * k)))
    inv, members = {}, []
    for j in range(k):
        lo, hi = sorted(slots[2 * j:2 * j + 2])
        members.append(hi)
        inv[hi] = lo if data.draw(st.booleans()) else hi  # no recorded invocation: the op itself
    info = {x: data.draw(st.booleans()) for x in members}
    members = data.draw(st.permutations(members))
    ops = {x: SimpleNamespace(type="info" if info[x] else "ok") for x in members}
    ctx = SimpleNamespace(a=SimpleNamespace(ops=ops), inv_pos=inv.__getitem__)
    assert _rows(txn_graph.compact_graph(ctx, members, ("realtime",))) == _barrier_chain(ctx, members)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 12), barriers=st.integers(0, 6), data=st.data())
def test_components_are_networkx_components(n: int, barriers: int, data):
    """Tarjan over compressed rows gives networkx's strongly connected components of two or more members
    (barriers left out), sorted by lowest member, on any graph."""
    import networkx as nx

    total = n + barriers
    edges = data.draw(st.lists(st.tuples(st.integers(0, max(total - 1, 0)), st.integers(0, max(total - 1, 0))),
                               max_size=40)) if total else []
    members = [100 + 3 * j for j in range(n)]
    src = np.array([x for x, _ in edges], np.int32)
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(total + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=total), out=indptr[1:])
    g = txn_graph.CompactGraph(indptr, np.array([y for _, y in edges], np.int32)[order], n)
    ref = nx.DiGraph()
    ref.add_nodes_from(range(total))
    ref.add_edges_from(edges)
    want = []
    for comp in nx.strongly_connected_components(ref):
        real = {members[w] for w in comp if w < n}
        if len(real) > 1:
            want.append(real)
    assert txn_cycles.components(g, members) == sorted(want, key=min)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: test_txn_differential.py --record")
    RECORDED.write_text(json.dumps({n: _result(*CASES[n]) for n in sorted(CASES)}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(CASES)} results in {RECORDED}")


@pytest.mark.parametrize("kind", [None, "G1c-realtime", "G1a", "duplicate"])
@pytest.mark.parametrize("chunk", [1, 3, 1 << 16])
def test_columnar_wr_edges_are_the_dict_walk_in_its_order(kind, chunk, tmp_path, monkeypatch):
    """The columnar wr join (members' read rows found by a search, `WR_MEMBERS` members at a time) gives the
    op-object Analysis's (writer, reader) pairs in the same order — the order the graph's rows keep and the
    cycle search follows — for members in s order, reversed, shuffled, a subset, and with a member twice."""
    import random

    import prozess.columnar_analysis as ca

    old, new = _both_analyses(tmp_path, kind, seed=3)
    monkeypatch.setattr(ca, "WR_MEMBERS", chunk)
    nodes = list(txn_graph.Vertices(old).nodes)
    shuffled = nodes[:]
    random.Random(5).shuffle(shuffled)
    for members in (nodes, nodes[::-1], shuffled, nodes[::4], nodes[:40] + nodes[10:20], []):
        want = [(w, r) for w, r in txn_graph._wr_pairs(old, list(dict.fromkeys(members)))]
        w, r = new.columnar_wr_edges(members)
        assert list(zip(w.tolist(), r.tolist())) == want
    assert len(want) == 0 and len(list(txn_graph._wr_pairs(old, nodes))) > len(nodes) // 2
