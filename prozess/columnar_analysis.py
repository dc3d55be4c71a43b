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

What the checkers index (writers, values read ok, failed sends, final reads, each key's
version order, the txn graph's vertices) are array-backed views (`prozess.columnar_views`);
writes and reads per op are made from the tables when a checker asks for an op's. Lost
writes, truncation and the txn graph's wr edges are joins over the arrays; no pass loops in
Python over every fact. `tests/unit/test_columnar.py` holds the whole check equal to the
op-object path.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from prozess.checkers.analysis import Analysis, ReadScan, VersionOrder
from prozess.columnar import (CLIENT_FS, FAIL, INFO, INVOKE, NEMESIS_P, NO_OFFSET, OK, SUB_FS, Columns, distinct_of_parts, index_dtype,
                              release_free_memory, take)
from prozess.columnar_spill import SpilledParts, to_disk
from prozess.columnar_views import ArrayOrder, IntList, KeyedCodes, Membership, PairList
from prozess.history import Op

__all__ = ["analysis_from_columns"]

def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (`np.unique` by sorting: numpy 2's hashing unique is ~20x slower on int64 codes)."""
    s = np.sort(x)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def _lookup(table: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, position in `table`) of each code in the sorted array `table`.

    Codes wider than a 4-byte table are searched as the table's type (numpy would otherwise copy the whole
    table to 8 bytes on every call); a code outside its range is not found."""
    inside = None
    if table.dtype.kind == codes.dtype.kind == "i" and table.dtype.itemsize < codes.dtype.itemsize:
        lim = np.iinfo(table.dtype)
        inside = (codes >= lim.min) & (codes <= lim.max)
        codes = codes.astype(table.dtype)
    pos = np.searchsorted(table, codes)
    pos_c = np.minimum(pos, max(len(table) - 1, 0))
    found = (pos < len(table)) & (table[pos_c] == codes) if len(table) else np.zeros(len(codes), bool)
    if inside is not None:
        found &= inside
    return found, pos_c


def _search(table: np.ndarray, x: np.ndarray, side: str = "left") -> np.ndarray:
    """`np.searchsorted(table, x, side)` without numpy's copy of the whole table: numpy searches in the common
    type, so a 4-byte table searched for 8-byte values is first copied to 8 bytes on every call (a 17M-row
    read table: 136 MB and a tenth of a second per call). Values beyond the table's type are searched as its
    bounds and placed after (or before) every row."""
    if not (table.dtype.kind == x.dtype.kind == "i" and table.dtype.itemsize < x.dtype.itemsize):
        return np.searchsorted(table, x, side)
    lim = np.iinfo(table.dtype)
    pos = np.searchsorted(table, np.clip(x, lim.min, lim.max).astype(table.dtype), side)
    pos[x > lim.max] = len(table)
    pos[x < lim.min] = 0
    return pos


def _runs(sorted_values: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) chunks of about `size` rows of a sorted array, cut only where its value changes (so a pass
    grouped by that value sees each group whole; one value with more rows than `size` is one chunk)."""
    n = len(sorted_values)
    lo = 0
    while lo < n:
        hi = min(lo + size, n)
        if hi < n:
            hi = int(np.searchsorted(sorted_values, sorted_values[hi], "left"))
            if hi <= lo:
                hi = int(np.searchsorted(sorted_values, sorted_values[lo], "right"))
        yield lo, hi
        lo = hi


def _in_chunks(n: int, f: Callable[[int, int], np.ndarray], dtype: Any) -> np.ndarray:
    """The rows [0, n) of an array made `SCAN_ROWS` rows at a time by `f(lo, hi)`: each piece's temporaries die
    with it, so what covers every row is the result alone."""
    out = np.empty(n, dtype)
    for lo in range(0, n, SCAN_ROWS):
        hi = min(lo + SCAN_ROWS, n)
        out[lo:hi] = f(lo, hi)
    return out


def _rows_where(n: int, f: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """`np.nonzero` of the mask over rows [0, n) that `f(lo, hi)` gives a chunk at a time (no mask of every row)."""
    parts = [lo + np.nonzero(f(lo, min(lo + SCAN_ROWS, n)))[0] for lo in range(0, n, SCAN_ROWS)]
    return np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, np.int64)


def _key_batches(counts: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """[klo, khi) ranges of key ids whose rows (`counts[k]` per key) add up to about `size`; a key is never
    split, so one key with more rows than `size` is a batch of its own."""
    per_key = np.cumsum(counts)
    klo = 0
    while klo < len(counts):
        khi = max(int(np.searchsorted(per_key, (per_key[klo - 1] if klo else 0) + size, "right")), klo + 1)
        yield klo, khi
        klo = khi


class _Facts:
    """The vectorised joins every pass shares (all arrays, ids into the columns' tables)."""

    def __init__(self, c: Columns):
        n = len(c)
        self.nv = max(len(c.values), 1)
        # a (key, value) code is below len(keys) * nv: 4 bytes per code while that is under 2**31
        self.code_t = index_dtype(len(c.keys) * self.nv)
        # the (key, value) codes of the rows are made when a pass needs them, not kept (8 bytes per fact)
        self._send = (c.send_key, c.send_value)
        self._read = (c.read_key, c.read_value)
        # every array over all rows below is made a chunk at a time (`_in_chunks`): only the result covers them
        n_s, n_r = len(c.send_op), len(c.read_op)
        s_type = c.type[c.send_op]
        s_code = _in_chunks(n_s, lambda lo, hi: self.s_codes(slice(lo, hi)), self.code_t)
        # a spilled history's tables go to disk as they are made (`to_disk`), so they never all stand in memory at once
        store = to_disk if c.spilled else (lambda x: x)
        nk = len(c.keys)
        # writer_of: the last send of each (key, value), a batch of whole keys at a time: the codes of a range of
        # keys are a range of codes, so the batches' tables laid end to end are the one sorted table
        s_counts = np.zeros(nk, np.int64)
        for lo in range(0, n_s, SCAN_ROWS):
            s_counts += np.bincount(c.send_key[lo:lo + SCAN_ROWS], minlength=nk)
        pos_t = index_dtype(n)  # op positions in 4 bytes while they fit
        w_parts = SpilledParts(c.spilled)
        for klo, khi in _key_batches(s_counts, LOG_ROWS):
            rows = (np.arange(n_s) if (klo, khi) == (0, nk) else
                    _rows_where(n_s, lambda lo, hi: (c.send_key[lo:hi] >= klo) & (c.send_key[lo:hi] < khi)))
            rev = s_code[rows][::-1]
            w_code, first = np.unique(rev, return_index=True)
            w_parts.append((w_code, c.send_op[rows[len(rev) - 1 - first]].astype(pos_t)))
            del rows, rev, first, w_code
        w_code, w_op = w_parts.columns([np.zeros(0, self.code_t), np.zeros(0, pos_t)])
        self.w_code, self.w_op = store(w_code), store(w_op)
        del w_code, w_op
        self.ok_codes = store(self._distinct_read_codes(_in_chunks(n_r, lambda lo, hi: c.type[c.read_op[lo:hi]] == OK, bool)))
        self.fail_codes = _unique(s_code[s_type == FAIL])
        # sends that must have committed: ok, or info with a value some ok poll read
        read_ok_row = _in_chunks(n_s, lambda lo, hi: _lookup(self.ok_codes, s_code[lo:hi])[0], bool)
        s_code = None  # freed (not `del`: the chunks' functions above name it)
        committed = _in_chunks(n, lambda lo, hi: c.type[lo:hi] == OK, bool)
        committed[c.send_op[(s_type == INFO) & read_ok_row]] = True
        self.committed = store(committed)
        del committed
        # log facts: poll reads with a log position, in row order, then acknowledged offsets of committed sends;
        # sorted a batch of whole keys at a time (about LOG_ROWS facts), so no sort covers every fact at once
        def r_kept(lo: int, hi: int) -> np.ndarray:
            o = c.read_offset[lo:hi]
            return (o != NO_OFFSET) & (o >= 0)

        r_keep = _in_chunks(n_r, r_kept, bool)
        s_keep = _in_chunks(n_s, lambda lo, hi: self.committed[c.send_op[lo:hi]] & (s_type[lo:hi] != FAIL)
                            & (c.send_offset[lo:hi] != NO_OFFSET), bool)
        s_type = read_ok_row = None
        counts = np.zeros(nk, np.int64)
        for keep, key in ((r_keep, c.read_key), (s_keep, c.send_key)):
            for lo in range(0, len(keep), SCAN_ROWS):
                counts += np.bincount(key[lo:lo + SCAN_ROWS][keep[lo:lo + SCAN_ROWS]], minlength=nk)
        self.extra: dict[int, dict[int, list[int]]] = {}
        parts = SpilledParts(c.spilled)
        for klo, khi in _key_batches(counts, LOG_ROWS):
            if (klo, khi) == (0, nk):
                r_rows, s_rows = np.nonzero(r_keep)[0], np.nonzero(s_keep)[0]
            else:
                r_rows = _rows_where(n_r, lambda lo, hi: r_keep[lo:hi] & (c.read_key[lo:hi] >= klo) & (c.read_key[lo:hi] < khi))
                s_rows = _rows_where(n_s, lambda lo, hi: s_keep[lo:hi] & (c.send_key[lo:hi] >= klo) & (c.send_key[lo:hi] < khi))
            parts.append(self._log_batch(c, r_rows, s_rows, klo, khi))
        r_keep = s_keep = None
        e = np.zeros(0, np.int64)
        log_off, log_val, bv_code, bv_idx, fo_code, fo_off, lengths = parts.columns(
            [e, e.astype(c.read_value.dtype), e, e.astype(np.int32), e, e, e])
        if len(log_off) and int(log_off.min()) >= 0 and int(log_off.max()) < 2**31:
            log_off = log_off.astype(np.int32)  # offsets of a log that fits: 4 bytes per entry
        self.log_off, self.log_val = store(log_off), store(log_val)
        self.bv_code, self.bv_idx, self.fo_code, self.fo_off = store(bv_code), store(bv_idx), store(fo_code), store(fo_off)
        # per key: [start, end) in the log arrays
        self.key_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    KEPT = ("w_code", "w_op", "ok_codes", "committed", "log_off", "log_val", "bv_code", "bv_idx", "fo_code", "fo_off")

    def _log_batch(self, c: Columns, r_rows: np.ndarray, s_rows: np.ndarray, klo: int, khi: int) -> tuple:
        """The log of keys [klo, khi) from their fact rows: (offsets, values, by-value codes, dense indices,
        lowest-offset codes, lowest offsets, log length per key); conflicts go into `self.extra`."""
        nv = self.nv
        key = np.concatenate([c.read_key[r_rows], c.send_key[s_rows]])
        off = np.concatenate([c.read_offset[r_rows], c.send_offset[s_rows]])
        order = np.lexsort((off, key))  # stable: the first fact of each (key, offset) comes first
        key = key[order]  # one array at a time: a history's facts are its largest arrays
        off = off[order]
        val = np.concatenate([c.read_value[r_rows], c.send_value[s_rows]])[order]
        del order
        new = np.ones(len(key), bool)
        if len(key):
            new[1:] = (key[1:] != key[:-1]) | (off[1:] != off[:-1])
        starts = np.nonzero(new)[0]
        log_key = key[starts].astype(np.int64)
        log_off = off[starts]
        log_val = val[starts]
        # conflicts: facts whose value differs from the first one at their (key, offset)
        group = np.cumsum(new, dtype=np.int64) - 1
        del new, starts
        differ = val != log_val[group] if len(key) else np.zeros(0, bool)
        for g, v in zip(group[differ].tolist(), val[differ].tolist()):
            more = self.extra.setdefault(int(log_key[g]), {}).setdefault(int(log_off[g]), [])
            if v not in more:
                more.append(v)
        del group, differ
        key_start = np.searchsorted(log_key, np.arange(klo, khi + 1))
        dense = np.arange(len(log_key)) - key_start[log_key - klo] if len(log_key) else np.zeros(0, np.int64)
        # dense index of each (key, value): its last position in the key's log (as VersionOrder.by_value)
        rev = self.codes(log_key, log_val)[::-1]
        bv_code, first = np.unique(rev, return_index=True)
        # a dense index is below its key's log length: 4 bytes per log entry while the log has < 2**31
        bv_idx = dense[len(rev) - 1 - first].astype(index_dtype(len(log_key))) if len(rev) else np.zeros(0, np.int32)
        del rev, dense, first
        # lowest offset of each (key, value) over every fact (the log and its conflicts), for the offsets checker;
        # needed only for keys whose log repeats a value or has conflicts (the others use the dense index)
        distinct = np.diff(_search(bv_code, np.arange(klo, khi + 1, dtype=np.int64) * nv))
        irregular = distinct != np.diff(key_start)
        irregular[[k - klo for k in self.extra if klo <= k < khi]] = True
        some = irregular[key - klo] if len(key) else np.zeros(0, bool)
        fo_code, first = np.unique(self.codes(key[some], val[some]), return_index=True)
        return log_off, log_val, bv_code, bv_idx, fo_code, off[some][first], np.diff(key_start)

    def _distinct_read_codes(self, mask: np.ndarray) -> np.ndarray:
        """The sorted distinct (key, value) codes of the read rows where `mask` holds, a chunk of `SCAN_ROWS`
        rows at a time: no 8-byte index or code array for every read row (they are a history's most)."""
        parts = [_unique(self.r_codes(lo + np.nonzero(mask[lo:lo + SCAN_ROWS])[0])) for lo in range(0, len(mask), SCAN_ROWS)]
        return distinct_of_parts(parts, self.code_t) if len(parts) > 1 else parts[0] if parts else np.zeros(0, self.code_t)

    def codes(self, key: np.ndarray, value: np.ndarray) -> np.ndarray:
        """The (key, value) codes `key * nv + value`, as `code_t` (exact: every code is below len(keys) * nv)."""
        return key.astype(self.code_t) * self.code_t.type(self.nv) + value.astype(self.code_t, copy=False)

    def s_codes(self, rows: Any = slice(None)) -> np.ndarray:
        """The (key, value) codes of the send rows `rows` (a slice or an index array)."""
        key, value = self._send
        return self.codes(key[rows], value[rows])

    def r_codes(self, rows: Any = slice(None)) -> np.ndarray:
        """The (key, value) codes of the read rows `rows` (a slice or an index array)."""
        key, value = self._read
        return self.codes(key[rows], value[rows])

    def writer(self, codes: np.ndarray) -> np.ndarray:
        found, pos = _lookup(self.w_code, codes)
        return np.where(found, self.w_op[pos] if len(self.w_op) else 0, -1)

    def dense(self, codes: np.ndarray) -> np.ndarray:
        found, pos = _lookup(self.bv_code, codes)
        return np.where(found, self.bv_idx[pos] if len(self.bv_idx) else 0, -1)

    def orders(self, c: Columns) -> dict[str, VersionOrder]:
        """Each key's `VersionOrder`: views over the log arrays when the key's values are distinct and
        unconflicted (the usual case), else the dict-based order (Python objects for that key only)."""
        keys, values = c.keys, c.values
        out = {}
        ks = self.key_start.tolist()
        by_value = KeyedCodes(self.bv_code, self.nv, keys, c.value_id, values, self.bv_idx)
        for k in range(len(c.keys)):
            lo, hi = ks[k], ks[k + 1]
            if lo == hi:
                continue
            bv = by_value[keys[k]]
            if k not in self.extra and len(bv) == hi - lo:
                out[keys[k]] = ArrayOrder.of(self.log_off[lo:hi], self.log_val[lo:hi], values, bv)
                continue
            extra = {o: [values[v] for v in more] for o, more in sorted(self.extra.get(k, {}).items())}
            out[keys[k]] = VersionOrder.from_sorted(self.log_off[lo:hi].tolist(), take(values, self.log_val[lo:hi]), extra)
        return out


WR_MEMBERS = 1 << 16  # txn graph members whose reads the wr join takes at a time
SCAN_ROWS = 1 << 18  # read rows per chunk of the read scan (its temporaries are about 100 bytes per row: ~25 MiB)


class _Quintuples(Sequence):
    """A list of 5-tuples kept as five int arrays (ids into the columns' tables), made into tuples when read:
    `ReadScan.rw` holds one per (reader, key) and has millions of them on a long history."""

    def __init__(self, cols: list[np.ndarray], keys: list, values: Any):
        self._cols = cols
        self._keys, self._values = keys, values

    def __len__(self) -> int:
        return len(self._cols[0])

    def _rows(self, lo: int, hi: int) -> list[tuple]:
        i, x, k, a, b = (col[lo:hi] for col in self._cols)
        keys = self._keys
        return list(zip(i.tolist(), x.tolist(), [keys[j] for j in k.tolist()], take(self._values, a), take(self._values, b)))

    def __getitem__(self, j: Any) -> Any:
        if isinstance(j, slice):
            lo, hi, step = j.indices(len(self))
            return self._rows(lo, hi)[::step] if step != 1 else self._rows(lo, hi)
        if j < 0:
            j += len(self)
        if not 0 <= j < len(self):
            raise IndexError(j)
        return self._rows(j, j + 1)[0]

    def __iter__(self):
        for lo in range(0, len(self), 1 << 16):
            yield from self._rows(lo, lo + (1 << 16))

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """The first two items of every tuple as two arrays (the graph's edges: no tuple per pair)."""
        return self._cols[0], self._cols[1]

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, Sequence)) else NotImplemented


