"""A columnar history: numpy arrays instead of one Python object per op, for histories of millions of ops.

`read_columns(path)` makes one streaming pass over a JSON Lines history (orjson per
line; the file is never held whole; a large file in two halves at once, see
`prozess.columnar_split`) and keeps:

- per op (row = position in the file): `index`, `time` (int64), `type` (int8 code,
  `TYPE_NAMES`), `process` (`NEMESIS_P` for the nemesis), `f` (int16 code into
  `fs`), and `pair` (the position of the matching invocation/completion, -1 if none);
- a `sends` table, one row per send micro-op of a completion: `op`, `key`, `value`,
  `offset` (`NO_OFFSET` when unknown or negative, as the checkers ignore those);
- a `reads` table, one row per [offset, value] pair a poll micro-op returned: `op`,
  `key`, `offset` (`NO_OFFSET` when null; negative ones kept as given), `value`;
- `keys` and `values`: tables (ids are positions). While every value is a 64-bit integer (a
  Kafka workload's values are), the rows hold the values themselves as they stream past and
  `values` is their sorted distinct set in one int64 array (`IntValues`, no Python object per
  value); the first other value turns the rows read so far into ids of an interned table,
  which keeps Python equality (1, 1.0 and True are one value, as in the dict-based checkers).

Op positions (`pair`, `send_op`, `read_op`, `pollers`), `process` and the offsets are int32 where
their values fit (a history of fewer than 2**31 ops; client ids and offsets below 2**31), else
int64; `index` is not stored at all when every op's index is its position (`DenseIndex`). The
markers `NEMESIS_P` and `NO_OFFSET` are -2**31 in either width. So a user multiplying or adding
these columns widens them first (`.astype(np.int64)`), as it does the int32 key and value ids.

A large file (`columnar_spill.SPILL_BYTES`) keeps its send and read tables on disk: the reader appends their
rows to temporary files as they stream past and the columns are read-only memory maps of those files
(`prozess.columnar_spill`), so the largest tables of a long history are page cache, not the process's memory.

Like `History.complete()`, an invocation that never completed gets an `info` completion
at the end (its sends with unknown offsets), so facts agree with the checkers' view.

Stats and perf (`stats()`, `perf()`) are passes over these columns and give exactly what
`prozess.checkers.stats` gives on the same history. Memory is a few dozen bytes per op and
per micro-op fact; the interned tables grow with distinct keys and values only.
"""

from __future__ import annotations

import os
import stat
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable

import numpy as np
import orjson

from prozess import columnar_spill
from prozess.columnar_spill import _DTYPE, SpilledColumn, count_equal, finish, to_disk
from prozess.history import _NODE_TYPES, INT64, MAX_DEPTH, NEMESIS, TYPES, HistoryError, gc_paused, op_from_dict
from prozess.history_model import LinesRead, jsonl_lines, line_too_deep, torn_line_warning

TYPE_NAMES = ("invoke", "ok", "fail", "info")
_TYPE_CODE = {t: i for i, t in enumerate(TYPE_NAMES)}
INVOKE, OK, FAIL, INFO = 0, 1, 2, 3
# The markers are the 32-bit minimum, so they read the same in a 4-byte column and an 8-byte one (see `_narrow`);
# a history that gives this number itself (a client process, a read offset) is read as op objects (`Unsupported`).
NEMESIS_P = -2**31  # the nemesis's process in the `process` column
NO_OFFSET = -2**31  # an unknown (null or negative) offset
CLIENT_FS = frozenset({"send", "poll", "txn"})
SUB_FS = frozenset({"assign", "subscribe"})


@dataclass
class Columns:
    """The columns of one history (see the module docstring)."""

    index: np.ndarray | DenseIndex
    time: np.ndarray
    type: np.ndarray
    process: np.ndarray
    f: np.ndarray
    pair: np.ndarray
    fs: list[str]
    keys: list[str]
    values: list[Any]
    send_op: np.ndarray
    send_key: np.ndarray
    send_value: np.ndarray
    send_offset: np.ndarray
    read_op: np.ndarray
    read_key: np.ndarray
    read_offset: np.ndarray
    read_value: np.ndarray
    pollers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    final_reads: dict[int, list[int]] = field(default_factory=dict)  # final poll -> key id per (micro-op, key) read
    subs: Mapping[int, Any] = field(default_factory=dict)  # position -> value of an assign/subscribe completion (`SubValues`)
    extra: dict[int, dict] = field(default_factory=dict)  # position -> fields beyond the known ones (final, rebalance-log)
    source: str | None = None
    value_index: dict | None = None  # value -> id, when the table is a list (values that are not all 64-bit integers)
    spilled: bool = False  # the arrays are memory maps of files (`prozess.columnar_spill`), and so are the Analysis's

    def __len__(self) -> int:
        return len(self.index)

    def value_id(self, v: Any) -> int | None:
        """The id of value v in `values` (Python equality: 1, 1.0 and True are one value), or None."""
        if isinstance(self.values, IntValues):
            return self.values.id_of(v)
        try:
            return self.value_index.get(v)
        except TypeError:  # an unhashable value is interned by its JSON text
            return self.value_index.get(("\0json", orjson.dumps(v)))

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the interned tables come on top)."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


class Unsupported(Exception):
    """A history the columns cannot hold exactly (offsets that are not 64-bit integers, integers
    beyond 64 bits); the caller reads it as op objects instead."""


class _NotRaw(Exception):
    """A value that is not a 64-bit integer: the builder leaves raw mode (see `_Builder.facts`)."""


WIDE_POSITIONS = 2**31  # the first op position that needs 8 bytes (a module constant so tests can lower it)
_FACT_ARRAYS = ("s_op", "s_val", "s_off", "r_op", "r_val", "r_off", "pollers")
_SPILLED = ("s_op", "s_key", "s_val", "s_off", "r_op", "r_key", "r_val", "r_off")  # on disk when spilling
_POSITIONS = ("pair", "s_op", "r_op", "pollers")


def _np(col: array) -> np.ndarray:
    """A builder array as a numpy view of its buffer (no copy), in the array's own width."""
    dt = _DTYPE[col.typecode]
    return np.frombuffer(col, dt) if len(col) else np.zeros(0, dt)


