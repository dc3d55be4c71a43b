"""The queue checkers' shared `Analysis`, built from a columnar history with numpy joins.

`prozess.checkers.analysis` builds its facts with one Python pass over op objects. Here
the same facts come from the columns' send and read tables (`prozess.columnar`) as
vectorised group-bys and sorted joins over (key, value) codes:

- writer of each (key, value): the last send row of the code (`np.unique` on the reversed
  codes);
- each key's version order: the log facts (poll reads with a log position, then the
  acknowledged offsets of sends that must have committed) stably sorted by key and
  offset; the first value of each (key, offset) group is the log, other values there are
  its conflicts; the dense index of a (key, value) is its last position in the key's log;
- the read scan (`ReadScan`'s garbage, G1a, precommitted, internal poll deltas, wr links
  and windows, rw pairs): one vectorised pass over the read rows in the order the
  op-object scan visits them, with Python dicts made only for the cases found.

The Python dicts the checkers still index (writes and reads per op, writers, values read
ok) are filled from the tables; the version order and the read scan are never computed
with per-fact Python loops. `tests/unit/test_columnar.py` holds the whole check equal to
the op-object path.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np

from prozess.checkers.analysis import Analysis, ReadScan, VersionOrder
from prozess.columnar import CLIENT_FS, FAIL, INFO, INVOKE, NEMESIS_P, NO_OFFSET, OK, SUB_FS, Columns
from prozess.history import Op

__all__ = ["analysis_from_columns"]

CHUNK = 1 << 18  # rows turned into Python objects at a time (bounds the transient lists)


def _rows(*cols: np.ndarray):
    """Zips columns as Python values, a chunk at a time."""
    for lo in range(0, len(cols[0]), CHUNK):
        yield from zip(*(col[lo:lo + CHUNK].tolist() for col in cols))


def _lookup(table: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, position in `table`) of each code in the sorted array `table`."""
    pos = np.searchsorted(table, codes)
    pos_c = np.minimum(pos, max(len(table) - 1, 0))
    found = (pos < len(table)) & (table[pos_c] == codes) if len(table) else np.zeros(len(codes), bool)
    return found, pos_c