def _selves(inv: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """The invocation of each op of `ops`, or the op itself when it has none (no column of it for every op)."""
    s = inv[ops]
    return np.where(s >= 0, s, ops)


def _scan(c: Columns, fx: _Facts, inv: np.ndarray, pollers: np.ndarray, rebalanced: dict[int, set]) -> ReadScan:
    """`ReadScan(analysis)` as vectorised passes over chunks of the read rows (each chunk holds whole ops, so
    every comparison stays inside one chunk and the temporaries are bounded by the chunk)."""
    scan = ReadScan.__new__(ReadScan)
    scan.garbage, scan.precommitted, scan.g1a, scan.int_skip, scan.int_nonmono = [], [], [], [], []
    scan.wr_links = 0
    windows = SpilledParts(False)  # (s(reader), s(writer)) arrays per chunk: millions of pairs on a long history
    rw = SpilledParts(c.spilled)  # on disk as it is made, for a spilled history
    exempt = _exempt(c, rebalanced)
    for lo, hi in _runs(c.read_op, SCAN_ROWS):  # chunks of whole ops
        _scan_rows(c, fx, inv, pollers, exempt, lo, hi, scan, rw, windows)
    pos_t = index_dtype(len(c.type))
    e4, ep, ev = np.zeros(0, np.int32), np.zeros(0, pos_t), np.zeros(0, c.read_value.dtype)
    scan.wr_windows = PairList(*windows.columns([ep, ep]))
    scan.rw = _Quintuples(rw.columns([ep, ep, e4, ev, ev]), c.keys, c.values)
    return scan


def _exempt(c: Columns, rebalanced: dict[int, set]) -> np.ndarray | None:
    """The sorted (op, key) codes whose internal poll order says nothing (Jepsen: a key the op's rebalance-log
    names was reassigned mid-op), or None when no op has a rebalance-log."""
    if not rebalanced:
        return None
    nk = max(len(c.keys), 1)
    key_id = {k: j for j, k in enumerate(c.keys)}
    return _unique(np.array([i * nk + key_id[k] for i, ks in rebalanced.items() for k in ks if k in key_id],
                            dtype=np.int64))


def _scan_rows(c: Columns, fx: _Facts, inv: np.ndarray, pollers: np.ndarray, exempt: np.ndarray | None,
               lo: int, hi: int, scan: ReadScan, rw: SpilledParts, windows: SpilledParts) -> None:
    """The read scan over rows [lo, hi) (whole ops), appending to `scan`'s lists and `rw`."""
    keys, values = c.keys, c.values
    types = c.type
    n_rows = hi - lo
    # The op-object scan visits ops in order, each op's keys in first-seen order, then each key's reads in order.
    nk = max(len(keys), 1)
    op = c.read_op[lo:hi].astype(np.int64)  # 8 bytes whatever the column's: op * nk can pass 2**31
    key = c.read_key[lo:hi].astype(np.int64)
    g = op * nk + key
    order = None
    if n_rows and not np.all(g[1:] >= g[:-1]):
        _, first_row, inverse = np.unique(g, return_index=True, return_inverse=True)
        order = np.argsort(first_row[inverse], kind="stable")
        del first_row, inverse
        op, key, g = op[order], key[order], g[order]
    off = c.read_offset[lo:hi] if order is None else c.read_offset[lo:hi][order]
    val = c.read_value[lo:hi] if order is None else c.read_value[lo:hi][order]
    del order
    code = fx.codes(key, val)
    t = types[op]
    ok = t == OK
    node = t != FAIL
    del t
    w = fx.writer(code)
    idx = fx.dense(code)
    sr = np.where(ok, op, _selves(inv, op))
    w_c = np.maximum(w, 0)
    sw = np.where((types[w_c] == OK) & pollers[w_c], w_c, _selves(inv, w_c))
    del w_c

    def off_of(o: int) -> Any:
        return None if o == NO_OFFSET else o

    m = np.nonzero(w < 0)[0]
    scan.garbage += [{"key": keys[k], "value": values[v], "offset": off_of(o), "reader": i}
                    for k, v, o, i in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist())]
    m = np.nonzero(w == op)[0]
    _, first = np.unique(op[m], return_index=True)
    m = m[np.sort(first)]
    scan.precommitted += [{"key": keys[k], "value": values[v], "offset": off_of(o), "op": i}
                         for k, v, o, i in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist())]
    link = (w >= 0) & (w != op) & node
    scan.wr_links += int(link.sum())
    m = np.nonzero(link & (sw > sr))[0]
    windows.append((sr[m], sw[m]))
    del link, sr, sw
    m = np.nonzero(ok & _lookup(fx.fail_codes, code)[0])[0]
    scan.g1a += [{"key": keys[k], "value": values[v], "offset": off_of(o), "reader": i, "writer": x}
                for k, v, o, i, x in zip(key[m].tolist(), val[m].tolist(), off[m].tolist(), op[m].tolist(), w[m].tolist())]
    # internal poll order: successive reads of one key within one op, by dense index
    same = np.zeros(n_rows, bool)
    if n_rows:
        same[1:] = g[1:] == g[:-1]
    prev_idx = np.empty_like(idx)
    prev_idx[:1] = -1
    prev_idx[1:] = idx[:-1]
    cand = same & (idx >= 0) & (prev_idx >= 0)
    if exempt is not None:  # a key the op's rebalance-log names was reassigned mid-op: its internal order says nothing
        cand &= ~_lookup(exempt, g)[0]
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
                start = int(ks[k])
                case["skipped"] = [values[v] for v in log_val[start + i1 + 1: start + min(i2, i1 + 17)].tolist()]
            case["op"] = i
            out.append(case)
        return out

    scan.int_skip += delta_cases(cand & (d > 1), "skip")
    scan.int_nonmono += delta_cases(cand & (d < 1), "nonmonotonic")
    # rw: from each (op, key)'s highest read, to the writer of the next value in the key's log
    starts = np.nonzero(~same)[0]
    pos_t = index_dtype(len(types))  # the rw pairs are kept: 4 bytes per op position and key
    if n_rows:
        top = np.maximum.reduceat(idx, starts)
        gk = key[starts]
        gop = op[starts]
        length = ks[gk + 1] - ks[gk]
        sel = node[starts] & (top >= 0) & (top + 1 < length)
        gk, gop, top = gk[sel], gop[sel], top[sel]
        v1 = log_val[ks[gk] + top]
        v2 = log_val[ks[gk] + top + 1]
        w2 = fx.writer(fx.codes(gk, v2))
        w2c = np.maximum(w2, 0)
        sel = (w2 >= 0) & (w2 != gop) & (types[w2c] != FAIL)
        rw.append((gop[sel].astype(pos_t), w2[sel].astype(pos_t), gk[sel].astype(np.int32), v1[sel], v2[sel]))


