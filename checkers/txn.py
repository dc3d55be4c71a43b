"""An Elle-style dependency graph over send/poll/txn ops: infer, find cycles, classify, explain.

Four pieces, as Elle's analyzer -> graph -> explainer: graph building
(`txn_graph`), cycle search (`txn_cycles`), classification by a table of cycle
anomaly specs (`txn_anomalies`) and explanation (`txn_explain`); this module runs
the two passes over them and builds the result.

Vertices are ok and info send/poll/txn ops. Edges, from the per-key version order
(`prozess.checkers.analysis`):

- ww: T1 sent v1 to k, T2 sent v2, and v2 directly follows v1 in k's log;
- wr: T2 polled a value of k that T1 sent;
- rw: T1's highest poll of k was v1, and T2 sent v2, the value right after v1;
- process: T1 and T2 ran on one process, T1 first;
- realtime: T1 completed before T2 was invoked.

Cycles are found through strongly connected components, then the shortest cycle
of each class is searched inside them and classified with Elle's names (the table
in `txn_anomalies`): G0 (ww only), G1c (ww/wr, at least one wr), G-single (exactly
one rw), G-nonadjacent (several rw, none adjacent), G2-item (adjacent rw), each
with a -process or -realtime suffix when the cycle needs process or real-time order.

Which cycles are errors. Kafka transactions do not isolate writes (two
transactions' sends interleave in a partition), so any cycle that needs a ww edge
is normal, as Jepsen says (it allows G0 always, and G1c when it infers ww edges);
and a poll reads from its consumer's position, not from the log's end, so cycles
that need an rw edge (a stale or lagging poll) are normal too. Cycles built only
from wr, process and realtime edges are real: a transaction that observed a value
sent by an op that began only after it finished, or two transactions that each
read the other's uncommitted writes. Those are reported as G1c, G1c-process or
G1c-realtime and make the history invalid; every other class is informational.

Scale. Real-time and process edges always point forward in the order
s(op) = completion position (ok ops that read) or invocation position (the rest:
pure sends, info ops). Every vertex of a
cycle therefore lies inside the span [s(b), s(a)] of some *backward* edge a -> b,
so the error pass looks only at ops inside those spans (usually a sliver of the
history: polls racing the acknowledgement of a transaction they read from). There
it finds strongly connected components with an iterative Tarjan over int arrays
(the graph in compressed rows, no Python object per vertex or edge), real time
encoded as a chain of barrier vertices (three edges per op); only the
cyclic components become networkx graphs (with Elle's real-time frontier edges)
for the shortest-cycle search and the explanation. The informational pass (ww and
rw classes) looks at the whole graph up to INFO_CAP vertices, else at the first
INFO_CAP in s order, for at most INFO_SECONDS. A million-op history costs one pass
over its reads.
"""

from __future__ import annotations

from typing import Any

from prozess.checkers.analysis import Analysis, analyze
from prozess.checkers.result import MAX_EXAMPLES, build, entry, unknown
from prozess.checkers.txn_anomalies import BY_NAME, VARIANTS, classify, stages
from prozess.checkers.txn_cycles import Budget, SearchTimeout, components, find_cycle, rw_closing_cycle, shortcut, steps_of
from prozess.checkers.txn_explain import explain
from prozess.checkers.txn_graph import Vertices, compact_graph, dependency_graph, select, spans, ww_pairs

__all__ = ["check", "classify", "explain"]

INFO_CAP = 5_000  # vertices the informational (ww/rw) search looks at: the first ones in s order
INFO_SECONDS = 1.0
BAD_SECONDS = 120.0

# The error pass: cycles of wr, process and real-time edges only (see "Which cycles are errors").
ERROR_KINDS = ("wr", "process", "realtime")
BAD_STAGES = stages(("G1c",), ERROR_KINDS)
# The informational pass, on every edge kind: cycles that need a ww edge, then one rw edge, then several.
WW_STAGES = stages(("G0", "G1c"))
SINGLE = BY_NAME["G-single"]
SINGLE_PATHS = tuple(tuple(k for k in SINGLE.kinds(v) if k != SINGLE.single) for v in VARIANTS)
G2_STAGES = (("G2", BY_NAME["G2-item"].kinds("-realtime")),)


class _NothingCyclic(Exception):
    pass


def _search(a: Analysis, g, sccs: list[set], stage_list, budget: Budget, found: dict, require=None) -> None:
    """For each component, the first stage that finds a cycle (meeting `require`) adds its explained class."""
    for comp in sccs:
        for _name, allowed in stage_list:
            cyc = find_cycle(g, comp, allowed, budget)
            if cyc is None:
                continue
            steps = shortcut(a, steps_of(g, cyc, allowed))
            kinds = [d["type"] for _, _, d in steps]
            if require is not None and not require(kinds):
                continue
            cls = classify(kinds)
            found.setdefault(cls, []).append(explain(a, steps, cls))
            break


