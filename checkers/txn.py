"""An Elle-style dependency graph over send/poll/txn ops: infer, find cycles, explain.

Vertices are ok and info send/poll/txn ops. Edges, from the per-key version order
(`prozess.checkers.analysis`):

- ww: T1 sent v1 to k, T2 sent v2, and v2 directly follows v1 in k's log;
- wr: T2 polled a value of k that T1 sent;
- rw: T1's highest poll of k was v1, and T2 sent v2, the value right after v1;
- process: T1 and T2 ran on one process, T1 first;
- realtime: T1 completed before T2 was invoked.

Cycles are found through strongly connected components, then the shortest cycle
of each class is searched inside them and classified with Elle's names: G0 (ww
only), G1c (ww/wr, at least one wr), G-single (exactly one rw), G-nonadjacent
(several rw, none adjacent), G2-item (adjacent rw), each with a -process or
-realtime suffix when the cycle needs process or real-time order.

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
it finds strongly connected components with an iterative Tarjan over int lists,
real time encoded as a chain of barrier vertices (three edges per op); only the
cyclic components become networkx graphs (with Elle's real-time frontier edges)
for the shortest-cycle search and the explanation. The informational pass (ww and
rw classes) looks at the whole graph up to INFO_CAP vertices, else at the first
INFO_CAP in s order, for at most INFO_SECONDS. A million-op history costs one pass
over its reads.
"""

from __future__ import annotations

import bisect
import time as _time
from typing import Any

from prozess.checkers.analysis import Analysis, analyze
from prozess.checkers.result import MAX_EXAMPLES, build, entry, unknown

BAD_STAGES = (("G1c", ("wr",)), ("G1c-process", ("wr", "process")), ("G1c-realtime", ("wr", "process", "realtime")))
INFO_CAP = 5_000  # vertices the informational (ww/rw) search looks at: the first ones in s order
INFO_SECONDS = 1.0
BAD_SECONDS = 120.0
KIND_PREFERENCE = ("ww", "wr", "process", "realtime", "rw")


class _Ctx:
    """Vertex facts shared by the passes."""

    def __init__(self, a: Analysis):
        self.a = a
        ops = a.ops
        # Failed ops are vertices too, as in Jepsen's and Elle's graphs: their completion is a definite
        # real-time point, and a value read from a failed send links it by wr.
        self.nodes = list(a.txns)
        self.is_node = set(self.nodes)
        self._by_s: tuple[list, list] | None = None

    def s(self, i: int) -> int:
        return self.a.s_of(i)

    def by_s(self) -> tuple[list, list]:
        """(sorted s values, vertices in that order), built once when first needed."""
        if self._by_s is None:
            sm = self.a.s_map()
            pairs = sorted((sm[i], i) for i in self.nodes)
            self._by_s = ([sv for sv, _ in pairs], [i for _, i in pairs])
        return self._by_s

    def inv_pos(self, i: int) -> int:
        j = self.a.inv[i]
        return j if j >= 0 else i


# ------------------------------------------------------------------ edges


def _ww_pairs(ctx: _Ctx, within: set | None = None):
    """Yields (w1, w2, key, v1, v2) for consecutive values of each key's log written by
    different vertices; with `within`, only pairs around values that ops in `within` sent."""
    a = ctx.a
    is_node = ctx.is_node
    if within is None:
        for k, vo in a.orders.items():
            wk = a.writer_of.get(k, {})
            prev_w = None
            prev_v = None
            for v in vo.by_index:
                w = wk.get(v)
                if w is not None and w not in is_node:
                    w = None
                if prev_w is not None and w is not None and w != prev_w:
                    yield prev_w, w, k, prev_v, v
                prev_w, prev_v = w, v
        return
    seen: set = set()
    for x in within:
        for k, v, _ in a.writes.get(x, ()):
            vo = a.orders.get(k)
            i = vo.by_value.get(v) if vo is not None else None
            if i is None:
                continue
            wk = a.writer_of.get(k, {})
            for j in (i - 1, i):
                if j < 0 or j + 1 >= len(vo.by_index) or (k, j) in seen:
                    continue
                seen.add((k, j))
                v1, v2 = vo.by_index[j], vo.by_index[j + 1]
                w1, w2 = wk.get(v1), wk.get(v2)
                if w1 is not None and w2 is not None and w1 != w2 and w1 in within and w2 in within:
                    yield w1, w2, k, v1, v2