LOG_ROWS = 1 << 21  # log facts per batch of keys sorted at once
OFFSET_ROWS = 1 << 20  # send rows per batch of keys of the linearizable-offsets sweep
PROCESS_ROWS = 1 << 18  # groups per chunk of the process-order pass (its temporaries are ~100 bytes per group: ~25 MiB)


def _previous(proc: np.ndarray, key: np.ndarray, pos: np.ndarray, eligible: np.ndarray,
              subs: dict[int, list[tuple[int, set[int]]]]) -> np.ndarray:
    """For each group (process, key, op position), the group of the latest earlier eligible op of the same
    process on the same key (-1 if none), unless an ok/info assign/subscribe of that process in between
    dropped the key (the op-object pass then forgets the process's state for it).

    The groups are walked in chunks of about `PROCESS_ROWS` groups that hold whole processes (ranges of
    process ids cut from the sorted processes), each chunk's groups sorted by (process, key, position)
    on their own, so every comparison stays inside a chunk and no sort order covers every group: what
    lives for the whole pass is the result, 4 bytes per group while there are under 2^31 groups (the
    sorted processes only long enough to cut the ranges)."""
    n = len(pos)
    idx_t = index_dtype(n)
    prev = np.full(n, -1, idx_t)
    if not n:
        return prev
    p_sorted = np.sort(proc)
    ranges = [(p_sorted[lo], p_sorted[hi - 1]) for lo, hi in _runs(p_sorted, PROCESS_ROWS)]  # whole processes
    del p_sorted
    for plo, phi in ranges:
        rows = np.nonzero((proc >= plo) & (proc <= phi))[0] if len(ranges) > 1 else np.arange(n)
        _previous_chunk(rows[np.lexsort((pos[rows], key[rows], proc[rows]))], proc, key, eligible, prev)
        del rows
    if subs:
        _cut_by_subs(proc, key, pos, prev, subs)
    return prev


