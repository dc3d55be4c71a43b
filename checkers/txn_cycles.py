"""Cycle search for the txn checker: strongly connected components, then shortest cycles inside them, on a budget.

`components` finds the strongly connected components of a compact graph (int
arrays in compressed rows from `prozess.checkers.txn_graph.compact_graph`); only those
components are worth a shortest-cycle search. `find_cycle` runs a breadth-first
search for a shortest cycle through the lowest vertex of some component, using
only edges of the allowed kinds; `rw_closing_cycle` looks for a cycle of exactly
one rw edge (an rw edge a -> b closed by a path b ... a without rw). Every search
counts its steps against a `Budget` and raises `SearchTimeout` when it is spent.
`steps_of` turns a cycle of vertices into its edges, and `shortcut` collapses
chains of order edges into the one real-time edge they imply.
"""

from __future__ import annotations

import time as _time
from array import array
from typing import Any, Sequence

import numpy as np

from prozess.checkers.analysis import Analysis

__all__ = ["KIND_PREFERENCE", "Budget", "SearchTimeout", "bfs_path", "components", "find_cycle", "rw_closing_cycle",
           "shortcut", "steps_of"]

# Which edge names a step when a pair of vertices is joined by several kinds.
KIND_PREFERENCE = ("ww", "wr", "process", "realtime", "rw")


class Budget:
    """A wall-clock deadline, checked every 1024 steps of a search."""

    def __init__(self, seconds: float):
        self.deadline = _time.monotonic() + seconds
        self.steps = 0

    def spent(self) -> bool:
        self.steps += 1
        return (self.steps & 1023) == 0 and _time.monotonic() > self.deadline

    def over(self) -> bool:
        return _time.monotonic() > self.deadline


class SearchTimeout(Exception):
    """A cycle search ran out of its budget."""


def components(g: Any, members: Sequence[int]) -> list[set]:
    """Strongly connected components of two or more real vertices, as sets of `members`, sorted by lowest vertex.

    `g` is a `CompactGraph` (compressed rows, see `txn_graph.compact_graph`): vertex
    j < g.n is members[j]; the vertices after them are barriers and are left out of the
    components. An iterative Tarjan whose state is int arrays (4 or 8 bytes per vertex,
    no Python object per vertex or edge). The components do not depend on the order
    the search visits vertices in, and they are returned sorted by their lowest op.
    """
    n = g.n
    total = len(g)
    ptr = array("q", g.indptr.astype(np.int64, copy=False).tobytes())
    succ = array("q", g.indices.astype(np.int64, copy=False).tobytes()) if total >= 2**31 else \
        array("i", g.indices.astype(np.int32, copy=False).tobytes())
    index = array("q", [-1]) * total
    low = array("q", [0]) * total
    on = bytearray(total)
    stack = array("q")
    work_v = array("q")  # the depth-first path: vertices, and the next edge of each to look at
    work_e = array("q")
    out: list[set] = []
    counter = 0
    for root in range(total):
        if index[root] >= 0:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on[root] = 1
        work_v.append(root)
        work_e.append(ptr[root])
        while work_v:
            v = work_v[-1]
            e = work_e[-1]
            if e < ptr[v + 1]:
                work_e[-1] = e + 1
                w = succ[e]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on[w] = 1
                    work_v.append(w)
                    work_e.append(ptr[w])
                elif on[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work_v.pop()
            work_e.pop()
            if work_v:
                u = work_v[-1]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on[w] = 0
                    if w < n:
                        comp.append(members[w])
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(set(comp))
    out.sort(key=min)
    return out


def _usable(attrs: dict, allowed: tuple[str, ...]) -> bool:
    ks = attrs["k"]
    for kind in allowed:
        if kind in ks:
            return True
    return False


def bfs_path(g: Any, src: int, dst: int, allowed: tuple[str, ...], within: set, budget: Budget) -> list[int] | None:
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


def find_cycle(g: Any, within: set, allowed: tuple[str, ...], budget: Budget) -> list[int] | None:
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
        path = bfs_path(g, start, start, allowed, comp, budget)
        if path is not None:
            best = path[:-1]
    return best


def rw_closing_cycle(g: Any, comp: set, allowed: tuple[str, ...], budget: Budget, tries: int = 16) -> list[int] | None:
    """A shortest cycle [a, b, ...] whose first edge a -> b is rw and whose path b ... a uses only `allowed` kinds.

    Looks at the rw edges of the component in vertex order, at most `tries` of them.
    """
    hit = None
    tried = 0
    for x in sorted(comp):
        for y, attrs in g.succ[x].items():
            if y in comp and "rw" in attrs["k"]:
                tried += 1
                path = bfs_path(g, y, x, allowed, comp, budget)
                if path is not None and (hit is None or len(path) < len(hit)):
                    hit = [x] + path[:-1]
                if tried >= tries:
                    break
        if tried >= tries:
            break
    return hit


def steps_of(g: Any, cycle: list[int], allowed: tuple[str, ...], first: str | None = None) -> list[tuple[int, int, dict]]:
    """(x, y, edge data) for each edge of `cycle`, naming each by KIND_PREFERENCE among the allowed kinds
    (the first edge by the kind `first`, when given)."""
    steps = []
    for n, x in enumerate(cycle):
        y = cycle[(n + 1) % len(cycle)]
        ks = g[x][y]["k"]
        if n == 0 and first is not None:
            steps.append((x, y, ks[first]))
            continue
        for kind in KIND_PREFERENCE:
            if kind in allowed and kind in ks:
                steps.append((x, y, ks[kind]))
                break
    return steps


def shortcut(a: Analysis, steps: list[tuple[int, int, dict]]) -> list[tuple[int, int, dict]]:
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