def _rw_pairs(ctx: _Ctx, readers=None):
    """Yields (reader, writer, key, v, v_next) from each reader's highest read of a key."""
    a = ctx.a
    is_node = ctx.is_node
    items = a.reads.items() if readers is None else ((r, a.reads[r]) for r in readers if r in a.reads)
    for r, rs in items:
        if r not in is_node:
            continue
        for k, lst in rs.items():
            vo = a.orders.get(k)
            if vo is None or not lst:
                continue
            by_value = vo.by_value
            hi = -1
            for _, v in lst:
                i = by_value.get(v)
                if i is not None and i > hi:
                    hi = i
            if hi < 0 or hi + 1 >= len(vo.by_index):
                continue
            v2 = vo.by_index[hi + 1]
            w = a.writer_of.get(k, {}).get(v2)
            if w is not None and w != r and w in is_node:
                yield r, w, k, vo.by_index[hi], v2


def _merge(windows: list[tuple[int, int]]) -> list[list[int]]:
    windows.sort()
    merged: list[list[int]] = []
    for lo, hi in windows:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return merged


def _select(ctx: _Ctx, merged: list[list[int]], cap: int | None = None) -> tuple[list[int], bool]:
    """Vertices whose s lies in one of the merged spans (at most `cap`; True if cut)."""
    if not merged:
        return [], False
    keys, verts = ctx.by_s()
    out: list[int] = []
    for lo, hi in merged:
        j = bisect.bisect_left(keys, lo)
        k = bisect.bisect_right(keys, hi)
        if cap is not None and len(out) + (k - j) > cap:
            return out, True
        out.extend(verts[j:k])
    return out, False