SUB_KEEPS = 1 << 24  # most (process, kept key, position) rows `_cut_by_subs` counts with (128 MiB); beyond, one by one


def _cut_by_subs(proc: np.ndarray, key: np.ndarray, pos: np.ndarray, prev: np.ndarray,
                 subs: dict[int, list[tuple[int, set[int]]]]) -> None:
    """Drops from `prev` the pairs an ok/info assign/subscribe of the process in between cut: one whose keys did
    not include the pair's key. Counted, not walked: a pair of a process that has subs is cut when fewer of
    the subs in between kept its key than there are subs in between (two sorted code tables, (process,
    position) and (process, key, position), searched at both ends of the pair). The pairs are checked one by
    one instead when the kept keys are more than `SUB_KEEPS` rows or the codes would pass 2^62."""
    n = len(pos)
    span = int(max(pos.max(), max(x for lst in subs.values() for x, _ in lst))) + 1
    procs = np.sort(np.array(list(subs), dtype=np.int64))
    rank_of = dict(zip(procs.tolist(), range(len(procs))))
    sub_codes = np.sort(np.array([rank_of[q] * span + x for q, lst in subs.items() for x, _ in lst], dtype=np.int64))
    nk = int(max(int(key.max()), max((k for lst in subs.values() for _, keep in lst for k in keep), default=0))) + 1
    kept_rows = sum(len(keep) for lst in subs.values() for _, keep in lst)
    counted = kept_rows <= SUB_KEEPS and len(procs) * nk * span < 2**62
    if counted:
        kept_codes = np.sort(np.fromiter(((rank_of[q] * nk + k) * span + x for q, lst in subs.items()
                                          for x, keep in lst for k in keep), np.int64, kept_rows))
    sub_pos = None if counted else {q: [x for x, _ in lst] for q, lst in subs.items()}
    for lo in range(0, n, PROCESS_ROWS):
        j = lo + np.nonzero(prev[lo:lo + PROCESS_ROWS] >= 0)[0]
        q = proc[j].astype(np.int64)
        rank = np.minimum(np.searchsorted(procs, q), len(procs) - 1)
        j, rank = j[procs[rank] == q], rank[procs[rank] == q]  # a process without subs keeps its pairs
        p_hi, p_lo = pos[j].astype(np.int64), pos[prev[j]].astype(np.int64)
        between = np.searchsorted(sub_codes, rank * span + p_hi) - np.searchsorted(sub_codes, rank * span + p_lo)
        j, rank, p_hi, p_lo, between = j[between > 0], rank[between > 0], p_hi[between > 0], p_lo[between > 0], between[between > 0]
        if counted:
            base = (rank * nk + key[j].astype(np.int64)) * span
            kept = np.searchsorted(kept_codes, base + p_hi) - np.searchsorted(kept_codes, base + p_lo)
            prev[j[kept < between]] = -1
            continue
        assert sub_pos is not None
        for jj in j.tolist():
            q = int(proc[jj])
            a, b = bisect.bisect_left(sub_pos[q], int(pos[prev[jj]])), bisect.bisect_left(sub_pos[q], int(pos[jj]))
            kk = int(key[jj])
            if any(kk not in keep for _, keep in subs[q][a:b]):
                prev[jj] = -1


def _previous_chunk(o: np.ndarray, proc: np.ndarray, key: np.ndarray, eligible: np.ndarray, prev: np.ndarray) -> None:
    """`_previous` over the groups `o` (positions in sort order, whole processes): writes their `prev`.
    A function of its own so its temporaries (views of the sort order among them) die with the chunk."""
    p, k = proc[o], key[o]
    m = len(o)
    run = np.ones(m, bool)
    run[1:] = (p[1:] != p[:-1]) | (k[1:] != k[:-1])
    del p, k
    at = np.arange(m)
    run_start = np.maximum.accumulate(np.where(run, at, 0))
    last = np.maximum.accumulate(np.where(eligible[o], at, -1))
    before = np.full(m, -1, np.int64)
    before[1:] = last[:-1]
    before[before < run_start] = -1
    has = before >= 0
    prev[o[has]] = o[before[has]]


def _processes(c: Columns, op: np.ndarray) -> np.ndarray:
    """The processes of the ops `op`, in 4 bytes when every one fits (client process ids are small), else 8:
    the pass sorts and walks them, so this is 4 bytes less per group for the whole pass."""
    proc = c.process
    if not len(op) or proc.dtype.itemsize <= 4:
        return proc[op]
    out = np.empty(len(op), np.int32)
    for lo in range(0, len(op), PROCESS_ROWS):  # a chunk at a time: no 8-byte copy for every group
        p = proc[op[lo:lo + PROCESS_ROWS]]
        if int(p.min()) < -2**31 or int(p.max()) >= 2**31:
            return proc[op]
        out[lo:lo + PROCESS_ROWS] = p
    return out


def _out_of_step(fx: _Facts, key: np.ndarray, first: np.ndarray, last: np.ndarray, prev: np.ndarray, lo: int, hi: int,
                 back_only: bool = False) -> tuple[list[int], list[int], list[int], list[int]]:
    """Of the groups [lo, hi) that have a previous group, those whose first value is not the one right after
    the previous group's last value in the key's log (both values in it; with `back_only`, only those whose
    first value is not after it at all): (group, that last value's dense index, this first value's, that last
    value), as Python ints. Only these become cases, so what outlives the chunk is the cases alone (a
    process's successive sends to a key are mostly apart in the log: they are not made into Python ints)."""
    has = lo + np.nonzero(prev[lo:hi] >= 0)[0]
    pv = last[prev[has]]
    k = key[has].astype(np.int64) * fx.nv
    i1 = fx.dense(k + pv)
    i2 = fx.dense(k + first[has])
    m = (i1 >= 0) & (i2 >= 0) & ((i2 - i1 < 1) if back_only else (i2 - i1 != 1))
    return has[m].tolist(), i1[m].tolist(), i2[m].tolist(), pv[m].tolist()


BUCKET_ROWS = 1 << 20  # fact rows per range of processes of the process-order pass