def _single_search(a: Analysis, g, sccs: list[set], budget: Budget, found: dict) -> None:
    """G-single: an rw edge a -> b closed by a path b ... a without rw edges."""
    for comp in sccs:
        for allowed in SINGLE_PATHS:
            hit = rw_closing_cycle(g, comp, allowed, budget)
            if hit is not None:
                steps = steps_of(g, hit, allowed, first="rw")
                kinds = [d["type"] for _, _, d in steps]
                cls = classify(kinds)
                if len(found.get(cls, ())) < MAX_EXAMPLES:
                    found.setdefault(cls, []).append(explain(a, steps, cls))
                break


def check(history: Any, test: dict | None = None, analysis: Analysis | None = None, *,
          info_cap: int = INFO_CAP, info_seconds: float = INFO_SECONDS, seconds: float = BAD_SECONDS) -> dict:
    """The dependency-graph checker; see the module docstring for what counts as an error."""
    a = analysis if analysis is not None else analyze(history)
    ctx = Vertices(a)
    if not ctx.nodes:
        return unknown("the history has no ok or info send, poll or txn op: the graph is empty")
    scan = a.scan
    # `spans` sorts a list in place (a copy, not the scan's); a columnar scan's windows are arrays, sorted apart
    windows = scan.wr_windows if hasattr(scan.wr_windows, "arrays") else list(scan.wr_windows)
    links = scan.wr_links
    ww_deps = bool(test and test.get("ww_deps", test.get("ww-deps")))
    if links == 0 and not (ww_deps and next(ww_pairs(ctx), None) is not None):
        return unknown("no poll observed a value sent by an op in the history: no dependency can be inferred"
                       + ("" if ww_deps else " (with --ww-deps, the order of sends in each key's log counts too)"))
    # ---- error pass: wr + process + realtime
    found: dict[str, list] = {}
    members, _ = select(ctx, spans(windows))
    budget = Budget(seconds)
    stats: dict[str, Any] = {"vertices": len(ctx.nodes), "wr-links": links, "searched-vertices": len(members)}
    timed_out = False
    if members:
        cyclic = components(compact_graph(ctx, members, ("wr", "realtime")), members)
        stats["cyclic-components"] = len(cyclic)
        in_cycles = sorted(x for c in cyclic for x in c)
        sccs: list = []
        if in_cycles:  # networkx (imported only now) explains what the compact pass found
            import networkx as nx

            g = dependency_graph(ctx, in_cycles, ERROR_KINDS)
            sccs = sorted((c for c in nx.strongly_connected_components(g) if len(c) > 1), key=min)
        try:
            if sccs:
                _search(a, g, sccs, BAD_STAGES, budget, found)
        except SearchTimeout:
            timed_out = True
        if timed_out or sum(len(v) for v in found.values()) < len(sccs):
            # A cyclic component proves a cycle even when the search ran out of time.
            explained = {tuple(sorted(ex["ops"])) for v in found.values() for ex in v}
            for comp in sccs:
                if not any(set(e) <= comp for e in explained):
                    found.setdefault("G1c-realtime", []).append(
                        {"explanation": f"Ops {sorted(comp)[:12]} form a cycle of wr, process and real-time dependencies; "
                                        "the search for the shortest one ran out of time.",
                         "ops": sorted(comp)[:64], "type": "G1c-realtime"})
    entries = {cls: entry(cls, cases, lambda c: c) for cls, cases in found.items()}
    # ---- informational pass: every edge kind, bounded
    info: dict[str, list] = {}
    truncated = False
    try:
        ib = Budget(info_seconds)
        # The whole graph when it is small, else the start of the history (by s order).
        if len(ctx.nodes) <= info_cap:
            imembers = list(ctx.nodes)
        else:
            imembers = ctx.by_s()[1][:info_cap]
            truncated = True
        if imembers:
            cyclic = components(compact_graph(ctx, imembers, ("ww", "wr", "rw", "realtime")), imembers)
            keep: list[int] = []
            for c in cyclic[:64]:
                if len(keep) + len(c) > info_cap // 2:
                    truncated = True
                    break
                keep.extend(c)
            if not keep:
                raise _NothingCyclic
            import networkx as nx

            g2 = dependency_graph(ctx, sorted(keep), ("ww", "wr", "rw", "process", "realtime"))
            comps = sorted((c for c in nx.strongly_connected_components(g2) if len(c) > 1), key=min)
            _search(a, g2, comps, WW_STAGES, ib, info, require=lambda ks: "ww" in ks)
            _single_search(a, g2, comps, ib, info)
            _search(a, g2, comps, G2_STAGES, ib, info, require=lambda ks: ks.count("rw") >= 2)
    except SearchTimeout:
        truncated = True
    except _NothingCyclic:
        pass
    result = build(entries, (), **{"graph": stats})
    if info:
        result["informational-types"] = sorted(info)
        result["informational"] = {cls: entry(cls, info[cls], lambda c: c) for cls in sorted(info)}
    if truncated:
        result["informational-truncated"] = True
    return result