def _compact_sccs(ctx: _Ctx, members: list[int], kinds: tuple[str, ...]) -> list[set]:
    """Strongly connected components (two or more real vertices) of the graph over `members`.

    Plain lists of ints and an iterative Tarjan, no networkx: real-time order is encoded
    with one barrier vertex per completion (op -> barrier at its completion -> next
    barrier -> ... -> ops invoked later), so it costs three edges per op instead of one
    per pair; process order is contained in real-time order and needs no edges here.
    """
    a = ctx.a
    ops = a.ops
    n = len(members)
    pos = {x: j for j, x in enumerate(members)}
    adj: list[list[int]] = [[] for _ in range(n)]
    if "wr" in kinds:
        writer_of = a.writer_of
        empty: dict = {}
        for r in members:
            rs = a.reads.get(r)
            if not rs:
                continue
            pr = pos[r]
            for k, lst in rs.items():
                wk = writer_of.get(k, empty)
                for _, v in lst:
                    w = wk.get(v)
                    if w is not None and w != r:
                        pw = pos.get(w)
                        if pw is not None:
                            adj[pw].append(pr)
    if "ww" in kinds:
        for w1, w2, *_ in _ww_pairs(ctx, set(members)):
            p1 = pos.get(w1)
            if p1 is not None:
                p2 = pos.get(w2)
                if p2 is not None:
                    adj[p1].append(p2)
    if "rw" in kinds:
        for r, w, *_ in a.scan.rw:
            p1 = pos.get(r)
            if p1 is not None:
                p2 = pos.get(w)
                if p2 is not None:
                    adj[p1].append(p2)
    if "realtime" in kinds:
        events = []
        for x in members:
            events.append((ctx.inv_pos(x), 0, pos[x]))
            if ops[x].type != "info":
                events.append((x, 1, pos[x]))
        events.sort()
        last_barrier = -1
        for _, kind, j in events:
            if kind == 1:
                b = len(adj)
                adj.append([])
                if last_barrier >= 0:
                    adj[last_barrier].append(b)
                adj[j].append(b)
                last_barrier = b
            elif last_barrier >= 0:
                adj[last_barrier].append(j)
    # iterative Tarjan
    total = len(adj)
    index = [-1] * total
    low = [0] * total
    on = [False] * total
    stack: list[int] = []
    out: list[set] = []
    counter = 0
    for root in range(total):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on[root] = True
        while work:
            v, i = work[-1]
            nbrs = adj[v]
            if i < len(nbrs):
                work[-1] = (v, i + 1)
                w = nbrs[i]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on[w] = True
                    work.append((w, 0))
                elif on[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on[w] = False
                    if w < n:
                        comp.append(members[w])
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(set(comp))
    out.sort(key=min)
    return out


def _graph(ctx: _Ctx, members: list[int], kinds: tuple[str, ...]):
    """A networkx DiGraph over `members` with edges of `kinds`; edge attr "k" = {kind: data}."""
    import networkx as nx

    a = ctx.a
    ops = a.ops
    g = nx.DiGraph()
    g.add_nodes_from(members)
    mset = set(members)

    def link(x: int, y: int, kind: str, data: dict) -> None:
        if x == y:
            return
        e = g.get_edge_data(x, y)
        if e is None:
            g.add_edge(x, y, k={kind: data})
        else:
            e["k"].setdefault(kind, data)

    if "wr" in kinds:
        for r in members:
            rs = a.reads.get(r)
            if not rs:
                continue
            for k, lst in rs.items():
                wk = a.writer_of.get(k, {})
                for o, v in lst:
                    w = wk.get(v)
                    if w is not None and w in mset:
                        link(w, r, "wr", {"type": "wr", "key": k, "value": v})
    if "ww" in kinds:
        for w1, w2, k, v1, v2 in _ww_pairs(ctx, mset):
            if w1 in mset and w2 in mset:
                link(w1, w2, "ww", {"type": "ww", "key": k, "value": v1, "value'": v2})
    if "rw" in kinds:
        for r, w, k, v1, v2 in _rw_pairs(ctx, members):
            if w in mset:
                link(r, w, "rw", {"type": "rw", "key": k, "value": v1, "value'": v2})
    ordered = sorted(members)
    if "process" in kinds:
        last: dict = {}
        for i in ordered:
            p = ops[i].process
            j = last.get(p)
            if j is not None:
                link(j, i, "process", {"type": "process", "process": p})
            last[p] = i
    if "realtime" in kinds:
        events = []
        for i in ordered:
            events.append((ctx.inv_pos(i), 0, i))
            if ops[i].type != "info":
                events.append((i, 1, i))
        events.sort()
        frontier: set = set()
        preds: dict = {}
        for pos, kind, i in events:
            if kind == 0:
                preds[i] = list(frontier)
                for j in preds[i]:
                    link(j, i, "realtime", {"type": "realtime", "completed": j, "invoked": pos})
            else:
                frontier.difference_update(preds.get(i, ()))
                frontier.add(i)
    return g


# ------------------------------------------------------------------ cycle search


class _Budget:
    def __init__(self, seconds: float):
        self.deadline = _time.monotonic() + seconds
        self.steps = 0

    def spent(self) -> bool:
        self.steps += 1
        return (self.steps & 1023) == 0 and _time.monotonic() > self.deadline

    def over(self) -> bool:
        return _time.monotonic() > self.deadline


class SearchTimeout(Exception):
    pass


class _NothingCyclic(Exception):
    pass


def _usable(attrs: dict, allowed: tuple[str, ...]) -> bool:
    ks = attrs["k"]
    for kind in allowed:
        if kind in ks:
            return True
    return False


def _bfs_path(g, src: int, dst: int, allowed: tuple[str, ...], within: set, budget: _Budget) -> list[int] | None:
    """Shortest path src ... dst over edges with an allowed kind, inside `within`."""
    prev = {src: None}
    frontier = [src]
    while frontier:
        nxt = []
        for u in frontier:
            for v, attrs in g.succ[u].items():
                if budget.spent():
                    raise SearchTimeout
                if v not in within or not _usable(attrs, allowed):
                    continue
                if v == dst:
                    path = [v, u]
                    while prev[u] is not None:
                        u = prev[u]
                        path.append(u)
                    path.reverse()
                    return path
                if v not in prev:
                    prev[v] = u
                    nxt.append(v)
        frontier = nxt
    return None


def _find_cycle(g, within: set, allowed: tuple[str, ...], budget: _Budget) -> list[int] | None:
    """A shortest cycle through the lowest vertex of some cyclic component of the allowed-kind subgraph."""
    import networkx as nx

    sub = nx.subgraph_view(g, filter_node=lambda n: n in within, filter_edge=lambda x, y: _usable(g[x][y], allowed))
    best = None
    for comp in nx.strongly_connected_components(sub):
        if budget.over():
            raise SearchTimeout
        if len(comp) < 2:
            continue
        start = min(comp)
        if best is not None and start > best[0]:
            continue
        path = _bfs_path(g, start, start, allowed, comp, budget)
        if path is not None:
            best = path[:-1]
    return best


def _shortcut(a: Analysis, steps: list[tuple[int, int, dict]]) -> list[tuple[int, int, dict]]:
    """Collapses x -> y -> z chains of process/realtime edges into one real-time edge x -> z
    when x completed before z was invoked (the graph keeps only a transitive reduction)."""
    ops = a.ops
    out = list(steps)
    changed = True
    while changed and len(out) > 2:
        changed = False
        for n in range(len(out)):
            x, y, d1 = out[n]
            y2, z, d2 = out[(n + 1) % len(out)]
            if d1["type"] in ("process", "realtime") and d2["type"] in ("process", "realtime") and z != x:
                inv_z = a.inv[z] if a.inv[z] >= 0 else z
                if ops[x].type == "ok" and x < inv_z:
                    same = ops[x].process == ops[z].process
                    d = ({"type": "process", "process": ops[x].process} if same and d1["type"] == d2["type"] == "process"
                         else {"type": "realtime", "completed": x, "invoked": inv_z})
                    m = (n + 1) % len(out)
                    if m == 0:
                        out = [(x, z, d)] + out[1:n]
                    else:
                        out[n] = (x, z, d)
                        del out[m]
                    changed = True
                    break
    return out


def _edge_kinds(g, cycle: list[int], allowed: tuple[str, ...]) -> list[tuple[int, int, dict]]:
    steps = []
    for n, x in enumerate(cycle):
        y = cycle[(n + 1) % len(cycle)]
        ks = g[x][y]["k"]
        for kind in KIND_PREFERENCE:
            if kind in allowed and kind in ks:
                steps.append((x, y, ks[kind]))
                break
    return steps


def classify(kinds: list[str]) -> str:
    """Elle's name for a cycle whose edges have these kinds (in cycle order)."""
    rw = [i for i, k in enumerate(kinds) if k == "rw"]
    if rw:
        if len(rw) == 1:
            base = "G-single"
        else:
            n = len(kinds)
            adjacent = any((i + 1) % n in set(rw) for i in rw)
            base = "G2-item" if adjacent else "G-nonadjacent"
    elif "wr" in kinds:
        base = "G1c"
    else:
        base = "G0"
    if "realtime" in kinds:
        return base + "-realtime"
    if "process" in kinds:
        return base + "-process"
    return base


# ------------------------------------------------------------------ explanations


def _why(a: Analysis, x: int, y: int, d: dict, names: dict) -> str:
    X, Y = names[x], names[y]
    t = d["type"]
    v2 = d.get("value'")
    if t == "wr":
        return f"{Y} polled {X}'s send of {d['value']!r} to key {d['key']!r}"
    if t == "ww":
        return f"{X} sent {d['value']!r} to key {d['key']!r}, and {Y} sent {v2!r}, the next value in that key's log"
    if t == "rw":
        return (f"{X} polled key {d['key']!r} up to {d['value']!r} and did not see {v2!r}, "
                f"the next value in that key's log, which {Y} sent")
    if t == "process":
        return f"{X} and {Y} ran on process {d['process']}, {X} first"
    if t == "realtime":
        return f"{X} completed (index {d['completed']}) before {Y} was invoked (index {d['invoked']})"
    return f"{X} precedes {Y}"


def explain(a: Analysis, steps: list[tuple[int, int, dict]], kind: str) -> dict:
    """Data first, then prose: Let T1 = ...; T1 < T2 because ...; However ... a contradiction!"""
    cycle = [x for x, _, _ in steps]
    names = {x: f"T{n + 1}" for n, x in enumerate(cycle)}
    lets = []
    for x in cycle:
        op = a.ops[x]
        lets.append(f"{names[x]} = op {x} ({op.type} {op.f} by process {op.process})")
    parts = []
    for n, (x, y, d) in enumerate(steps):
        lead = "However, " if n == len(steps) - 1 else ("Then " if n == 0 else "")
        parts.append(f"{lead}{names[x]} < {names[y]} because {_why(a, x, y, d, names)}.")
    text = "Let " + "; ".join(lets) + ". " + " ".join(parts) + f" So {names[cycle[0]]} < {names[cycle[0]]}: a contradiction!"
    return {"explanation": text, "ops": cycle, "type": kind,
            "cycle": cycle + [cycle[0]], "steps": [d for _, _, d in steps]}


# ------------------------------------------------------------------ passes


def _search(ctx: _Ctx, g, sccs: list[set], stages, budget: _Budget, found: dict, require=None) -> None:
    for comp in sccs:
        for name, allowed in stages:
            cyc = _find_cycle(g, comp, allowed, budget)
            if cyc is None:
                continue
            steps = _shortcut(ctx.a, _edge_kinds(g, cyc, allowed))
            kinds = [d["type"] for _, _, d in steps]
            if require is not None and not require(kinds):
                continue
            cls = classify(kinds)
            found.setdefault(cls, []).append(explain(ctx.a, steps, cls))
            break


def _single_search(ctx: _Ctx, g, sccs: list[set], budget: _Budget, found: dict) -> None:
    """G-single: an rw edge a -> b closed by a path b ... a without rw edges."""
    for comp in sccs:
        for allowed in (("ww", "wr"), ("ww", "wr", "process"), ("ww", "wr", "process", "realtime")):
            hit = None
            tried = 0
            for x in sorted(comp):
                for y, attrs in g.succ[x].items():
                    if y in comp and "rw" in attrs["k"]:
                        tried += 1
                        path = _bfs_path(g, y, x, allowed, comp, budget)
                        if path is not None and (hit is None or len(path) < len(hit)):
                            hit = [x] + path[:-1]
                        if tried >= 16:
                            break
                if tried >= 16:
                    break
            if hit is not None:
                steps = [(hit[0], hit[1], g[hit[0]][hit[1]]["k"]["rw"])]
                for n in range(1, len(hit)):
                    x, y = hit[n], hit[(n + 1) % len(hit)]
                    ks = g[x][y]["k"]
                    for kind in KIND_PREFERENCE:
                        if kind in allowed and kind in ks:
                            steps.append((x, y, ks[kind]))
                            break
                kinds = [d["type"] for _, _, d in steps]
                cls = classify(kinds)
                if len(found.get(cls, ())) < MAX_EXAMPLES:
                    found.setdefault(cls, []).append(explain(ctx.a, steps, cls))
                break


def check(history: Any, test: dict | None = None, analysis: Analysis | None = None, *,
          info_cap: int = INFO_CAP, info_seconds: float = INFO_SECONDS, seconds: float = BAD_SECONDS) -> dict:
    """The dependency-graph checker; see the module docstring for what counts as an error."""
    a = analysis if analysis is not None else analyze(history)
    ctx = _Ctx(a)
    if not ctx.nodes:
        return unknown("the history has no ok or info send, poll or txn op: the graph is empty")
    scan = a.scan
    windows, links = list(scan.wr_windows), scan.wr_links
    ww_deps = bool(test and test.get("ww_deps", test.get("ww-deps")))
    if links == 0 and not (ww_deps and next(_ww_pairs(ctx), None) is not None):
        return unknown("no poll observed a value sent by an op in the history: no dependency can be inferred"
                       + ("" if ww_deps else " (with --ww-deps, the order of sends in each key's log counts too)"))
    # ---- error pass: wr + process + realtime
    found: dict[str, list] = {}
    merged = _merge(windows)
    members, _ = _select(ctx, merged)
    budget = _Budget(seconds)
    stats: dict[str, Any] = {"vertices": len(ctx.nodes), "wr-links": links, "searched-vertices": len(members)}
    timed_out = False
    if members:
        cyclic = _compact_sccs(ctx, members, ("wr", "realtime"))
        stats["cyclic-components"] = len(cyclic)
        in_cycles = sorted(x for c in cyclic for x in c)
        sccs: list = []
        if in_cycles:  # networkx (imported only now) explains what the compact pass found
            import networkx as nx

            g = _graph(ctx, in_cycles, ("wr", "process", "realtime"))
            sccs = sorted((c for c in nx.strongly_connected_components(g) if len(c) > 1), key=min)
        try:
            if sccs:
                _search(ctx, g, sccs, BAD_STAGES, budget, found)
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
        ib = _Budget(info_seconds)
        # The whole graph when it is small, else the start of the history (by s order).
        if len(ctx.nodes) <= info_cap:
            imembers = list(ctx.nodes)
        else:
            imembers = ctx.by_s()[1][:info_cap]
            truncated = True
        if imembers:
            cyclic = _compact_sccs(ctx, imembers, ("ww", "wr", "rw", "realtime"))
            keep: list[int] = []
            for c in cyclic[:64]:
                if len(keep) + len(c) > info_cap // 2:
                    truncated = True
                    break
                keep.extend(c)
            if not keep:
                raise _NothingCyclic
            import networkx as nx

            g2 = _graph(ctx, sorted(keep), ("ww", "wr", "rw", "process", "realtime"))
            comps = sorted((c for c in nx.strongly_connected_components(g2) if len(c) > 1), key=min)
            ww_stages = (("G0", ("ww",)), ("G1c", ("ww", "wr")), ("G0-process", ("ww", "process")),
                         ("G1c-process", ("ww", "wr", "process")), ("G0-realtime", ("ww", "process", "realtime")),
                         ("G1c-realtime", ("ww", "wr", "process", "realtime")))
            _search(ctx, g2, comps, ww_stages, ib, info, require=lambda ks: "ww" in ks)
            _single_search(ctx, g2, comps, ib, info)
            _search(ctx, g2, comps, (("G2", ("ww", "wr", "process", "realtime", "rw")),), ib, info,
                    require=lambda ks: ks.count("rw") >= 2)
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