def _process_ranges(c: Columns, row_op: np.ndarray) -> list[tuple[int, int]]:
    """Ranges [lowest, highest] of process ids whose fact rows (`row_op`, the op of each row) add up to about
    `BUCKET_ROWS` (a process is never split), counted a chunk of rows at a time: no array per row. Client
    process ids are small non-negative ints, counted by id (`bincount`); other ids (negative, or 2**20 and
    up) by rank among the ops'."""
    proc = c.process
    top = int(proc.max()) if len(proc) else -1
    if 0 <= top < 1 << 20:  # a count per id up to the highest: 8 MiB at most
        counts = np.zeros(top + 1, np.int64)
        for lo in range(0, len(row_op), BUCKET_ROWS):
            p = proc[row_op[lo:lo + BUCKET_ROWS]]
            if int(p.min()) < 0:
                break
            counts += np.bincount(p, minlength=top + 1)
        else:
            return [(klo, khi - 1) for klo, khi in _key_batches(counts, BUCKET_ROWS) if counts[klo:khi].any()]
    procs = _unique(proc)
    counts = np.zeros(len(procs), np.int64)
    for lo in range(0, len(row_op), BUCKET_ROWS):
        counts += np.bincount(np.searchsorted(procs, proc[row_op[lo:lo + BUCKET_ROWS]]), minlength=len(procs))
    return [(int(procs[klo]), int(procs[khi - 1])) for klo, khi in _key_batches(counts, BUCKET_ROWS) if counts[klo:khi].any()]


def _bucket_pairs(c: Columns, fx: _Facts, table: tuple, rows: np.ndarray, only_ok: bool,
                  subs: dict[int, list[tuple[int, set[int]]]]) -> list[tuple]:
    """The out-of-step pairs among the fact rows `rows` (every row of a range of processes, in row order) of
    `table` (op, key and value per row): their (op, key) groups in the order the op-object pass visits them
    (ops in order, an op's keys first-seen), each group's first and last value, its latest earlier eligible
    group of the same process and key (`_previous`), and the pairs whose first value is not the one right
    after the earlier group's last in the key's log. `only_ok`: the polls' pass (an earlier group counts if
    its op is ok; every such pair); else the sends' (every earlier group; only pairs that go back, the
    cases there). Each pair is (the group's
    first row, key, the earlier last value, this first value, their dense indices, the earlier op, this op):
    the first row orders the pairs of all ranges as one pass over every group would. A function of its own
    so the bucket's temporaries die with it."""
    row_op, row_key, row_value = table
    if not len(rows):
        return []
    nk = max(len(c.keys), 1)
    g = row_op[rows].astype(np.int64) * nk + row_key[rows].astype(np.int64)  # 8 bytes: op * nk can pass 2**31
    by_g = np.argsort(g, kind="stable")  # one stable sort (rows are nearly sorted: by op already)
    ug = g[by_g]
    del g
    start = np.nonzero(np.concatenate(([True], ug[1:] != ug[:-1])))[0]
    ug = ug[start]
    first, last = by_g[start], by_g[np.append(start[1:], len(by_g)) - 1]  # stable: a group's rows in row order
    del by_g, start
    order = np.argsort(first, kind="stable")  # groups by first row: ops in order, each op's keys first-seen
    ug, first, last = ug[order], first[order], last[order]
    op, key = (ug // nk).astype(index_dtype(len(c.type))), (ug % nk).astype(np.int32)
    del ug, order
    v_first, v_last = row_value[rows[first]], row_value[rows[last]]
    eligible = c.type[op] == OK if only_ok else np.ones(len(op), bool)
    prev = _previous(_processes(c, op), key, op, eligible, subs)
    out = []
    for lo in range(0, len(prev), PROCESS_ROWS):
        j, a1, a2, v1 = _out_of_step(fx, key, v_first, v_last, prev, lo, lo + PROCESS_ROWS, back_only=not only_ok)
        out += [(int(rows[first[x]]), int(key[x]), v, int(v_first[x]), i1, i2, int(op[prev[x]]), int(op[x]))
                for x, i1, i2, v in zip(j, a1, a2, v1)]
    return out


def _ranged_pairs(c: Columns, fx: _Facts, table: tuple, keep: Any, only_ok: bool,
                  sub_keeps: dict[int, list[tuple[int, set[int]]]]) -> list[tuple]:
    """`_bucket_pairs` over every range of processes (`_process_ranges`), of the rows of `table` whose op's
    type `keep` accepts, in the order of one pass over every group."""
    row_op = table[0]
    ranges = _process_ranges(c, row_op)
    out: list[tuple] = []
    per_range = _range_rows(c, row_op, keep(c.type), ranges)
    for j, (plo, phi) in enumerate(ranges):
        rows = np.concatenate(per_range[j]) if per_range[j] else np.zeros(0, np.int64)
        per_range[j] = []
        subs = {q: lst for q, lst in sub_keeps.items() if plo <= q <= phi}
        out += _bucket_pairs(c, fx, table, rows, only_ok, subs)
        del rows
        release_free_memory()  # the bucket's temporaries, before the next one's
    out.sort(key=lambda x: x[0])
    return out


def _range_rows(c: Columns, row_op: np.ndarray, kept: np.ndarray, ranges: list[tuple[int, int]]) -> list[list[np.ndarray]]:
    """The fact rows of each range of processes whose op `kept` accepts, in row order (as pieces to concatenate).

    One pass over the rows, `BUCKET_ROWS` at a time: each chunk's rows are sorted by range (stably) and cut,
    so finding every range's rows costs a pass over the rows, not a pass over every op and row per range
    (which grew with the square of the history). The rows are held as 4-byte positions while they fit."""
    pos_t = index_dtype(len(row_op))
    lows = np.array([lo for lo, _ in ranges], np.int64)
    highs = np.array([hi for _, hi in ranges], np.int64)
    per: list[list[np.ndarray]] = [[] for _ in ranges]
    for lo in range(0, len(row_op), BUCKET_ROWS):
        ops = row_op[lo:lo + BUCKET_ROWS]
        p = c.process[ops].astype(np.int64)
        r = np.searchsorted(lows, p, "right") - 1
        ok = kept[ops] & (r >= 0)
        ok &= p <= highs[np.maximum(r, 0)]
        idx = np.nonzero(ok)[0]
        del ops, p, ok
        r = r[idx]
        order = np.argsort(r, kind="stable")
        idx, r = idx[order], r[order]
        del order
        cut = np.searchsorted(r, np.arange(len(ranges) + 1))
        for j in np.nonzero(np.diff(cut))[0].tolist():
            per[j].append((lo + idx[cut[j]:cut[j + 1]]).astype(pos_t))
    return per


def _process_cases(c: Columns, fx: _Facts, sub_keeps: dict[int, list[tuple[int, set[int]]]]
                   ) -> tuple[list[dict], list[dict], list[dict]]:
    """`prozess.checkers.queue.process_cases` (poll-skip, nonmonotonic-poll, nonmonotonic-send) over the tables."""

    def case(kind: str, k: int, v1: int, v2: int, i1: int, i2: int, ops: list[int]) -> dict:
        return _delta(c, fx, kind, k, v1, v2, i1, i2, ops=ops)

    # Both halves run over ranges of processes (about BUCKET_ROWS rows each): no array over every group.
    # ---- polls: every read row; a group's previous group is the latest earlier one of an ok op
    skips, nonmono = [], []
    for _, k, v1, v2, a1, a2, x, y in _ranged_pairs(c, fx, (c.read_op, c.read_key, c.read_value),
                                                    lambda t: np.ones(len(t), bool), True, sub_keeps):
        kind = "skip" if a2 - a1 > 1 else "nonmonotonic"
        (skips if kind == "skip" else nonmono).append(case(kind, k, v1, v2, a1, a2, [x, y]))
    # ---- sends: the rows of ok/info ops
    nm_send = [case("nonmonotonic", k, v1, v2, a1, a2, [x, y])
               for _, k, v1, v2, a1, a2, x, y in _ranged_pairs(c, fx, (c.send_op, c.send_key, c.send_value),
                                                                lambda t: (t == OK) | (t == INFO), False, sub_keeps)
               if a2 - a1 < 1]
    return skips, nonmono, nm_send


def _offset_violations(c: Columns, fx: _Facts, inv: np.ndarray, orders: dict[str, VersionOrder]) -> list[dict]:
    """`prozess.checkers.offsets.violations` over the tables: per key, a sweep of invocations and
    completions of committed writers in history order, with the highest position completed so far
    as a running maximum."""
    keys = c.keys
    types = c.type
    # position of a value: its dense index when no value of the key repeats, else its lowest offset
    first_mode = np.zeros(len(keys) + 1, bool)
    key_id = {k: j for j, k in enumerate(keys)}
    for k, vo in orders.items():
        if vo.first_offset is not None:
            first_mode[key_id[k]] = True
    live = fx.committed[c.send_op] & (types[c.send_op] != FAIL)
    skey = c.send_key
    # keys in batches of about OFFSET_ROWS send rows (a key is never split: the sweep is per key)
    out: list[tuple] = []
    for klo, khi in _key_batches(np.bincount(skey[live], minlength=len(keys)), OFFSET_ROWS):
        rows = np.nonzero(live & (skey >= klo) & (skey < khi))[0] if (klo, khi) != (0, len(keys)) else np.nonzero(live)[0]
        _offset_batch(c, fx, inv, rows, first_mode, out)
    out.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in out]