class _Facts:
    """The vectorised joins every pass shares (all arrays, ids into the columns' tables)."""

    def __init__(self, c: Columns):
        n = len(c)
        self.nv = nv = max(len(c.values), 1)
        self.s_code = c.send_key.astype(np.int64) * nv + c.send_value
        self.r_code = c.read_key.astype(np.int64) * nv + c.read_value
        s_type = c.type[c.send_op]
        r_type = c.type[c.read_op]
        # writer_of: the last send of each (key, value)
        rev = self.s_code[::-1]
        self.w_code, first = np.unique(rev, return_index=True)
        self.w_op = c.send_op[len(rev) - 1 - first] if len(rev) else np.zeros(0, np.int64)
        self.ok_codes = np.unique(self.r_code[r_type == OK])
        self.fail_codes = np.unique(self.s_code[s_type == FAIL])
        # sends that must have committed: ok, or info with a value some ok poll read
        read_ok_row = np.isin(self.s_code, self.ok_codes)
        committed = np.zeros(n, bool)
        committed[c.type == OK] = True
        committed[c.send_op[(s_type == INFO) & read_ok_row]] = True
        self.committed = committed
        # log facts: poll reads with a log position, in row order, then acknowledged offsets of committed sends
        r_keep = (c.read_offset != NO_OFFSET) & (c.read_offset >= 0)
        s_keep = committed[c.send_op] & (s_type != FAIL) & (c.send_offset != NO_OFFSET)
        key = np.concatenate([c.read_key[r_keep], c.send_key[s_keep]]).astype(np.int64)
        off = np.concatenate([c.read_offset[r_keep], c.send_offset[s_keep]])
        val = np.concatenate([c.read_value[r_keep], c.send_value[s_keep]])
        order = np.lexsort((off, key))  # stable: the first fact of each (key, offset) comes first
        key, off, val = key[order], off[order], val[order]
        new = np.ones(len(key), bool)
        if len(key):
            new[1:] = (key[1:] != key[:-1]) | (off[1:] != off[:-1])
        starts = np.nonzero(new)[0]
        self.log_key = key[starts]
        self.log_off = off[starts]
        self.log_val = val[starts]
        # conflicts: facts whose value differs from the first one at their (key, offset)
        group = np.cumsum(new) - 1
        differ = val != self.log_val[group] if len(key) else np.zeros(0, bool)
        self.extra: dict[int, dict[int, list[int]]] = {}
        for g, v in zip(group[differ].tolist(), val[differ].tolist()):
            more = self.extra.setdefault(int(self.log_key[g]), {}).setdefault(int(self.log_off[g]), [])
            if v not in more:
                more.append(v)
        # per key: [start, end) in the log arrays
        nk = len(c.keys)
        self.key_start = np.searchsorted(self.log_key, np.arange(nk + 1))
        dense = np.arange(len(self.log_key)) - self.key_start[self.log_key] if len(self.log_key) else np.zeros(0, np.int64)
        # dense index of each (key, value): its last position in the key's log (as VersionOrder.by_value)
        lcode = self.log_key * nv + self.log_val
        rev = lcode[::-1]
        self.bv_code, first = np.unique(rev, return_index=True)
        self.bv_idx = dense[len(rev) - 1 - first] if len(rev) else np.zeros(0, np.int64)

    def writer(self, codes: np.ndarray) -> np.ndarray:
        found, pos = _lookup(self.w_code, codes)
        return np.where(found, self.w_op[pos] if len(self.w_op) else 0, -1)

    def dense(self, codes: np.ndarray) -> np.ndarray:
        found, pos = _lookup(self.bv_code, codes)
        return np.where(found, self.bv_idx[pos] if len(self.bv_idx) else 0, -1)

    def orders(self, c: Columns) -> dict[str, VersionOrder]:
        keys, values = c.keys, c.values
        out = {}
        offs = self.log_off.tolist()
        vals = self.log_val.tolist()
        ks = self.key_start.tolist()
        for k in range(len(c.keys)):
            lo, hi = ks[k], ks[k + 1]
            if lo == hi:
                continue
            extra = {o: [values[v] for v in more] for o, more in sorted(self.extra.get(k, {}).items())}
            out[keys[k]] = VersionOrder.from_sorted(offs[lo:hi], [values[v] for v in vals[lo:hi]], extra)
        return out


