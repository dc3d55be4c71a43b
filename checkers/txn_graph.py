"""Graph building for the txn checker: which ops are vertices and which dependency edges join them.

Vertices are the ok, info and fail send/poll/txn ops of an `Analysis`. Edges come
from the per-key version order and from time:

- ww: T1 sent v1 to k, T2 sent v2, and v2 directly follows v1 in k's log;
- wr: T2 polled a value of k that T1 sent;
- rw: T1's highest poll of k was v1, and T2 sent v2, the value right after v1;
- process: T1 and T2 ran on one process, T1 first;
- realtime: T1 completed before T2 was invoked.

Two shapes of the same graph: `compact_graph`, int arrays in compressed rows with
real time encoded as a chain of barrier vertices (three edges per op, for finding
the strongly connected components of large vertex sets without a Python object per
vertex or edge), and `dependency_graph`, a
networkx DiGraph whose edges carry the data of each kind (Elle's real-time frontier
edges), for the shortest-cycle search and the explanation. `spans` and `select`
pick the vertices worth a look: every vertex of an error cycle lies inside the span
of some backward wr edge (see `prozess.checkers.txn`).
"""

from __future__ import annotations

import bisect
from array import array
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from prozess.checkers.analysis import Analysis

__all__ = ["CompactGraph", "Vertices", "compact_graph", "dependency_graph", "rw_pairs", "select", "spans", "ww_pairs"]


class Vertices:
    """Vertex facts shared by the passes: the vertices, their s order and invocation positions."""

    def __init__(self, a: Analysis):
        self.a = a
        # Failed ops are vertices too, as in Jepsen's and Elle's graphs: their completion is a definite
        # real-time point, and a value read from a failed send links it by wr.
        self._by_s: tuple[list, list] | None = None
        arrays = getattr(a, "vertex_arrays", None)
        if arrays is not None:  # an Analysis built from columns keeps these as arrays (millions of vertices)
            self.nodes, self.is_node, self._by_s = arrays()
        else:
            self.nodes = list(a.txns)
            self.is_node = set(self.nodes)

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


def ww_pairs(ctx: Vertices, within: set | None = None) -> Iterator[tuple]:
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


def rw_pairs(ctx: Vertices, readers=None) -> Iterator[tuple]:
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


# ------------------------------------------------------------------ which vertices


def spans(windows: Any) -> Any:
    """Merges (lo, hi) windows of s positions into disjoint sorted spans: a list of [lo, hi] from a list of
    tuples (sorted in place), an array of (lo, hi) rows from windows kept as arrays (`arrays()`)."""
    if hasattr(windows, "arrays"):
        return _spans_arrays(*windows.arrays())
    windows.sort()
    merged: list[list[int]] = []
    for lo, hi in windows:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return merged