def _offset_batch(c: Columns, fx: _Facts, inv: np.ndarray, rows: np.ndarray, first_mode: np.ndarray, out: list) -> None:
    """`_offset_violations` over the send rows `rows` (all the rows of some keys), appending (invocation
    position, first row of the later group, case) to `out`."""
    keys, values = c.keys, c.values
    types = c.type
    nv = fx.nv
    key = c.send_key[rows].astype(np.int64)
    code = key * nv + c.send_value[rows]
    dense = fx.dense(code)
    found, at = _lookup(fx.fo_code, code)
    lowest = np.where(found, fx.fo_off[at] if len(fx.fo_off) else 0, -1)
    use_first = first_mode[key]
    P = np.where(use_first, lowest, dense)
    known = np.where(use_first, found, dense >= 0)
    rows, key, P = rows[known], key[known], P[known]
    del code, dense, found, at, lowest, use_first, known
    if not len(rows):
        return
    op = c.send_op[rows]
    val = c.send_value[rows]
    # per (op, key) group, in first-sent order: lowest and highest position (first row wins ties)
    nk = max(len(keys), 1)
    g = op.astype(np.int64) * nk + key  # 8 bytes whatever the column's: op * nk can pass 2**31
    ug, first_row, inverse = np.unique(g, return_index=True, return_inverse=True)
    order = np.lexsort((np.arange(len(g)), P, inverse))
    lo_row = order[np.searchsorted(inverse[order], np.arange(len(ug)))]
    order = np.lexsort((np.arange(len(g)), -P, inverse))
    hi_row = order[np.searchsorted(inverse[order], np.arange(len(ug)))]
    gop, gkey = ug // nk, ug % nk
    glo, ghi, vlo, vhi = P[lo_row], P[hi_row], val[lo_row], val[hi_row]
    rank = rows[first_row]  # the first send row of each group: sorts the groups in first-sent order, across batches
    ks = fx.key_start
    for k in _unique(gkey).tolist():
        sel = np.nonzero(gkey == k)[0]
        b = gop[sel]
        ginv = inv[b]
        has_inv = ginv >= 0
        comp = types[b] == OK
        # events: invocations (kind 0) and ok completions (kind 1), by history position
        ev_pos = np.concatenate([ginv[has_inv], b[comp]])
        ev_grp = np.concatenate([sel[has_inv], sel[comp]])
        ev_kind = np.concatenate([np.zeros(int(has_inv.sum()), np.int8), np.ones(int(comp.sum()), np.int8)])
        o = np.argsort(ev_pos, kind="stable")
        ev_pos, ev_grp, ev_kind = ev_pos[o], ev_grp[o], ev_kind[o]
        low = np.iinfo(np.int64).min
        vals = np.where(ev_kind == 1, ghi[ev_grp].astype(np.int64), low)
        cm = np.maximum.accumulate(vals)
        prev_cm = np.empty_like(cm)
        prev_cm[:1] = low
        prev_cm[1:] = cm[:-1]
        newmax = (ev_kind == 1) & (vals > prev_cm)
        holder = np.maximum.accumulate(np.where(newmax, np.arange(len(cm)), -1))
        hg = ev_grp[np.maximum(holder, 0)]
        bad = (ev_kind == 0) & (holder >= 0) & (glo[ev_grp] <= cm) & (gop[hg] != gop[ev_grp])
        for j in np.nonzero(bad)[0].tolist():
            x, y = int(hg[j]), int(ev_grp[j])
            o1, o2 = int(ghi[x]), int(glo[y])
            if not first_mode[k]:
                o1, o2 = int(fx.log_off[ks[k] + o1]), int(fx.log_off[ks[k] + o2])
            out.append((int(ev_pos[j]), int(rank[y]),
                        {"key": keys[k], "ops": [int(gop[x]), int(gop[y])], "offsets": [o1, o2],
                         "values": [values[int(vhi[x])], values[int(vlo[y])]], "invoked": int(ev_pos[j])}))


class _PerOp(Mapping):
    """A mapping op position -> that op's facts, backed by a table sorted by op and made when asked.

    The checkers look up a few ops (graph members, examples); a pass that walks all items
    (explaining conflicts, say) makes them all once and keeps them; `values()` stays lazy
    (a check that stops at the first op with an offset makes one op's facts)."""

    def __init__(self, ops_with: np.ndarray | None, row_op: np.ndarray, n_ops: int, spilled: bool = False):
        # sorted op positions that have an entry; None: the ops with rows in the table, found from the row starts
        # when asked (no array of them, nor a mask per op, kept for the whole check)
        self._given = ops_with
        self._has = None
        if ops_with is not None:
            self._has = np.zeros(n_ops + 1, bool)
            self._has[ops_with] = True
        # the table's rows of op i: [start[i], start[i+1]); 4 bytes per op while the table has < 2**31 rows
        self._start = np.empty(n_ops + 1, index_dtype(len(row_op)))
        for lo in range(0, n_ops + 1, 1 << 20):
            hi = min(lo + (1 << 20), n_ops + 1)
            self._start[lo:hi] = _search(row_op, np.arange(lo, hi))
        if spilled:  # a history on disk: its per-op tables too
            self._start = to_disk(self._start)
            self._has = to_disk(self._has) if self._has is not None else None
        self._cache: dict[int, Any] = {}
        self._all: dict[int, Any] | None = None

    def _make(self, lo: int, hi: int) -> Any:
        raise NotImplementedError

    @property
    def _with(self) -> np.ndarray:
        if self._given is not None:
            return self._given
        return np.nonzero(np.diff(self._start))[0].astype(index_dtype(len(self._start)))

    def __contains__(self, i: object) -> bool:
        if not (isinstance(i, int) and 0 <= i < len(self._start) - 1):
            return False
        return bool(self._has[i]) if self._has is not None else bool(self._start[i + 1] > self._start[i])

    def __getitem__(self, i: int) -> Any:
        x = self._cache.get(i)
        if x is not None:
            return x
        if i not in self:
            raise KeyError(i)
        x = self._make(int(self._start[i]), int(self._start[i + 1]))
        if len(self._cache) < 1 << 16 or self._all is not None:
            self._cache[i] = x
        return x

    def __iter__(self):
        w = self._with
        for lo in range(0, len(w), 1 << 16):
            yield from w[lo:lo + (1 << 16)].tolist()

    def __len__(self) -> int:
        return len(self._with)

    def _everything(self) -> dict[int, Any]:
        if self._all is None:
            self._all = {i: self[i] for i in self._with.tolist()}
            self._cache = self._all
        return self._all

    def items(self):
        return self._everything().items()


class _Reads(_PerOp):
    """`Analysis.reads` from the read table: {key: [(offset, value), ...]} of an op."""

    def __init__(self, c: Columns, offsets: dict[int, int]):
        super().__init__(c.pollers, c.read_op, len(c), c.spilled)  # pollers: ops with a poll micro-op that returned a map
        self._key, self._off, self._val = c.read_key, c.read_offset, c.read_value
        self._keys, self._values = c.keys, c.values
        self._offsets = offsets

    def _make(self, lo: int, hi: int) -> dict:
        rs: dict = {}
        keys, values, offsets = self._keys, self._values, self._offsets
        for k, o, v in zip(self._key[lo:hi].tolist(), self._off[lo:hi].tolist(), self._val[lo:hi].tolist()):
            kk = keys[k]
            lst = rs.get(kk)
            if lst is None:
                lst = rs[kk] = []
            lst.append((None if o == NO_OFFSET else offsets.setdefault(o, o), values[v]))
        return rs