def _scan(c: Columns, fx: _Facts, inv: np.ndarray, pollers: np.ndarray, rebalanced: dict[int, set]) -> ReadScan:
    """`ReadScan(analysis)` as one vectorised pass over the read rows."""
    keys, values = c.keys, c.values
    types = c.type
    n_rows = len(c.read_op)
    rows = np.arange(n_rows)
    op_all = c.read_op
    key_all = c.read_key.astype(np.int64)
    # The op-object scan visits ops in order, each op's keys in first-seen order, then each key's reads in order.
    nk = max(len(keys), 1)
    g_all = op_all * nk + key_all
    if n_rows and not np.all(g_all[1:] >= g_all[:-1]):
        ug, first_row, inverse = np.unique(g_all, return_index=True, return_inverse=True)
        order = np.lexsort((rows, first_row[inverse]))
    else:
        order = rows
    op, key = op_all[order], key_all[order]
    off = c.read_offset[order]
    val = c.read_value[order]
    code = fx.r_code[order]
    g = g_all[order]
    t = types[op]
    ok = t == OK
    node = t != FAIL
    w = fx.writer(code)
    idx = fx.dense(code)
    s_self = np.where(inv >= 0, inv, np.arange(len(inv)))  # the invocation, or the op itself
    sr = np.where(ok, op, s_self[op])
    w_c = np.maximum(w, 0)
    sw = np.where((types[w_c] == OK) & pollers[w_c], w_c, s_self[w_c])

    def off_of(o: int) -> Any:
        return None if o == NO_OFFSET else o

    scan = ReadScan.__new__(ReadScan)
    m = np.nonzero(w < 0)[0]
    scan.garbage = [{"key": keys[k], "value": values[v], "offset": off_of(o), "reader": i}
                    for k, v, o, i in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist())]
    m = np.nonzero(w == op)[0]
    _, first = np.unique(op[m], return_index=True)
    m = m[np.sort(first)]
    scan.precommitted = [{"key": keys[k], "value": values[v], "offset": off_of(o), "op": i}
                         for k, v, o, i in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist())]
    link = (w >= 0) & (w != op) & node
    scan.wr_links = int(link.sum())
    m = np.nonzero(link & (sw > sr))[0]
    scan.wr_windows = list(zip(sr[m].tolist(), sw[m].tolist()))
    m = np.nonzero(ok & np.isin(code, fx.fail_codes))[0]
    scan.g1a = [{"key": keys[k], "value": values[v], "offset": off_of(o), "reader": i, "writer": x}
                for k, v, o, i, x in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist(), w[m].tolist())]
    # internal poll order: successive reads of one key within one op, by dense index
    same = np.zeros(n_rows, bool)
    if n_rows:
        same[1:] = g[1:] == g[:-1]
    prev_idx = np.empty_like(idx)
    prev_idx[:1] = -1
    prev_idx[1:] = idx[:-1]
    cand = same & (idx >= 0) & (prev_idx >= 0)
    if rebalanced:  # Jepsen: a key the op's rebalance-log names was reassigned mid-op; its internal order says nothing
        key_id = {k: j for j, k in enumerate(keys)}
        exempt = [i * nk + key_id[k] for i, ks in rebalanced.items() for k in ks if k in key_id]
        cand &= ~np.isin(g, np.array(exempt, dtype=np.int64))
    d = idx - prev_idx
    ks = fx.key_start
    log_val = fx.log_val

    def delta_cases(mask: np.ndarray, kind: str) -> list[dict]:
        m = np.nonzero(mask)[0]
        out = []
        for r, k, i, dd, i1, i2 in zip(m.tolist(), key[m].tolist(), op[m].tolist(), d[m].tolist(), prev_idx[m].tolist(),
                                       idx[m].tolist()):
            case = {"type": kind, "key": keys[k], "values": [values[int(val[r - 1])], values[int(val[r])]], "delta": dd}
            if kind == "skip":
                lo = int(ks[k])
                case["skipped"] = [values[v] for v in log_val[lo + i1 + 1: lo + min(i2, i1 + 17)].tolist()]
            case["op"] = i
            out.append(case)
        return out

    scan.int_skip = delta_cases(cand & (d > 1), "skip")
    scan.int_nonmono = delta_cases(cand & (d < 1), "nonmonotonic")
    # rw: from each (op, key)'s highest read, to the writer of the next value in the key's log
    rw_arrays = None
    starts = np.nonzero(~same)[0]
    ends = np.append(starts[1:], n_rows) - 1 if n_rows else starts
    fx.read_groups = (op[starts], key[starts], val[starts], val[ends])  # (op, key, first value, last value)
    if n_rows:
        hi = np.maximum.reduceat(idx, starts)
        gk = key[starts]
        gop = op[starts]
        length = ks[gk + 1] - ks[gk]
        sel = node[starts] & (hi >= 0) & (hi + 1 < length)
        gk, gop, hi = gk[sel], gop[sel], hi[sel]
        v1 = log_val[ks[gk] + hi]
        v2 = log_val[ks[gk] + hi + 1]
        w2 = fx.writer(gk * fx.nv + v2)
        w2c = np.maximum(w2, 0)
        sel = (w2 >= 0) & (w2 != gop) & (types[w2c] != FAIL)
        rw_arrays = (gop[sel], w2[sel], gk[sel], v1[sel], v2[sel])
    scan.rw = [] if rw_arrays is None else [
        (i, x, keys[k], values[a], values[b]) for i, x, k, a, b in zip(*(col.tolist() for col in rw_arrays))]
    return scan