class _Builder:
    """Accumulates columns in compact `array`s while the lines stream past.

    Integer columns start 4 bytes wide and become 8 bytes wide the first time a value does not fit
    (`_widen`): op positions at `WIDE_POSITIONS` ops, an index, a process id, an offset or a raw
    value at the first one beyond 32 bits. So a history whose numbers fit is read at half the
    memory, and `columns()` has nothing left to narrow; `time` is 8 bytes from the start.

    With `spill`, the send and read rows go to files every `SPILL_ROWS` rows (`prozess.columnar_spill`) and
    `columns()` gives them as memory maps; a value that is not a 64-bit integer brings them back (`_unspill`)."""

    def __init__(self, part: bool = False, spill: bool = False) -> None:
        self.index = array("i")
        self.time = array("q")
        self.type = array("b")
        self.process = array("i")
        self.f = array("h")
        self.pair = array("i")
        self.fs: dict[str, int] = {}
        self.keys: dict[str, int] = {}
        self.values: dict[Any, int] = {}
        self.value_list: list[Any] = []
        self.raw = True  # rows hold the values themselves (all 64-bit integers so far), not ids
        # How many rows hold a marker (`NEMESIS_P`, `NO_OFFSET` for a null read offset): `columns()` checks the
        # columns hold no more, i.e. no op gave the marker's number itself.
        self.nemesis = 0
        self.null_reads = 0
        self.s_op, self.s_key, self.s_val, self.s_off = array("i"), array("i"), array("i"), array("i")
        self.r_op, self.r_key, self.r_val, self.r_off = array("i"), array("i"), array("i"), array("i")
        self.pollers = array("i")  # completions with a poll micro-op that returned a non-empty map
        self.subs = SubValues()
        self.final_reads: dict[int, list[int]] = {}  # position of a final poll -> key ids read, per micro-op
        self.extra: dict[int, dict] = {}
        self.open: dict[Any, tuple[int, str, Any, int]] = {}  # process -> (position, f, invoke value, index)
        # Reading a part of the file that does not begin it (`prozess.columnar_split`): a completion with no
        # invocation before it in the part is kept here as (position, process, f), unpaired, and paired with
        # an invocation of the part before it when the parts are merged.
        self.orphans: list[tuple[int, Any, str]] | None = [] if part else None
        self.spill: dict[str, SpilledColumn] | None = {name: SpilledColumn() for name in _SPILLED} if spill else None

    def _widen(self, names: tuple[str, ...]) -> None:
        """Builder arrays `names` become 8 bytes wide (those already are stay as they are)."""
        for name in names:
            col = getattr(self, name)
            if col.typecode != "q":
                setattr(self, name, array("q", col))

    def _append_wide(self, name: str, x: int) -> None:
        """Appends `x` to array `name`, widening it first when it is 4 bytes wide and x does not fit."""
        try:
            getattr(self, name).append(x)
        except OverflowError:
            if getattr(self, name).typecode == "q":
                raise
            self._widen((name,))
            getattr(self, name).append(x)

    def key_id(self, k: Any) -> int:
        if k.__class__ is not str:
            k = str(k)
        i = self.keys.get(k)
        if i is None:
            i = self.keys[k] = len(self.keys)
        return i

    def value_id(self, v: Any) -> int:
        original = v
        if v.__class__ is float and abs(v) >= 2.0 ** 53:  # an integer beyond 64 bits that JSON parsing rounded
            raise Unsupported(f"value {v!r} may be a rounded integer")
        try:
            i = self.values.get(v)
        except TypeError:  # an unhashable value (a list): its JSON text stands for it in the table
            v = ("\0json", orjson.dumps(v))
            i = self.values.get(v)
        if i is None:
            i = self.values[v] = len(self.value_list)
            self.value_list.append(original)
        return i

    def facts(self, pos: int, value: Any, completion: bool, final: list | None = None) -> None:
        """Send and read rows of one client op's micro-ops (an invoke's sends have no offsets).

        `final`, for an op marked final, collects the key of each (poll micro-op, key) read.
        While every value so far is a 64-bit integer the rows hold the values themselves; the
        first other value (a string, a float, a bool, a list) turns the rows written so far
        into ids of the interned table and the rest of the file is read that way."""
        if not value:
            return
        while True:
            marks = (len(self.s_op), len(self.r_op), len(self.pollers), len(final) if final is not None else 0)
            try:
                self._facts(pos, value, completion, final, self.raw)
                if self.spill is not None and len(self.r_op) + len(self.s_op) >= columnar_spill.SPILL_ROWS:
                    self.spill_rows()
                return
            except _NotRaw:
                self._undo(marks, final)
                self._to_ids()
            except OverflowError:  # a value or an offset beyond 32 bits: the fact arrays become 8 bytes wide
                self._undo(marks, final)
                if all(getattr(self, name).typecode == "q" for name in _FACT_ARRAYS):
                    raise  # beyond 64 bits: `read_lines` says the columns cannot hold it
                self._widen(_FACT_ARRAYS)

    def _undo(self, marks: tuple[int, int, int, int], final: list | None) -> None:
        """Removes the rows an op's micro-ops wrote since `marks`, before they are read again another way."""
        # the op's null read offsets are read again (a mark the file gave itself is not a null, so counting
        # it here too leaves the count short, and `columns()` refuses the file, as it should)
        self.null_reads -= self.r_off[marks[1]:].count(NO_OFFSET)
        for arr, n in ((self.s_op, marks[0]), (self.s_key, marks[0]), (self.s_val, marks[0]), (self.s_off, marks[0]),
                       (self.r_op, marks[1]), (self.r_key, marks[1]), (self.r_val, marks[1]), (self.r_off, marks[1]),
                       (self.pollers, marks[2])):
            del arr[n:]
        if final is not None:
            del final[marks[3]:]

    def spill_rows(self, names: tuple[str, ...] = _SPILLED) -> None:
        """Appends the rows of the fact arrays `names` held in memory to their files (see `prozess.columnar_spill`)."""
        assert self.spill is not None
        for name in names:
            col = getattr(self, name)
            if len(col):
                self.spill[name].append(col)
                setattr(self, name, array(col.typecode))

    def whole(self, name: str) -> tuple[str, int, Any]:
        """(typecode, rows, pieces) of builder array `name` with what of it is on disk: its rows in order, as
        numpy arrays of one width (the widest of its parts)."""
        col = getattr(self, name)
        spilled = self.spill.get(name) if self.spill is not None else None
        if spilled is None or not spilled.rows:
            return col.typecode, len(col), iter([_np(col)])
        code = "q" if "q" in (spilled.typecode, col.typecode) else "i"
        dt = _DTYPE[code]
        return code, spilled.rows + len(col), (p.astype(dt, copy=False) for p in (*spilled.pieces(), _np(col)))

    def _unspill(self) -> None:
        """The fact rows on disk come back into the builder's arrays, and the rest of the file is read into memory."""
        if self.spill is None:
            return
        for name in _SPILLED:
            code, _, pieces = self.whole(name)
            col = array(code)
            for piece in pieces:
                col.frombytes(memoryview(np.ascontiguousarray(piece)).cast("B"))
            setattr(self, name, col)
            self.spill[name].close()
        self.spill = None

    def _to_ids(self) -> None:
        """Leaves raw mode: the values written so far become ids of the interned table."""
        self._unspill()  # ids are made from every value written so far, and only raw values spill
        self.raw = False
        value_id = self.value_id
        for col in (self.s_val, self.r_val):
            ids = array(col.typecode, [value_id(v) for v in col])  # ids are below the row count: they fit
            col[:] = ids

    def _facts(self, pos: int, value: Any, completion: bool, final: list | None, raw: bool) -> None:
        s_op, s_key, s_val, s_off = self.s_op, self.s_key, self.s_val, self.s_off
        values_get = self.values.get
        for mop in value:
            kind = mop[0]
            if kind == "send":
                x = mop[2]
                if completion and x.__class__ is list:
                    o, v = x
                    if o is None or o < 0:
                        o = NO_OFFSET
                else:
                    o, v = NO_OFFSET, x
                if raw:
                    if v.__class__ is not int or not -INT64 <= v < INT64:
                        raise _NotRaw
                    s_val.append(v)
                else:
                    vid = values_get(v) if v.__class__ is int else None
                    s_val.append(vid if vid is not None else self.value_id(v))
                s_off.append(o)
                s_op.append(pos)
                s_key.append(self.key_id(mop[1]))
            elif kind == "poll" and completion and len(mop) > 1 and mop[1]:
                if not self.pollers or self.pollers[-1] != pos:
                    self.pollers.append(pos)
                r_op, r_key, r_val, r_off = self.r_op, self.r_key, self.r_val, self.r_off
                for k, pairs in mop[1].items():
                    if not pairs:
                        continue
                    kid = self.key_id(k)
                    if final is not None:
                        final.append(kid)
                    for o, v in pairs:
                        if raw:
                            if v.__class__ is not int or not -INT64 <= v < INT64:
                                raise _NotRaw
                            r_val.append(v)
                        else:
                            vid = values_get(v) if v.__class__ is int else None
                            r_val.append(vid if vid is not None else self.value_id(v))
                        if o is None:
                            o = NO_OFFSET
                            self.null_reads += 1
                        r_off.append(o)
                        r_op.append(pos)
                        r_key.append(kid)

    def op(self, line_no: int, d: Any, path: Any) -> None:
        try:
            index, time, typ, p, f = d["index"], d["time"], d["type"], d["process"], d["f"]
        except (KeyError, TypeError, IndexError):
            from prozess.history import op_from_dict

            op_from_dict(d)  # raises the reader's own complaint
            raise
        if not (type(index) is int and 0 <= index < INT64 and type(time) is int and -INT64 <= time < INT64
                and type(typ) is str and typ in TYPES
                and ((type(p) is int and -INT64 <= p < INT64) or p == NEMESIS) and type(f) is str and f
                and type(d.get("node")) in _NODE_TYPES):
            from prozess.history import op_from_dict

            op_from_dict(d)
        pos = len(self.index)
        if self.index and index <= self.index[-1]:
            raise HistoryError(f"op has index {index}, below or equal to the index {self.index[-1]} of the op before it; "
                               "indices must strictly increase (gaps are fine)", path=path, line=line_no)
        if pos == WIDE_POSITIONS:
            self._widen(_POSITIONS)
        try:  # inline, not `_append_wide`: a call per op costs seconds over tens of millions of ops
            self.index.append(index)
        except OverflowError:
            self._append_wide("index", index)
        self.time.append(time)
        t = _TYPE_CODE[typ]
        self.type.append(t)
        fid = self.fs.get(f)
        if fid is None:
            fid = self.fs[f] = len(self.fs)
        self.f.append(fid)
        self.pair.append(-1)
        if len(d) > 6 or (len(d) == 6 and "value" not in d):  # as extra_fields: a field beyond the known ones
            more = {k: v for k, v in d.items() if k not in ("index", "time", "type", "process", "f", "value", "node", "error")}
            if more:
                self.extra[pos] = more
        if p == NEMESIS:
            self.process.append(NEMESIS_P)
            self.nemesis += 1
            j = self.open.get(NEMESIS)
            if j is not None and t != INVOKE and j[1] == f:
                self.pair[j[0]] = pos
                self.pair[pos] = j[0]
                del self.open[NEMESIS]
            else:
                self.open[NEMESIS] = (pos, f, None, index)
            return
        try:
            self.process.append(p)
        except OverflowError:
            self._append_wide("process", p)
        value = d.get("value")
        if t == INVOKE:
            j = self.open.get(p)
            if j is not None:
                raise HistoryError(f"process {p} invokes {f!r} while its op at index {j[3]} ({j[1]!r}) has not completed; "
                                   "a process runs one op at a time — give the new op a new process id", path=path, line=line_no)
            self.open[p] = (pos, f, value if f in CLIENT_FS else None, index)
            return
        j = self.open.pop(p, None)
        if j is None:
            if self.orphans is None:
                raise HistoryError(f"{typ} completion of {f!r} by process {p} has no invocation before it", path=path, line=line_no)
            self.orphans.append((pos, p, f))
        else:
            if j[1] != f:
                raise HistoryError(f"completion f {f!r} differs from its invocation's f {j[1]!r} (index {j[3]})", path=path, line=line_no)
            self.pair[j[0]] = pos
            self.pair[pos] = j[0]
        if f in CLIENT_FS:
            more = self.extra.get(pos)
            final = None
            if more is not None and more.get("final") is True:
                final = self.final_reads[pos] = []
            self.facts(pos, value, True, final)
        elif f in SUB_FS:
            self.subs.add(pos, value)

    def complete(self) -> None:
        """Every invocation still open ends `info` at the end, as `History.complete()` does."""
        last_time = self.time[-1] if self.time else 0
        next_index = self.index[-1] + 1 if self.index else 0
        for p, (j, f, value, _) in sorted(self.open.items(), key=lambda kv: kv[1][0]):
            if self.type[j] != INVOKE:
                continue
            pos = len(self.index)
            if pos == WIDE_POSITIONS:
                self._widen(_POSITIONS)
            self._append_wide("index", next_index)
            next_index += 1
            self.time.append(last_time)
            self.type.append(INFO)
            if p == NEMESIS:
                self.process.append(NEMESIS_P)
                self.nemesis += 1
            else:
                self._append_wide("process", p)
            self.f.append(self.f[j])
            self.pair.append(j)
            self.pair[j] = pos
            if f in CLIENT_FS:
                self.facts(pos, value, False)
        self.open.clear()

    def columns(self, source: str | None) -> Columns:
        """The columns as views of the builder's buffers (numpy keeps them alive; no copy), each in 4 bytes per
        row where its values fit (`_narrow`: only a column that was widened while reading is copied). One column
        at a time: each narrowed column's 8-byte buffer is freed before the next is made."""
        n = len(self.index)
        values: Any
        ops = self._op_columns(n)
        if self.spill is not None:  # raw values on disk (a value that is not an integer brought them back)
            self.spill_rows()
            values, s_val, r_val = self._spilled_values()
            index = None
        elif self.raw:  # values as themselves: the table is their sorted distinct set, ids are ranks in it
            s_val, r_val = _np(self.s_val), _np(self.r_val)
            table = _distinct(np.concatenate([_distinct(s_val), _distinct(r_val)]))
            values = IntValues(table)
            index = None
            self.s_val = self.r_val = None
            s_val = _ranks(table, s_val)  # one at a time: each raw array is freed once ranked
            r_val = _ranks(table, r_val)
        else:
            s_val, r_val = _np(self.s_val), _np(self.r_val)
            values, index = self.value_list, self.values
            self.s_val = self.r_val = None
            s_val = s_val.astype(index_dtype(len(values)))
            r_val = r_val.astype(index_dtype(len(values)))
        process = ops["process"]
        if self.nemesis != count_equal(process, NEMESIS_P):
            raise Unsupported(f"a client process is {NEMESIS_P}, the columns' mark for the nemesis")
        read_offset = self._narrow("r_off", n)
        if self.null_reads != count_equal(read_offset, NO_OFFSET):
            raise Unsupported(f"a poll read offset {NO_OFFSET}, the columns' mark for an unknown offset")
        cols = Columns(
            index=ops["index"], time=ops["time"], type=ops["type"],
            process=process, f=ops["f"], pair=ops["pair"],
            fs=list(self.fs), keys=list(self.keys), values=values,
            send_op=self._narrow("s_op", n), send_key=self._narrow("s_key", n),
            send_value=s_val, send_offset=self._narrow("s_off", n),
            read_op=self._narrow("r_op", n), read_key=self._narrow("r_key", n),
            read_offset=read_offset, read_value=r_val,
            pollers=self._narrow("pollers", n), final_reads=self.final_reads, subs=self.subs, extra=self.extra,
            source=source, value_index=index,
        )
        if self.spill is not None:
            cols.spilled = True
            cols.pollers = to_disk(cols.pollers)
        return cols

    def _op_columns(self, n: int) -> dict[str, Any]:
        """The op columns (`_index`, views, `_narrow`), made before anything else of `columns()`; for a spilled
        history as memory maps of files (`to_disk`), so the builder's buffers (23 bytes per op) are freed before
        the value table and its ids are made."""
        out = {"index": self._index(), "time": _np(self.time), "type": _np(self.type), "f": _np(self.f)}
        self.time = self.type = self.f = None
        out["process"], out["pair"] = self._narrow("process", n), self._narrow("pair", n)
        if self.spill is not None:
            for name, x in out.items():
                if isinstance(x, np.ndarray):
                    out[name] = to_disk(x)  # the builder's buffer goes with the last reference to it, here
        return out

    def _narrow(self, name: str, n: int) -> np.ndarray:
        """Builder array `name` as a view when it is 4 bytes wide; a widened one (8 bytes) as an int32 copy when
        every value fits, freeing the 8-byte buffer, else an int64 view of it. Op positions (and -1) fit while
        the history has fewer than 2**31 ops (`index_dtype`), without a look at the values; processes and
        offsets are looked at."""
        if self.spill is not None and name in self.spill:
            return self._narrow_spilled(name, n)
        col = getattr(self, name)
        setattr(self, name, None)
        if name in ("s_key", "r_key"):  # key ids: always 4 bytes
            return _np(col)
        if not len(col):
            return np.zeros(0, np.int32)
        x = _np(col)
        if x.dtype == np.int32:
            return x
        if name in ("process", "s_off", "r_off"):
            fits = -2**31 <= int(x.min()) and int(x.max()) < 2**31
        else:
            fits = index_dtype(n) == np.int32
        if not fits:
            return x
        out = x.astype(np.int32)
        del x, col  # the last references to the 8-byte buffer
        return out

    def _narrow_spilled(self, name: str, n: int) -> np.ndarray:
        """`_narrow` of a fact column on disk: the memory map of its file, in the width `_narrow` would give."""
        assert self.spill is not None
        self.spill_rows((name,))
        setattr(self, name, None)
        spilled = self.spill.pop(name)
        if name in ("s_key", "r_key"):
            return finish(spilled)
        if name in ("s_off", "r_off"):
            return finish(spilled, narrow=lambda lo, hi: -2**31 <= lo and hi < 2**31)
        return finish(spilled, narrow=lambda lo, hi: index_dtype(n) == np.int32)

    def _spilled_values(self) -> tuple[IntValues, np.ndarray, np.ndarray]:
        """(value table, send value ids, read value ids) of raw values on disk: the sorted distinct set made a
        piece at a time, then the ids (ranks in it) written to new files and mapped."""
        assert self.spill is not None
        table = distinct_of_parts([_distinct(p) for name in ("s_val", "r_val") for p in self.whole(name)[2]], np.int64)
        ids = []
        for name in ("s_val", "r_val"):
            self.spill_rows((name,))
            setattr(self, name, None)
            ids.append(finish(self.spill.pop(name), convert=lambda x: _ranks(table, x)))
        return IntValues(table), ids[0], ids[1]

    def _index(self) -> Any:
        """The index column: `DenseIndex` (nothing stored) when every op's index is its position, as in a
        history the harness wrote; else the values, narrowed like a position column."""
        n = len(self.index)
        if not n:
            self.index = None
            return np.zeros(0, np.int64)
        if self.index[0] == 0 and self.index[-1] == n - 1:  # strictly increasing ints: 0 .. n-1 means dense
            self.index = None
            return DenseIndex(n)
        x = _np(self.index)
        self.index = None
        return x.astype(np.int32) if x.dtype != np.int32 and int(x[-1]) < 2**31 else x