class _Writes(_PerOp):
    """`Analysis.writes` from the send table: [(key, value, offset | None), ...] of an op, in micro-op order."""

    def __init__(self, c: Columns, offsets: dict[int, int]):
        super().__init__(None, c.send_op, len(c), c.spilled)  # the ops with a send row: those with rows in the table
        self._key, self._off, self._val = c.send_key, c.send_offset, c.send_value
        self._keys, self._values = c.keys, c.values
        self._offsets = offsets

    def _make(self, lo: int, hi: int) -> list:
        keys, values, offsets = self._keys, self._values, self._offsets
        return [(keys[k], values[v], None if o == NO_OFFSET else offsets.setdefault(o, o))
                for k, o, v in zip(self._key[lo:hi].tolist(), self._off[lo:hi].tolist(), self._val[lo:hi].tolist())]


def _unseen(c: Columns, fx: _Facts) -> list[dict]:
    """The cases of `queue.unseen_cases`: sends of ok ops whose value no ok poll read, in history order."""
    m = _rows_where(len(c.send_op), lambda lo, hi: (c.type[c.send_op[lo:hi]] == OK)
                    & ~_lookup(fx.ok_codes, fx.s_codes(slice(lo, hi)))[0])
    keys, values = c.keys, c.values
    return [{"key": keys[k], "value": values[v], "offset": None if o == NO_OFFSET else o, "writer": i}
            for i, k, v, o in zip(c.send_op[m].tolist(), c.send_key[m].tolist(), c.send_value[m].tolist(),
                                  c.send_offset[m].tolist())]


def _int_send(c: Columns, fx: _Facts) -> tuple[list[dict], list[dict]]:
    """`queue.int_send_cases`: successive sends to one key within one op, by dense index; over chunks of the
    send rows that hold whole ops (`send_op` is sorted), so the cases come in the order of one pass."""
    out: tuple[list[dict], list[dict]] = ([], [])
    for lo, hi in _runs(c.send_op, SCAN_ROWS):
        _int_send_rows(c, fx, lo, hi, out)
    return out


def _int_send_rows(c: Columns, fx: _Facts, lo: int, hi: int, out: tuple[list[dict], list[dict]]) -> None:
    """`_int_send` over the send rows [lo, hi) (whole ops), appending to `out`."""
    n = hi - lo
    nk = max(len(c.keys), 1)
    g = c.send_op[lo:hi].astype(np.int64) * nk + c.send_key[lo:hi].astype(np.int64)  # 8 bytes: op * nk can pass 2**31
    order = np.argsort(g, kind="stable")
    same = np.zeros(n, bool)
    same[1:] = g[order][1:] == g[order][:-1]
    cur = lo + order[1:][same[1:]]
    prev = lo + order[:-1][same[1:]]
    keep = np.argsort(cur, kind="stable")  # in history order of the later send
    cur, prev = cur[keep], prev[keep]
    i1 = fx.dense(fx.s_codes(prev))
    i2 = fx.dense(fx.s_codes(cur))
    both = (i1 >= 0) & (i2 >= 0)
    cur, prev, i1, i2 = cur[both], prev[both], i1[both], i2[both]
    d = i2 - i1
    for sel, kind, dest in ((d > 1, "skip", out[0]), (d < 1, "nonmonotonic", out[1])):
        for r1, r2, a1, a2 in zip(prev[sel].tolist(), cur[sel].tolist(), i1[sel].tolist(), i2[sel].tolist()):
            k = int(c.send_key[r2])
            dest.append(_delta(c, fx, kind, k, int(c.send_value[r1]), int(c.send_value[r2]), a1, a2, op=int(c.send_op[r2])))


def _delta(c: Columns, fx: _Facts, kind: str, k: int, v1: int, v2: int, i1: int, i2: int, **more: Any) -> dict:
    """A delta case as `queue._delta_case` makes it (ids into the columns' tables)."""
    values = c.values
    d = {"type": kind, "key": c.keys[k], "values": [values[v1], values[v2]], "delta": i2 - i1, **more}
    if kind == "skip":
        lo = int(fx.key_start[k])
        d["skipped"] = [values[v] for v in fx.log_val[lo + i1 + 1: lo + min(i2, i1 + 17)].tolist()]
    return d