def _previous(proc: np.ndarray, key: np.ndarray, pos: np.ndarray, eligible: np.ndarray,
              subs: dict[int, list[tuple[int, set[int]]]]) -> np.ndarray:
    """For each group (process, key, op position), the group of the latest earlier eligible op of the same
    process on the same key (-1 if none), unless an ok/info assign/subscribe of that process in between
    dropped the key (the op-object pass then forgets the process's state for it)."""
    n = len(pos)
    prev = np.full(n, -1, np.int64)
    if not n:
        return prev
    order = np.lexsort((pos, key, proc))
    p, k = proc[order], key[order]
    run = np.ones(n, bool)
    run[1:] = (p[1:] != p[:-1]) | (k[1:] != k[:-1])
    run_start = np.maximum.accumulate(np.where(run, np.arange(n), 0))
    last = np.maximum.accumulate(np.where(eligible[order], np.arange(n), -1))
    before = np.full(n, -1, np.int64)
    before[1:] = last[:-1]
    before[before < run_start] = -1
    has = before >= 0
    prev[order[has]] = order[before[has]]
    if subs:  # drop the pairs an assign/subscribe in between cut (found by counting, checked one by one)
        span = int(max(pos.max(), max(x for lst in subs.values() for x, _ in lst))) + 1
        procs = np.unique(np.concatenate([proc, np.array(list(subs), dtype=np.int64)]))
        sub_codes = np.sort(np.array([int(np.searchsorted(procs, q)) * span + x for q, lst in subs.items() for x, _ in lst],
                                     dtype=np.int64))
        j = np.nonzero(prev >= 0)[0]
        rank = np.searchsorted(procs, proc[j]) * span
        between = np.searchsorted(sub_codes, rank + pos[j]) - np.searchsorted(sub_codes, rank + pos[prev[j]])
        sub_pos = {q: [x for x, _ in lst] for q, lst in subs.items()}
        for jj in j[between > 0].tolist():
            q = int(proc[jj])
            lo, hi = bisect.bisect_left(sub_pos[q], int(pos[prev[jj]])), bisect.bisect_left(sub_pos[q], int(pos[jj]))
            kk = int(key[jj])
            if any(kk not in keep for _, keep in subs[q][lo:hi]):
                prev[jj] = -1
    return prev


def _process_cases(c: Columns, fx: _Facts, sub_keeps: dict[int, list[tuple[int, set[int]]]]
                   ) -> tuple[list[dict], list[dict], list[dict]]:
    """`prozess.checkers.queue.process_cases` (poll-skip, nonmonotonic-poll, nonmonotonic-send) over the tables."""
    keys, values = c.keys, c.values
    types = c.type
    ks = fx.key_start
    log_val = fx.log_val

    def case(kind: str, k: int, v1: int, v2: int, i1: int, i2: int, ops: list[int]) -> dict:
        d = {"type": kind, "key": keys[k], "values": [values[v1], values[v2]], "delta": i2 - i1, "ops": ops}
        if kind == "skip":
            lo = int(ks[k])
            d["skipped"] = [values[v] for v in log_val[lo + i1 + 1: lo + min(i2, i1 + 17)].tolist()]
        return d

    # ---- polls: groups (op, key) in the order the op-object pass visits them
    g_op, g_key, g_first, g_last = fx.read_groups
    t = types[g_op]
    proc = c.process[g_op]
    prev = _previous(proc, g_key, g_op, t == OK, sub_keeps)
    has = np.nonzero(prev >= 0)[0]
    pv = g_last[prev[has]]
    nv = fx.nv
    i1 = fx.dense(g_key[has] * nv + pv)
    i2 = fx.dense(g_key[has] * nv + g_first[has])
    both = (i1 >= 0) & (i2 >= 0)
    d = i2 - i1
    skips, nonmono = [], []
    for j, a1, a2, dd, v1 in zip(has[both].tolist(), i1[both].tolist(), i2[both].tolist(), d[both].tolist(), pv[both].tolist()):
        if dd > 1 or dd < 1:
            (skips if dd > 1 else nonmono).append(
                case("skip" if dd > 1 else "nonmonotonic", int(g_key[j]), v1, int(g_first[j]), a1, a2,
                     [int(g_op[prev[j]]), int(g_op[j])]))
    # ---- sends: groups (op, key) of ok/info ops, keys in first-sent order
    s_op = c.send_op
    live = (types[s_op] == OK) | (types[s_op] == INFO)
    rows = np.nonzero(live)[0]
    nk = max(len(keys), 1)
    g = s_op[rows] * nk + c.send_key[rows].astype(np.int64)
    nm_send: list[dict] = []
    if len(g):
        ug, first_row = np.unique(g, return_index=True)
        _, rev_first = np.unique(g[::-1], return_index=True)
        last_row = len(g) - 1 - rev_first
        order = np.argsort(first_row, kind="stable")  # groups in first-sent order (rows are in op order)
        w_op = ug[order] // nk
        w_key = ug[order] % nk
        w_first = c.send_value[rows[first_row[order]]]
        w_last = c.send_value[rows[last_row[order]]]
        prev = _previous(c.process[w_op], w_key, w_op, np.ones(len(w_op), bool), sub_keeps)
        has = np.nonzero(prev >= 0)[0]
        pv = w_last[prev[has]]
        i1 = fx.dense(w_key[has] * nv + pv)
        i2 = fx.dense(w_key[has] * nv + w_first[has])
        bad = (i1 >= 0) & (i2 >= 0) & (i2 - i1 < 1)
        for j, a1, a2, v1 in zip(has[bad].tolist(), i1[bad].tolist(), i2[bad].tolist(), pv[bad].tolist()):
            nm_send.append(case("nonmonotonic", int(w_key[j]), v1, int(w_first[j]), a1, a2, [int(w_op[prev[j]]), int(w_op[j])]))
    return skips, nonmono, nm_send