_TRIM: Any = None


def release_free_memory() -> None:
    """Hands the C heap's free pages back to the system (glibc's `malloc_trim`; nothing elsewhere).

    The passes make and drop temporaries of a few MB each; glibc keeps such freed blocks in its heap,
    so without this the resident size after a pass stays near its peak and every later pass's peak
    stacks on top. Costs milliseconds, so it runs between passes, not inside them."""
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
            except (OSError, AttributeError):
                pass
    if _TRIM:
        _TRIM(0)
    columnar_spill.drop_pages()


def index_dtype(n: int) -> np.dtype:
    """The narrowest of int32 and int64 that holds ids or positions below n (4 bytes per row, not 8, while
    n < 2**31): value ids here, op positions and group indices in the passes."""
    return np.dtype(np.int32) if n < 2**31 else np.dtype(np.int64)


def _ranks(table: np.ndarray, x: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """The position of each value of `x` in the sorted `table`, as ids (`index_dtype`), a chunk at a time so
    no 8-byte temporary covers all of `x`."""
    out = np.empty(len(x), index_dtype(len(table)))
    for lo in range(0, len(x), chunk):
        out[lo:lo + chunk] = np.searchsorted(table, x[lo:lo + chunk])
    return out


def _distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy 2's hashing `np.unique` is far slower on int64)."""
    s = np.sort(x)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def distinct_of_parts(parts: list[np.ndarray], dtype: Any = None) -> np.ndarray:
    """`_distinct` of the arrays `parts` laid end to end, emptying `parts` as each is copied, sorting in place:
    about twice the rows in memory at the peak, not four times (the parts, their concatenation, its sorted
    copy and the result). The tables of a long history's distinct values and codes are made this way."""
    dtype = np.result_type(*parts) if dtype is None and parts else dtype or np.int64
    out = np.empty(sum(len(p) for p in parts), dtype)
    at = 0
    parts.reverse()
    while parts:
        p = parts.pop()
        out[at:at + len(p)] = p
        at += len(p)
        del p
    if len(out) < 2:
        return out
    out.sort()
    keep = np.empty(len(out), bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


class DenseIndex:
    """The `index` column of a history whose indices are its positions 0 .. n-1 (nothing stored: 8 bytes per op
    saved). Reads like the int64 array it stands for: `x[i]`, `x[rows]`, `len(x)`, `tolist()`, and any numpy
    function through `__array__` (which makes the array)."""

    dtype = np.dtype(np.int64)
    nbytes = 0

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, (int, np.integer)):
            j = int(i) + (self.n if i < 0 else 0)
            if not 0 <= j < self.n:
                raise IndexError(f"index {i} is out of bounds for {self.n} ops")
            return np.int64(j)
        if isinstance(i, slice):
            return np.arange(*i.indices(self.n), dtype=np.int64)
        i = np.asarray(i)
        if i.dtype == bool:
            if i.shape != (self.n,):
                raise IndexError(f"a mask of shape {i.shape} for {self.n} ops")
            return np.nonzero(i)[0].astype(np.int64)
        out = i.astype(np.int64)
        out[out < 0] += self.n
        if out.size and not (0 <= int(out.min()) and int(out.max()) < self.n):
            raise IndexError(f"an index out of bounds for {self.n} ops")
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.arange(self.n, dtype=dtype or np.int64)

    def tolist(self) -> list[int]:
        return list(range(self.n))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, DenseIndex) and other.n == self.n

    def __repr__(self) -> str:
        return f"DenseIndex({self.n})"