class ColumnarAnalysis(Analysis):
    """An `Analysis` built from columns; passes that have a vectorised form here answer from the tables."""

    def columnar_process_cases(self) -> tuple[list[dict], list[dict], list[dict]] | None:
        """The process-order cases, or None when an assign/subscribe value was not a list of keys
        (the op-object pass then runs and says what is wrong, as on the op-object path)."""
        return self._process

    def columnar_unseen_cases(self) -> list[dict]:
        return self._unseen

    def columnar_int_send_cases(self) -> tuple[list[dict], list[dict]]:
        return self._int_send

    def columnar_offset_violations(self) -> list[dict]:
        if self._violations is None:
            self._violations = _offset_violations(*self._offset_inputs)
        return self._violations

    def s_map(self) -> dict[int, int]:
        """`Analysis.s_map` computed over the columns in one vectorised step."""
        if self._s_map is None:
            txns, s = self._s_columns
            self._s_map = dict(zip(txns.tolist(), s.tolist()))
        return self._s_map

    def columnar_lost_write_cases(self) -> list[dict]:
        """`queue.lost_write_cases` as joins: per key, the log positions up to the highest one read ok whose
        value no ok poll read, sent by a writer that must have committed."""
        from prozess.checkers.analysis import key_sort
        from prozess.checkers.queue import lost_write_key

        c, fx = self._offset_inputs[0], self._offset_inputs[1]
        key_id = {k: j for j, k in enumerate(c.keys)}
        out: list[dict] = []
        for k in key_sort(self.read_ok):
            vo = self.orders.get(k)
            if vo is None:
                continue
            if not isinstance(vo, ArrayOrder):  # a key with conflicting or repeated values: the dict-based pass
                out.extend(lost_write_key(self, k, self.read_ok[k], vo))
                continue
            j = key_id[k]
            lo, hi = int(fx.key_start[j]), int(fx.key_start[j + 1])
            codes = np.int64(j * fx.nv) + fx.log_val[lo:hi]
            read = _lookup(fx.ok_codes, codes)[0]
            if not read.any():
                continue
            bound = int(np.nonzero(read)[0][-1])
            must = np.nonzero(~read[:bound + 1])[0]
            w = fx.writer(codes[must])
            keep = (w >= 0) & fx.committed[np.maximum(w, 0)]
            must, w = must[keep], w[keep]
            if not len(must):
                continue
            max_value = vo.by_index[bound]
            max_reader = self._first_ok_reader(int(codes[bound]))
            offs = vo.offsets
            for i, x, v in zip(must.tolist(), w.tolist(), take(c.values, fx.log_val[lo:hi][must])):
                out.append({"key": k, "value": v, "index": i, "offset": offs[i], "max-read-index": bound,
                            "max-read-value": max_value, "max-read-offset": offs[bound], "writer": x, "max-read": max_reader})
        return out

    def _first_ok_reader(self, code: int) -> int | None:
        """The first ok op that read the (key, value) of `code`."""
        c, fx = self._offset_inputs[0], self._offset_inputs[1]
        first = None
        for lo in range(0, len(c.read_op), SCAN_ROWS):  # in chunks: no code array for every read row at once
            rows = lo + np.nonzero(fx.r_codes(slice(lo, lo + SCAN_ROWS)) == code)[0]
            rows = rows[c.type[c.read_op[rows]] == OK]
            if len(rows):
                m = int(c.read_op[rows].min())
                first = m if first is None else min(first, m)
        return first

    def columnar_missing_finals(self, keys: set) -> dict:
        """`truncation`'s {key: values read ok that the final reads no longer returned}, as a join."""
        c, fx = self._offset_inputs[0], self._offset_inputs[1]
        key_id = {k: j for j, k in enumerate(c.keys)}
        ids = np.array(sorted(key_id[k] for k in keys if k in key_id), dtype=np.int64)
        missing: dict = {}
        if not len(ids):
            return missing
        for lo in range(0, len(fx.ok_codes), SCAN_ROWS):  # a chunk of codes at a time: no temporary per code
            codes = fx.ok_codes[lo:lo + SCAN_ROWS]
            codes = codes[_lookup(ids, codes // fx.nv)[0]]
            gone = codes[~_lookup(self._final_codes, codes)[0]]
            for code, v in zip(gone.tolist(), take(c.values, gone % fx.nv)):
                missing.setdefault(c.keys[code // fx.nv], set()).add(v)
        return missing

    def columnar_wr_edges(self, members: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(writer, reader) of each value an op in `members` read from another op (both ends any ops; one row
        per read, in the order the dict walk visits them: members as given, each op's keys first-seen, rows).

        `WR_MEMBERS` members at a time: an op's read rows are one run of the read table (`read_op` is sorted),
        found by a search, so the join's temporaries are bounded by the chunk, not by every member's reads."""
        c, fx = self._offset_inputs[0], self._offset_inputs[1]
        given = np.asarray(members, dtype=np.int64)
        _, first_at = np.unique(given, return_index=True)
        if len(first_at) < len(given):  # a member given twice: its reads come at its first place
            given = given[np.sort(first_at)]
        del first_at
        read_op, pos_t, nk = c.read_op, index_dtype(len(c.type)), max(len(c.keys), 1)
        ws: list[np.ndarray] = [np.zeros(0, pos_t)]
        rs: list[np.ndarray] = [np.zeros(0, pos_t)]
        for lo in range(0, len(given), WR_MEMBERS):
            m = given[lo:lo + WR_MEMBERS]
            start = _search(read_op, m, "left")
            count = _search(read_op, m, "right") - start
            total = int(count.sum())
            if not total:
                continue
            # each member's rows in member order: start + 0, 1, ... count - 1
            rows = np.arange(total, dtype=np.int64) + np.repeat(start - (np.cumsum(count) - count), count)
            del start, count
            group = read_op[rows].astype(np.int64) * nk + c.read_key[rows]  # the (op, key) of each row
            _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
            del group
            # rows are in (member, row) order, so a stable sort by each group's first place puts an op's keys
            # in first-seen order and keeps each key's rows in order
            rows = rows[np.argsort(first[inverse], kind="stable")]
            del first, inverse
            w = fx.writer(fx.r_codes(rows))
            r = read_op[rows]
            del rows
            keep = (w >= 0) & (w != r)
            ws.append(w[keep].astype(pos_t))
            rs.append(r[keep].astype(pos_t))
        return np.concatenate(ws), np.concatenate(rs)

    def columnar_vertex_times(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(invocation position, completed) of each op of `members`, from the columns: where it was invoked
        (the op itself when no invocation was recorded) and whether it is not info (the graph's real time)."""
        m = np.asarray(members, np.int64)
        inv = _inv_view(self.inv)[m]
        return np.where(inv >= 0, inv, m), self._offset_inputs[0].type[m] != INFO

    def vertex_arrays(self) -> tuple[IntList, Membership, tuple[IntList, IntList]]:
        """The txn graph's vertex facts as arrays: (vertices, membership, (sorted s values, vertices in that
        order)), so no Python object per vertex exists for the whole history."""
        txns, s = self._s_columns
        mask = np.zeros(len(self.ops) + 1, bool)
        mask[txns] = True
        order = np.lexsort((txns, s))
        pos_t = index_dtype(len(self.ops))  # op positions in 4 bytes: millions of vertices
        return self.txns, Membership(mask), (IntList(s[order].astype(pos_t)), IntList(txns[order].astype(pos_t)))


def _inv_array(pair: np.ndarray, completion: np.ndarray, pos_t: np.dtype, spilled: bool = False) -> array | IntList:
    """`Analysis.inv` (each completion's invocation position, -1 elsewhere) as an `array` of `pos_t` ints: the
    checkers index it as Python ints, the passes view it through `_inv_view`. For a spilled history, an
    `IntList` over a file (`to_disk`): one of the arrays over every op kept to the end."""
    x = pair.astype(pos_t)  # a copy, whatever the column's integer type
    x[~completion] = -1
    if spilled:
        return IntList(to_disk(x))
    out = array("i" if pos_t.itemsize == array("i").itemsize else "q")
    out.frombytes(memoryview(x).cast("B"))
    return out


def _inv_view(inv: array | IntList) -> np.ndarray:
    """The numpy view of an `_inv_array` (no copy)."""
    if isinstance(inv, IntList):
        return inv.array
    return np.frombuffer(inv, np.int32 if inv.itemsize == 4 else np.int64)


def analysis_from_columns(c: Columns, ops: list[Op]) -> Analysis:
    """The `Analysis` that `Analysis(ops)` builds from the full ops, built from the fact tables instead."""
    a = ColumnarAnalysis.__new__(ColumnarAnalysis)
    a.ops = ops
    n = len(ops)
    client_completion = (c.type != INVOKE) & (c.process != NEMESIS_P)
    pos_t = index_dtype(n)  # op positions in 4 bytes while they fit
    a.inv = _inv_array(c.pair, client_completion, pos_t, c.spilled)  # indexes as Python ints
    inv = _inv_view(a.inv)  # the passes' view of the same memory: one invocation column, not two
    is_client_f = np.array([f in CLIENT_FS for f in c.fs] + [False], bool)[c.f]
    is_sub_f = np.array([f in SUB_FS for f in c.fs] + [False], bool)[c.f]
    a.txns = IntList(np.nonzero(client_completion & is_client_f)[0].astype(pos_t))  # op positions, read as ints
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
    if c.spilled:
        a.txns = IntList(to_disk(a.txns.array))
    release_free_memory()
    # ---- writer_of, failed and read_ok: views over the joined codes (no Python object per fact)
    nv = fx.nv
    a.writer_of = KeyedCodes(fx.w_code, nv, keys, c.value_id, values, fx.w_op)
    a.failed = KeyedCodes(fx.fail_codes, nv, keys, c.value_id, values)
    a.read_ok = KeyedCodes(fx.ok_codes, nv, keys, c.value_id, values)
    # ---- writes and reads per op, made when a checker asks for an op's
    offsets: dict[int, int] = {}  # one int object per distinct offset, shared by every fact that has it
    a.writes = _Writes(c, offsets)
    a._unseen = _unseen(c, fx)
    a._int_send = _int_send(c, fx)
    a.reads = _Reads(c, offsets)
    a._final_codes = np.zeros(0, fx.code_t)
    if final_ops:
        is_final = np.zeros(n, bool)
        is_final[np.fromiter(final_ops, np.int64, len(final_ops))] = True
        a._final_codes = fx._distinct_read_codes(is_final[c.read_op])  # no 8-byte array per read row
        del is_final
        if np.array_equal(a._final_codes, fx.ok_codes):  # final reads that returned every value read ok: one table
            a._final_codes = fx.ok_codes
        a.final_values = KeyedCodes(a._final_codes, nv, keys, c.value_id, values)
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
    txns = a.txns.array
    s_of = np.where((types[txns] == OK) & pollers[txns], txns, _selves(inv, txns)).astype(pos_t)
    a._s_columns = (txns, to_disk(s_of) if c.spilled else s_of)
    del s_of
    a._scan = _scan(c, fx, inv, pollers, a.rebalanced)
    release_free_memory()
    a._violations = None
    a._offset_inputs = (c, fx, inv, a.orders)
    key_id = {k: j for j, k in enumerate(keys)}
    sub_keeps: dict[int, list[tuple[int, set[int]]]] = {}
    shared: dict[tuple, frozenset[int]] = {}  # one set per distinct list of keys: a long run re-assigns a few lists
    try:
        for i in a.subs:
            if types[i] == OK or types[i] == INFO:
                names = tuple(str(k) for k in (ops[i].value or ()))
                keep = shared.get(names)
                if keep is None:
                    keep = shared[names] = frozenset(key_id[k] for k in names if k in key_id)
                sub_keeps.setdefault(int(c.process[i]), []).append((i, keep))  # type: ignore[arg-type]
    except TypeError:
        a._process = None
    else:
        a._process = _process_cases(c, fx, sub_keeps)
        release_free_memory()
    return a