class _Reads(Mapping):
    """`Analysis.reads` backed by the read table: {key: [(offset, value), ...]} of an op, made when asked.

    The checkers look up the reads of a few ops (graph members, examples); only the rare
    passes that explain a case walk all of them."""

    def __init__(self, c: Columns, offsets: dict[int, int]):
        self._op, self._key, self._off, self._val = c.read_op, c.read_key, c.read_offset, c.read_value
        self._pollers = c.pollers  # sorted: ops with a poll micro-op that returned a map
        self._keys, self._values = c.keys, c.values
        self._offsets = offsets
        self._cache: dict[int, dict] = {}

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        j = int(np.searchsorted(self._pollers, i))
        return j < len(self._pollers) and int(self._pollers[j]) == i

    def __getitem__(self, i: int) -> dict:
        rs = self._cache.get(i)
        if rs is not None:
            return rs
        if i not in self:
            raise KeyError(i)
        lo, hi = np.searchsorted(self._op, [i, i + 1])
        rs = {}
        keys, values, offsets = self._keys, self._values, self._offsets
        for k, o, v in zip(self._key[lo:hi].tolist(), self._off[lo:hi].tolist(), self._val[lo:hi].tolist()):
            kk = keys[k]
            lst = rs.get(kk)
            if lst is None:
                lst = rs[kk] = []
            lst.append((None if o == NO_OFFSET else offsets.setdefault(o, o), values[v]))
        if len(self._cache) < 1 << 16:
            self._cache[i] = rs
        return rs

    def __iter__(self):
        return iter(self._pollers.tolist())

    def __len__(self) -> int:
        return len(self._pollers)


class ColumnarAnalysis(Analysis):
    """An `Analysis` built from columns; passes that have a vectorised form here answer from the tables."""

    def columnar_process_cases(self) -> tuple[list[dict], list[dict], list[dict]] | None:
        """The process-order cases, or None when an assign/subscribe value was not a list of keys
        (the op-object pass then runs and says what is wrong, as on the op-object path)."""
        return self._process

    def s_map(self) -> dict[int, int]:
        """`Analysis.s_map` computed over the columns in one vectorised step."""
        if self._s_map is None:
            txns, s = self._s_columns
            self._s_map = dict(zip(txns.tolist(), s.tolist()))
        return self._s_map