class SubValues(Mapping):
    """position -> value of each assign/subscribe completion, in position order. The usual value, a list of key
    names, is kept as ids of its names in two arrays, so a long run's hundreds of thousands of re-assignments
    hold no Python object each for the whole check (kept as objects, they were most of what a read left in
    the heap, scattered among the freed lines' objects); any other value is kept as it is. A value read
    back is a new list equal to the one in the file."""

    def __init__(self) -> None:
        self.pos = array("q")            # positions with a list of names, increasing
        self.start = array("q", [0])     # the names of the j-th are ids[start[j]:start[j + 1]]
        self.ids = array("i")
        self.names: dict[str, int] = {}  # name -> id
        self.name_list: list[str] = []
        self.other: dict[int, Any] = {}  # position -> any other value

    def add(self, pos: int, value: Any) -> None:
        """Records the value of the completion at `pos` (positions come in increasing order)."""
        if value.__class__ is list and all(k.__class__ is str for k in value):
            for k in value:
                i = self.names.get(k)
                if i is None:
                    i = self.names[k] = len(self.name_list)
                    self.name_list.append(k)
                self.ids.append(i)
            self.pos.append(pos)
            self.start.append(len(self.ids))
        else:
            self.other[pos] = value

    def extend(self, more: SubValues, shift: int) -> None:
        """Appends `more` (a later part of the file, every position after these) with its positions + `shift`."""
        for k in more.name_list:
            if k not in self.names:
                self.names[k] = len(self.name_list)
                self.name_list.append(k)
        remap = [self.names[k] for k in more.name_list]
        base = len(self.ids)
        self.ids.extend(remap[i] for i in more.ids)
        self.start.extend(base + x for x in more.start[1:])
        self.pos.extend(p + shift for p in more.pos)
        self.other.update((p + shift, v) for p, v in more.other.items())

    def _row(self, i: Any) -> int | None:
        import bisect

        j = bisect.bisect_left(self.pos, i)
        return j if j < len(self.pos) and self.pos[j] == i else None

    def __getitem__(self, i: Any) -> Any:
        j = self._row(i)
        if j is None:
            return self.other[i]
        names = self.name_list
        return [names[k] for k in self.ids[self.start[j]:self.start[j + 1]]]

    def __contains__(self, i: object) -> bool:
        return self._row(i) is not None or i in self.other

    def __iter__(self) -> Iterator[int]:
        return iter(sorted([*self.pos, *self.other]))

    def __len__(self) -> int:
        return len(self.pos) + len(self.other)