def _spans_arrays(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """`spans` of the windows (lo[i], hi[i]) as (k, 2) rows: in (lo, hi) order a window opens a new span when
    its lo is above every hi before it (the running maximum), and a span ends at that maximum."""
    if not len(lo):
        return np.zeros((0, 2), np.int64)
    order = np.lexsort((hi, lo))
    lo, hi = lo[order].astype(np.int64), hi[order].astype(np.int64)
    del order
    reach = np.maximum.accumulate(hi)
    start = np.concatenate(([0], np.nonzero(lo[1:] > reach[:-1])[0] + 1))
    end = np.concatenate((start[1:], [len(lo)])) - 1
    return np.stack([lo[start], reach[end]], axis=1)


def select(ctx: Vertices, merged: Any, cap: int | None = None) -> tuple[list[int], bool]:
    """Vertices whose s lies in one of the merged spans (at most `cap`; True if cut)."""
    if len(merged) == 0:
        return [], False
    keys, verts = ctx.by_s()
    if hasattr(verts, "array"):  # vertex arrays (a columnar Analysis): the spans' vertices as one array
        return _select_arrays(keys.array, verts, merged, cap)
    out: list[int] = []
    for lo, hi in merged:
        j = bisect.bisect_left(keys, lo)
        k = bisect.bisect_right(keys, hi)
        if cap is not None and len(out) + (k - j) > cap:
            return out, True
        out.extend(verts[j:k])
    return out, False


def _select_arrays(keys: np.ndarray, verts: Any, merged: list[list[int]], cap: int | None) -> tuple[Any, bool]:
    """`select` over sorted arrays: every span's range found by one search, the vertices taken with one mask
    (the spans are disjoint and sorted, so the order is the loop's); an `IntList`, not a list of ints."""
    lo, hi = np.asarray(merged, np.int64).T
    if keys.dtype == np.int32 and int(lo.min()) >= -2**31 and int(hi.max()) < 2**31:
        lo, hi = lo.astype(np.int32), hi.astype(np.int32)  # else numpy copies all of `keys` to 8 bytes to search it
    j = np.searchsorted(keys, lo, "left")
    k = np.maximum(np.searchsorted(keys, hi, "right"), j)
    cut = False
    if cap is not None:
        over = np.nonzero(np.cumsum(k - j) > cap)[0]
        if len(over):
            j, k, cut = j[:over[0]], k[:over[0]], True
    edge = np.zeros(len(keys) + 1, np.int32)
    np.add.at(edge, j, 1)
    np.add.at(edge, k, -1)
    take = np.cumsum(edge[:-1], dtype=np.int32) > 0
    return type(verts)(verts.array[take]), cut


# ------------------------------------------------------------------ the two graph shapes


EDGE_CHUNK = 1 << 20  # edges mapped to member positions at a time (the rw pairs span the whole history)


class CompactGraph(NamedTuple):
    """A directed graph in compressed rows: vertex j's successors are `indices[indptr[j]:indptr[j + 1]]`.

    Vertices 0..n-1 are the members (member j is `members[j]`); the vertices after
    them are real-time barriers. Two int arrays: a graph over a million members holds
    no Python object per vertex or edge.
    """

    indptr: np.ndarray
    indices: np.ndarray
    n: int

    def __len__(self) -> int:  # every vertex, members and barriers
        return len(self.indptr) - 1

    def successors(self, j: int) -> list[int]:
        return self.indices[self.indptr[j]:self.indptr[j + 1]].tolist()


def _pairs(edges: Iterable[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """The first two items of each (x, y, ...) as two int64 arrays."""
    xs, ys = array("q"), array("q")
    for x, y, *_ in edges:
        xs.append(x)
        ys.append(y)
    return np.frombuffer(xs, np.int64), np.frombuffer(ys, np.int64)


class _Positions:
    """Op -> its position in `members` (distinct ops), -1 for ops not in it; a sorted copy and a search."""

    def __init__(self, m: np.ndarray):
        self.order = np.argsort(m, kind="stable")
        self.sorted = m[self.order]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.int64)
        if not len(self.sorted):
            return np.full(len(x), -1, np.int64)
        j = np.minimum(np.searchsorted(self.sorted, x), len(self.sorted) - 1)
        return np.where(self.sorted[j] == x, self.order[j], -1)


def _times(ctx: Vertices, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(invocation position, completed) of each op of `m`: where it was invoked (the op itself when no
    invocation was recorded), and whether its completion is a point in real time (it is not info)."""
    times = getattr(ctx.a, "columnar_vertex_times", None)
    if times is not None:  # an Analysis built from columns answers from its columns
        return times(m)
    ops = ctx.a.ops
    xs = m.tolist()
    inv = np.fromiter((ctx.inv_pos(x) for x in xs), np.int64, len(xs))
    done = np.fromiter((ops[x].type != "info" for x in xs), bool, len(xs))
    return inv, done


def _realtime(ctx: Vertices, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Real-time order as a chain of barriers: (sources, targets, barriers), barrier b being vertex len(m) + b.

    Events are the members' invocations and completions sorted by position (an
    invocation before a completion at the same position: an op with no recorded
    invocation). Each completion makes the next barrier: the completed op and the
    previous barrier point to it; each invocation is pointed to by the last barrier
    before it. So T1 -> T2 by a path exactly when T1 completed before T2 was invoked.
    """
    n = len(m)
    inv, done = _times(ctx, m)
    j = np.arange(n, dtype=np.int64)
    jc = j[done]
    pos = np.concatenate([inv, m[done]])
    kind = np.concatenate([np.zeros(n, np.int8), np.ones(len(jc), np.int8)])
    who = np.concatenate([j, jc])
    order = np.lexsort((who, kind, pos))
    del pos
    kind, who = kind[order], who[order]
    del order
    completed = np.cumsum(kind, dtype=np.int64)  # completions up to and including each event
    is_c = kind == 1
    b = n + completed[is_c] - 1  # each completion's barrier
    after = ~is_c & (completed > 0)  # invocations with a barrier before them
    src = np.concatenate([who[is_c], b[:-1], n + completed[after] - 1])
    dst = np.concatenate([b, b[1:], who[after]])
    return src, dst, len(b)


def compact_graph(ctx: Vertices, members: Sequence[int], kinds: tuple[str, ...]) -> CompactGraph:
    """The graph over `members` with edges of `kinds`, as compressed rows (`CompactGraph`), plus barrier vertices.

    No networkx and no Python object per vertex or edge: each kind's edges are two
    int arrays (member positions), joined into rows by one sort. Real-time order is
    encoded with one barrier vertex per completion (op -> barrier at its completion ->
    next barrier -> ... -> ops invoked later), so it costs three edges per op instead
    of one per pair; process order is contained in real-time order and needs no edges
    here.
    """
    a = ctx.a
    m = np.asarray(getattr(members, "array", members), dtype=np.int64)  # a list of ops, or an IntList's array
    n = len(m)
    pos = _Positions(m)
    pos_t = np.int32 if n < 2**31 else np.int64  # member positions as the rows will hold them
    srcs: list[np.ndarray] = []
    dsts: list[np.ndarray] = []

    def add(x: np.ndarray, y: np.ndarray) -> None:
        for lo in range(0, len(x), EDGE_CHUNK):  # edges over the whole history (rw) a chunk at a time
            px = pos(x[lo:lo + EDGE_CHUNK])
            py = pos(y[lo:lo + EDGE_CHUNK])
            keep = (px >= 0) & (py >= 0)
            srcs.append(px[keep].astype(pos_t))
            dsts.append(py[keep].astype(pos_t))

    if "wr" in kinds:
        wr_edges = getattr(a, "columnar_wr_edges", None)
        if wr_edges is not None:  # an Analysis built from columns joins the members' reads with the writers at once
            add(*wr_edges(m))
        else:
            add(*_pairs(_wr_pairs(a, m.tolist())))
    if "ww" in kinds:
        add(*_pairs(ww_pairs(ctx, set(m.tolist()))))
    if "rw" in kinds:
        ends = getattr(a.scan.rw, "ends", None)
        add(*(ends() if ends is not None else _pairs(a.scan.rw)))
    barriers = 0
    if "realtime" in kinds and n:
        src, dst, barriers = _realtime(ctx, m)
        srcs.append(src)
        dsts.append(dst)
    total = n + barriers
    it = np.int32 if total < 2**31 else np.int64
    src = np.concatenate(srcs, dtype=it, casting="same_kind") if srcs else np.zeros(0, it)
    dst = np.concatenate(dsts, dtype=it, casting="same_kind") if dsts else np.zeros(0, it)
    del srcs, dsts
    order = np.argsort(src, kind="stable")
    indices = dst[order]
    del dst, order
    indptr = np.zeros(total + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=total), out=indptr[1:])
    return CompactGraph(indptr, indices, n)


def _wr_pairs(a: Analysis, members: list[int]) -> Iterator[tuple[int, int]]:
    """(writer, reader) of each value a member read from another op, in the order of its reads."""
    writer_of = a.writer_of
    empty: dict = {}
    for r in members:
        rs = a.reads.get(r)
        if not rs:
            continue
        for k, lst in rs.items():
            wk = writer_of.get(k, empty)
            for _, v in lst:
                w = wk.get(v)
                if w is not None and w != r:
                    yield w, r


def dependency_graph(ctx: Vertices, members: list[int], kinds: tuple[str, ...]) -> Any:
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
        for w1, w2, k, v1, v2 in ww_pairs(ctx, mset):
            if w1 in mset and w2 in mset:
                link(w1, w2, "ww", {"type": "ww", "key": k, "value": v1, "value'": v2})
    if "rw" in kinds:
        for r, w, k, v1, v2 in rw_pairs(ctx, members):
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