def analysis_from_columns(c: Columns, ops: list[Op]) -> Analysis:
    """The `Analysis` that `Analysis(ops)` builds from the full ops, built from the fact tables instead."""
    a = ColumnarAnalysis.__new__(ColumnarAnalysis)
    a.ops = ops
    n = len(ops)
    inv = c.pair.copy()
    client_completion = (c.type != INVOKE) & (c.process != NEMESIS_P)
    inv[~client_completion] = -1
    a.inv = array("q", inv.astype(np.int64).tobytes())  # indexes as Python ints, 8 bytes each
    fs = np.array(c.fs, dtype=object)
    fnames = fs[c.f] if n else np.zeros(0, dtype=object)
    is_client_f = np.isin(fnames, list(CLIENT_FS)) if n else np.zeros(0, bool)
    is_sub_f = np.isin(fnames, list(SUB_FS)) if n else np.zeros(0, bool)
    a.txns = np.nonzero(client_completion & is_client_f)[0].tolist()
    a.subs = np.nonzero(client_completion & is_sub_f)[0].tolist()
    a.writes, a.reads, a.writer_of, a.read_ok, a.failed = {}, {}, {}, {}, {}
    a.rebalanced, a.final_keys, a.final_values, a.final_readers, a.final_subs = {}, set(), {}, {}, []
    a._scan = None
    a._s_map = None
    types = c.type
    final_ops: set[int] = set()
    for i, more in c.extra.items():
        if types[i] == INVOKE or c.process[i] == NEMESIS_P:
            continue
        if more.get("final") is True:
            final_ops.add(i)
        rl = more.get("rebalance-log")
        if rl and isinstance(rl, list):
            a.rebalanced[i] = {str(k) for e in rl if isinstance(e, dict) for k in (e.get("keys") or ())}
    for i in a.subs:
        value = ops[i].value
        if i in final_ops and types[i] == OK and isinstance(value, list):
            a.final_keys.update(str(k) for k in value)
            a.final_subs.append(i)
    keys = c.keys
    values = c.values
    fx = _Facts(c)
    # ---- writer_of, failed and read_ok from the joined codes (one dict or set per key)
    nv = fx.nv

    def per_key(codes: np.ndarray):
        kk = codes // nv
        cut = np.searchsorted(kk, np.arange(len(keys) + 1))
        vv = (codes % nv).tolist()
        for k in range(len(keys)):
            if cut[k] < cut[k + 1]:
                yield keys[k], vv[cut[k]:cut[k + 1]], int(cut[k]), int(cut[k + 1])

    w_op = fx.w_op.tolist()
    for k, vs, lo, hi in per_key(fx.w_code):
        a.writer_of[k] = dict(zip([values[v] for v in vs], w_op[lo:hi]))
    for k, vs, _, _ in per_key(fx.fail_codes):
        a.failed[k] = {values[v] for v in vs}
    for k, vs, _, _ in per_key(fx.ok_codes):
        a.read_ok[k] = {values[v] for v in vs}
    # ---- writes per op, in op then micro-op order
    writes = a.writes
    offsets: dict[int, int] = {}  # one int object per distinct offset, shared by every row that has it
    for i, k, v, o in _rows(c.send_op, c.send_key, c.send_value, c.send_offset):
        ws = writes.get(i)
        if ws is None:
            ws = writes[i] = []
        ws.append((keys[k], values[v], None if o == NO_OFFSET else offsets.setdefault(o, o)))
    # ---- reads: {key: [(offset, value), ...]} per op, made when a checker asks for an op's reads
    a.reads = _Reads(c, offsets)
    if final_ops:
        fin = np.isin(c.read_op, np.fromiter(final_ops, np.int64, len(final_ops)))
        for k, vs, _, _ in per_key(np.unique(fx.r_code[fin])):
            a.final_values[k] = {values[v] for v in vs}
    for i, kids in sorted(c.final_reads.items()):
        if i in final_ops:
            for k in kids:
                a.final_readers.setdefault(keys[k], []).append(i)
    a.orders = fx.orders(c)
    a.conflicts = {}
    for k, vo in a.orders.items():
        if vo.extra:
            a.conflicts[k] = {o: [vo.by_index[bisect.bisect_left(vo.offsets, o)]] + more for o, more in vo.extra.items()}
    pollers = np.zeros(n, bool)
    pollers[c.pollers] = True
    txns = np.asarray(a.txns, dtype=np.int64)
    s_self = np.where(inv[txns] >= 0, inv[txns], txns)
    a._s_columns = (txns, np.where((types[txns] == OK) & pollers[txns], txns, s_self))
    a._scan = _scan(c, fx, inv, pollers, a.rebalanced)
    key_id = {k: j for j, k in enumerate(keys)}
    sub_keeps: dict[int, list[tuple[int, set[int]]]] = {}
    try:
        for i in a.subs:
            if types[i] == OK or types[i] == INFO:
                keep = {key_id[str(k)] for k in (ops[i].value or ()) if str(k) in key_id}
                sub_keeps.setdefault(int(c.process[i]), []).append((i, keep))
    except TypeError:
        a._process = None
    else:
        a._process = _process_cases(c, fx, sub_keeps)
    return a