class IntValues(Sequence):
    """The value table of a history whose values are all 64-bit integers: their sorted distinct set in one
    int64 array (no Python object per value); `values[i]` is the int with id i."""

    def __init__(self, table: np.ndarray):
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self.table[i].tolist()
        return int(self.table[i])

    def id_of(self, v: Any) -> int | None:
        """The id of v (an int, or a float or bool equal to one), or None."""
        if not isinstance(v, (int, float)):
            return None
        try:
            i = int(self.table.searchsorted(v))
        except (OverflowError, TypeError):
            return None
        return i if i < len(self.table) and self.table[i] == v else None

    def take(self, ids: np.ndarray) -> list:
        """The values of many ids at once."""
        return self.table[ids].tolist()


def take(values: Any, ids: np.ndarray) -> list:
    """`[values[i] for i in ids]`, in one numpy step when the table is an `IntValues`."""
    if isinstance(values, IntValues):
        return values.take(ids)
    return [values[i] for i in ids.tolist()]


def read_columns(path: str | os.PathLike, *, progress: Callable[[int, int], None] | None = None,
                 complete: bool = True, warnings: list[str] | None = None) -> Columns:
    """Streams a JSON Lines history into `Columns`; `progress(bytes_read, total_bytes)` is called every ~1M lines.

    Raises HistoryError naming file and line for a line that is not JSON or not an op,
    or that breaks the pairing rules (as `read_jsonl` does). A torn last line (no
    newline, not JSON) is skipped, as `read_jsonl` does. Raises `Unsupported` for what
    the columns cannot hold exactly (the op-object path then reads the history).

    A file of at least `SPLIT_BYTES` is read in two halves at once, one in a child process
    (`prozess.columnar_split`), with the same columns, errors and warnings as one pass.
    """
    path = Path(path)
    with gc_paused():
        cut = split_point(path)
        if cut is None:
            b = _Builder(spill=spills(path))
            read_lines(b, jsonl_lines(path, warnings, progress=progress), path)
        else:
            b = read_split(path, cut, warnings=warnings, progress=progress)
        if not b.index:
            raise HistoryError("holds no ops; a history to check, show, convert or report needs at least one", path=path)
        if complete:
            b.complete()
        cols = b.columns(str(path))
    if progress is not None:
        total = os.stat(path).st_size
        progress(total, total)
    return cols


# Files this large are read in two halves at once; a process running other threads starts the half's reader as
# a fresh interpreter (a few tenths of a second more), so it splits from 8x this. Measured: docs/architecture.md.
SPLIT_BYTES = 4 << 20


def spills(path: str | os.PathLike) -> bool:
    """Whether the reader keeps the fact rows of file `path` on disk: a regular file of at least
    `columnar_spill.SPILL_BYTES` (see `prozess.columnar_spill`)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size >= columnar_spill.SPILL_BYTES


def split_point(path: Path) -> int | None:
    """Where a file of at least `SPLIT_BYTES` (see there) is cut for reading in two halves (the start of the first line
    at or after its middle), or None: read it in one pass (a small file, one line, or not a regular file,
    which the one pass then refuses with its own words)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    import threading

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = SPLIT_BYTES if threading.active_count() == 1 else 8 * SPLIT_BYTES
    if not stat.S_ISREG(st.st_mode) or st.st_size < max(limit, 2) or cores < 2:
        return None
    with open(path, "rb") as fh:
        fh.seek(st.st_size // 2)
        at = st.st_size // 2
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                return None
            i = chunk.find(b"\n")
            if i >= 0:
                cut = at + i + 1
                return cut if cut < st.st_size else None
            at += len(chunk)


def read_lines(b: _Builder, lines: Any, path: Path) -> None:
    """Feeds the (line number, line, parsed JSON) of `jsonl_lines` to builder `b`, turning what an op
    cannot be into HistoryError (file and line) or `Unsupported`."""
    op = b.op
    for n, line, d in lines:
        if line.count(b"[") + line.count(b"{") > MAX_DEPTH and line_too_deep(line):  # counts first: no call per line
            try:
                op_from_dict(d)  # the reader's own words for the field nested too deep
            except HistoryError as e:
                raise HistoryError(e.problem, path=path, line=n) from None
            raise HistoryError(f"an op nested more than {MAX_DEPTH} deep; no Kafka op is, so the file is damaged or not a history",
                               path=path, line=n)
        try:
            op(n, d, path)
        except HistoryError as e:
            raise HistoryError(e.problem, path=path, line=n) from None
        except (TypeError, OverflowError, ValueError, IndexError, KeyError, AttributeError) as e:  # odd offsets or micro-ops
            raise Unsupported(f"line {n}: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------ reading in two halves (prozess.columnar_split)


# The builder's arrays in the order the child writes them, and how the merge shifts or maps each.
_KEY = ("s_key", "r_key")                     # key ids: through the map to the first half's key table
_COLUMNS = ("index", "time", "type", "process", "f", "pair", "s_op", "s_key", "s_val", "s_off",
            "r_op", "r_key", "r_val", "r_off", "pollers")
MERGE_ROWS = 1 << 22  # rows of one column appended at a time (bounds the merge's temporaries)
def read_split(path: Path, cut: int, *, warnings: list[str] | None = None,
               progress: Callable[[int, int], None] | None = None) -> _Builder:
    """The builder of the whole file, read as bytes [0, cut) here and [cut, end) in a child process at once
    (see `prozess.columnar_split` for the whole design)."""
    import tempfile

    from prozess.columnar_split import Child

    fd, tmp = tempfile.mkstemp(prefix="prozess-columns-", suffix=".bin")
    os.close(fd)
    child = Child(_read_part, (str(path), cut, tmp))
    total = os.stat(path).st_size
    half_progress = None
    if progress is not None:  # the first half's bytes stand for both halves' (they are read at the same pace)
        def half_progress(done: int, _total: int) -> None:
            progress(min(total, done * total // max(cut, 1)), total)
    try:
        child.start()
        b = _Builder(spill=spills(path))
        count = LinesRead()
        read_lines(b, jsonl_lines(path, warnings, progress=half_progress, stop=cut, count=count), path)
        outcome = child.result()
        if outcome[0] == "done" and _mergeable(b, outcome[1]):
            meta = outcome[1]
            _merge(b, meta, tmp)
            if meta["torn"] is not None and warnings is not None:
                warnings.append(torn_line_warning(path, meta["torn"] + count.lines))
            return b
        read_lines(b, jsonl_lines(path, warnings, progress=progress, start=cut, first_line=count.lines + 1), path)
        return b
    finally:
        child.stop()
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _read_part(path: str, start: int, out: str, conn: Any) -> None:
    """The child: reads bytes [start, end) of `path` into a builder, writes its arrays to `out` and sends
    ("done", the rest) — or ("again", why) when the parent must read this half itself."""
    try:
        with gc_paused():
            b = _Builder(part=True, spill=spills(path))
            count = LinesRead()
            read_lines(b, jsonl_lines(path, [], start=start, count=count), Path(path))
            if not b.raw:
                conn.send(("again", "a value that is not a 64-bit integer"))
                return
            shapes = {}
            with open(out, "wb") as fh:
                for name in _COLUMNS:
                    code, rows, pieces = b.whole(name)
                    for piece in pieces:
                        piece.tofile(fh)
                    shapes[name] = (code, rows)
            process, kind = _np(b.process), _np(b.type)
            client = np.nonzero(process != NEMESIS_P)[0]
            ps, first = np.unique(process[client], return_index=True)
            nemesis = np.nonzero(process == NEMESIS_P)[0]
            fs = list(b.fs)
            conn.send(("done", {
                "lengths": {name: rows for name, (_, rows) in shapes.items()},
                "typecodes": {name: code for name, (code, _) in shapes.items()},
                "fs": fs, "keys": list(b.keys),
                "first_index": b.index[0] if b.index else None,
                # processes whose first op in this half is an invocation (one still open before it is an error)
                "first_invokes": ps[kind[client[first]] == INVOKE].tolist(),
                "orphans": b.orphans, "open": b.open,
                "nemesis": [(int(i), int(kind[i]), fs[b.f[i]]) for i in nemesis.tolist()],
                "subs": b.subs, "extra": b.extra, "final_reads": b.final_reads,
                "torn": count.torn, "marks": (b.nemesis, b.null_reads),
            }))
    except BaseException as e:  # noqa: BLE001 — whatever it was, the parent reads this half itself and says it
        try:
            conn.send(("again", f"{type(e).__name__}: {e}"))
        except Exception:  # noqa: BLE001 — the pipe is gone; the parent sees EOF
            pass
    finally:
        conn.close()


def _mergeable(b: _Builder, meta: dict) -> bool:
    """Whether the child's half joins the first half's builder `b` exactly as one pass would have read on."""
    if not b.raw:
        return False
    if b.index and meta["first_index"] is not None and meta["first_index"] <= b.index[-1]:
        return False
    open_client = {p for p in b.open if p != NEMESIS}
    if open_client.intersection(meta["first_invokes"]):
        return False
    claimed = set()
    for _, p, f in meta["orphans"]:
        j = b.open.get(p) if p != NEMESIS else None
        if j is None or j[1] != f or p in claimed:
            return False
        claimed.add(p)
    return True


def _merge(b: _Builder, meta: dict, path: str) -> None:
    """Appends the child's half (`meta` and the arrays in file `path`) to the first half's builder `b`."""
    n = len(b.index)
    fmap = np.array([_intern(b.fs, f) for f in meta["fs"]] or [0], np.int16)
    kmap = np.array([b.key_id(k) for k in meta["keys"]] or [0], np.int32)
    lengths = meta["lengths"]
    if n + lengths["index"] > WIDE_POSITIONS:  # positions of the whole file need 8 bytes
        b._widen(_POSITIONS)
    with open(path, "rb") as fh:
        for name in _COLUMNS:
            rows = lengths[name]
            for lo in range(0, rows, MERGE_ROWS):
                chunk = np.empty(min(MERGE_ROWS, rows - lo), _DTYPE[meta["typecodes"][name]])
                if fh.readinto(memoryview(chunk).cast("B")) != chunk.nbytes:
                    raise OSError(f"{path}: the second half's columns are shorter than written")
                if name == "f":
                    chunk = fmap[chunk]
                elif name in _KEY:
                    chunk = kmap[chunk]
                elif name == "pair":
                    chunk = chunk.astype(np.int64)
                    chunk[chunk >= 0] += n
                elif name in _POSITIONS:  # + the first half's op count (-1 stays -1 in pair)
                    chunk = chunk.astype(np.int64) + n
                col: array = getattr(b, name)
                dt = _DTYPE[col.typecode]
                if chunk.dtype.itemsize > dt.itemsize and len(chunk) and not (
                        np.iinfo(dt).min <= int(chunk.min()) and int(chunk.max()) <= np.iinfo(dt).max):
                    b._widen((name,))  # a value of the second half beyond the first half's width
                    col, dt = getattr(b, name), np.dtype(np.int64)
                col.frombytes(memoryview(np.ascontiguousarray(chunk, dt)).cast("B"))
                if b.spill is not None and name in b.spill and len(col) >= columnar_spill.SPILL_ROWS:
                    b.spill_rows((name,))
    b.nemesis += meta["marks"][0]
    b.null_reads += meta["marks"][1]
    b.subs.extend(meta["subs"], n)
    b.extra.update((pos + n, v) for pos, v in meta["extra"].items())
    b.final_reads.update((pos + n, kmap[keys].tolist() if keys else []) for pos, keys in meta["final_reads"].items())
    for pos, p, _ in meta["orphans"]:  # completions of invocations the first half left open
        j = b.open.pop(p)[0]
        b.pair[j] = pos + n
        b.pair[pos + n] = j
    child_open = {p: (pos + n, f, value, index) for p, (pos, f, value, index) in meta["open"].items()}
    if NEMESIS in b.open:  # replay the nemesis's pairing over the child's nemesis ops from the open one
        state = b.open.pop(NEMESIS)
        child_open.pop(NEMESIS, None)
        for pos, _, _ in meta["nemesis"]:
            b.pair[pos + n] = -1
        for pos, t, f in meta["nemesis"]:
            if state is not None and t != INVOKE and state[1] == f:
                b.pair[state[0]] = pos + n
                b.pair[pos + n] = state[0]
                state = None
            else:
                state = (pos + n, f, None, b.index[pos + n])
        if state is not None:
            child_open[NEMESIS] = state
    b.open.update(child_open)


def _intern(table: dict[str, int], name: str) -> int:
    i = table.get(name)
    if i is None:
        i = table[name] = len(table)
    return i


# ------------------------------------------------------------------ stats and perf


def stats(c: Columns) -> dict:
    """`prozess.checkers.stats.stats` as a pass over the columns (same result)."""
    client = c.process != NEMESIS_P
    nf = len(c.fs)
    counts2 = np.bincount(c.f[client].astype(np.int64) * 4 + c.type[client], minlength=nf * 4).reshape(nf, 4)
    by_f: dict[str, dict[str, int]] = {}
    for fid, name in enumerate(c.fs):
        row = counts2[fid]
        if row.sum():
            by_f[name] = {t: int(row[i]) for i, t in enumerate(TYPE_NAMES)}
    counts = {t: sum(d[t] for d in by_f.values()) for t in TYPE_NAMES}
    counts["ops"] = len(c)
    counts["nemesis"] = int((~client).sum())
    return {"valid": True, "anomaly-types": [], "anomalies": {},
            "by-f": {f: by_f[f] for f in sorted(by_f)}, "counts": counts}


PERF_ROWS = 1 << 20  # op rows per chunk of the perf pass (its temporaries are a few dozen bytes per row)


def _latency_rows(c: Columns, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(completion positions, latency ns) of completed client ops among rows [lo, hi) whose process had
    an open invocation.

    The dict-based perf pairs a completion with its process's latest invocation; on a
    valid (paired) history that is exactly `pair`."""
    hi = len(c) if hi is None else hi
    paired = c.type[lo:hi] != INVOKE  # one mask, narrowed in place: no second copy of the positions
    paired &= c.process[lo:hi] != NEMESIS_P
    paired &= c.pair[lo:hi] >= 0
    pos = lo + np.nonzero(paired)[0]
    del paired
    lat = c.time[pos]
    lat -= c.time[c.pair[pos]]
    return pos, lat


def _per_second(seconds: np.ndarray) -> list[list[int]]:
    """[[second, ops completed in it], ...] in second order, for the seconds that have any.

    A bincount over the span of seconds when that span is not much longer than the list
    (a run's seconds are consecutive ones); a sort otherwise."""
    if not len(seconds):
        return []
    lo, hi = int(seconds.min()), int(seconds.max())
    if hi - lo <= 4 * len(seconds) + 1024:
        counts = np.bincount(seconds - lo, minlength=hi - lo + 1)
        secs = np.nonzero(counts)[0]
        return [[s + lo, int(k)] for s, k in zip(secs.tolist(), counts[secs].tolist())]
    secs, n = np.unique(seconds, return_counts=True)
    return [[int(s), int(k)] for s, k in zip(secs.tolist(), n.tolist())]


def perf(c: Columns, rows: int = PERF_ROWS) -> dict:
    """`prozess.checkers.stats.perf` as a pass over the columns (same quantiles, linear interpolation).

    The op rows are taken `rows` at a time: each chunk's latencies are kept per (f, type), as
    doubles, and its completions are counted per second; the quantiles are then taken over
    each f's and each (f, type)'s latencies (a quantile does not depend on the order of its
    inputs). So only the latencies themselves live for the whole pass, not the chunk's
    positions, times and masks."""
    ms_of: dict[tuple[int, int], list[np.ndarray]] = {}  # (f, type) -> its latencies in ms, a chunk at a time
    per_second: dict[int, dict[int, int]] = {}  # f -> second -> completions
    for lo in range(0, len(c), rows):
        pos, lat = _latency_rows(c, lo, min(lo + rows, len(c)))
        if not len(pos):
            continue
        group = c.f[pos].astype(np.int64) * 4 + c.type[pos]
        ms = lat.astype(np.float64)  # the same doubles as lat / 1e6
        del lat
        ms /= 1e6
        second = c.time[pos]
        del pos
        second //= 1_000_000_000
        for g in np.nonzero(np.bincount(group))[0].tolist():
            sel = group == g
            ms_of.setdefault((g // 4, g % 4), []).append(ms[sel])
            counts = per_second.setdefault(g // 4, {})
            for s, n in _per_second(second[sel]):
                counts[s] = counts.get(s, 0) + n
    latency: dict[str, dict] = {}
    latency_by_type: dict[str, dict] = {}
    throughput: dict[str, list] = {}
    for fid in sorted({f for f, _ in ms_of}, key=lambda i: c.fs[i]):
        name = c.fs[fid]
        types = sorted((t for f, t in ms_of if f == fid), key=lambda t: TYPE_NAMES[t])
        by_type = {t: np.concatenate(ms_of.pop((fid, t))) for t in types}
        latency[name] = _quantiles(np.concatenate(list(by_type.values())))
        latency_by_type[name] = {TYPE_NAMES[t]: _quantiles(by_type[t]) for t in types}
        del by_type
        throughput[name] = [[s, n] for s, n in sorted(per_second[fid].items())]
    return {"valid": True, "anomaly-types": [], "anomalies": {},
            "latency-ms": latency, "latency-ms-by-type": latency_by_type, "throughput": throughput}


def _quantiles(x: np.ndarray) -> dict:
    q = np.quantile(x, [0.5, 0.95, 0.99])
    return {"p50": round(float(q[0]), 3), "p95": round(float(q[1]), 3), "p99": round(float(q[2]), 3),
            "max": round(float(x.max()), 3), "count": int(x.size)}


class ProgressPrinter:
    """Progress of a long check on stderr: "read 41% (62 of 152 MB)", then each step as it starts.

    Quiet until the check has run `after` seconds (1 s on a terminal, 10 s otherwise), so a
    short check, a test or a script piping the output sees nothing; a long one says where
    it is. Call it as `progress(bytes_read, total_bytes)` while reading and `.phase(text)`
    for each later step."""

    def __init__(self, stream: Any = None, after: float | None = None):
        import time

        self.out = stream or sys.stderr
        tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.after = after if after is not None else (1.0 if tty else 10.0)
        self.clock = time.monotonic
        self.t0 = self.clock()

    def _say(self, text: str) -> None:
        elapsed = self.clock() - self.t0
        if elapsed >= self.after:
            print(f"[{elapsed:6.1f} s] {text}", file=self.out, flush=True)

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        self._say(f"read {pct}% ({done / 1e6:.0f} of {total / 1e6:.0f} MB)")

    def phase(self, text: str) -> None:
        self._say(text)


def progress_printer(stream: Any = None, after: float | None = None) -> ProgressPrinter:
    """A `progress` callback for `read_columns` and `check_columns` (see `ProgressPrinter`)."""
    return ProgressPrinter(stream, after)
