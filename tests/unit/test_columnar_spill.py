"""Fact rows on disk (`prozess.columnar_spill`): the same columns and the same check as rows held in memory.

Each test reads a history with spilling forced on (`SPILL_BYTES` 0, a few rows per chunk, so
every history spills many chunks) and holds the columns equal, array by array and table by
table, to a read that keeps everything in memory; the check itself is held equal to the
op-object path. The cases are the ones where a spilled column has work to do: an offset or a
value beyond 32 bits arriving after rows went to disk (chunks of two widths), values that stop
being integers after rows went to disk (they come back into memory), and a file read in two
halves whose child spills too.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prozess.columnar as columnar
import prozess.columnar_spill as spill
from prozess.columnar import IntValues, read_columns
from prozess.columnar_analysis import analysis_from_columns
from prozess.columnar_check import light_ops
from prozess.history import write_jsonl
from prozess.simulate import inject, simulate
from tests.same_check import same_check as _same_check
from tests.unit.test_columnar_split import _assert_same_columns, _line_starts
from tests.unit.test_columnar_widths import BIG, _shift_offsets, _shift_values

FACTS = ("send_op", "send_key", "send_value", "send_offset", "read_op", "read_key", "read_value", "read_offset")
OPS = ("time", "type", "process", "f", "pair", "pollers")


@pytest.fixture(autouse=True)
def _no_time_budgets(monkeypatch):
    """Generous txn search budgets, so a busy machine cannot make one path time out and not the other."""
    from prozess.checkers import txn

    monkeypatch.setitem(txn.check.__kwdefaults__, "info_seconds", 120.0)
    monkeypatch.setitem(txn.check.__kwdefaults__, "seconds", 600.0)


def _in_memory(path: Path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(spill, "SPILL_BYTES", 1 << 62)
        return read_columns(path)


def _spilled(path: Path, monkeypatch, rows: int = 7, cut: int | None = None):
    with monkeypatch.context() as m:
        m.setattr(spill, "SPILL_BYTES", 0)
        m.setattr(spill, "SPILL_ROWS", rows)
        if cut is not None:
            m.setattr(columnar, "split_point", lambda p: cut)
        return read_columns(path)


def _mapped(x: np.ndarray) -> bool:
    """Whether array `x` is a read-only view of a memory map."""
    base = x
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, mmap.mmap) and not x.flags.writeable


def _on_disk(c) -> bool:
    """Whether every column of `c` is a view of a spilled file."""
    return all(_mapped(getattr(c, n)) for n in FACTS + OPS if len(getattr(c, n)))


def _text_values(ops: list) -> list:
    """Every value an op sent or polled, as text."""
    def mop(m):
        if m[0] == "send":
            return ["send", m[1], [m[2][0], str(m[2][1])] if isinstance(m[2], list) else str(m[2])]
        if m[0] == "poll" and len(m) > 1 and isinstance(m[1], dict):
            return ["poll", {k: [[o, str(v)] for o, v in pairs] for k, pairs in m[1].items()}]
        return m

    return [op._replace(value=[mop(m) for m in op.value]) if op.f in ("send", "poll", "txn") and isinstance(op.value, list)
            else op for op in ops]


def _assert_same(spilled, in_memory) -> None:
    """The columns of a spilled read equal an in-memory read's, array by array and table by table."""
    assert spilled.spilled and not in_memory.spilled
    _assert_same_columns(spilled, dataclasses.replace(in_memory, spilled=True))


def _write(tmp_path: Path, ops) -> Path:
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    return p


@pytest.mark.parametrize("kind", [None, "G1c-realtime", "lost-write", "duplicate", "inconsistent-offsets", "poll-skip"])
def test_spilled_columns_are_the_in_memory_ones_and_check_the_same(tmp_path: Path, monkeypatch, kind):
    ops = simulate(1500, seed=5, txn=True, info_rate=0.02)
    p = _write(tmp_path, inject(ops, kind, seed=3) if kind else ops)
    c = _spilled(p, monkeypatch)
    assert _on_disk(c)
    _assert_same(c, _in_memory(p, monkeypatch))
    a = analysis_from_columns(c, light_ops(c))  # the tables it keeps to the end are files too
    fx = a._offset_inputs[1]
    assert all(_mapped(getattr(fx, n)) for n in fx.KEPT if len(getattr(fx, n)))
    assert _mapped(a.reads._start) and _mapped(a.writes._start) and _mapped(a.txns.array) and _mapped(a._s_columns[1])
    assert all(_mapped(x) for x in a.scan.rw._cols if len(x)) and _mapped(a.inv.array)
    assert spill.on_disk(c.time) and not spill.on_disk(np.arange(3)) and spill.to_disk(c.time) is c.time
    with monkeypatch.context() as m:
        m.setattr(spill, "SPILL_BYTES", 0)
        m.setattr(spill, "SPILL_ROWS", 5)
        _same_check(p)


def test_a_small_file_keeps_its_rows_in_memory(tmp_path: Path, monkeypatch):
    p = _write(tmp_path, simulate(300, seed=1))
    monkeypatch.setattr(spill, "SPILL_BYTES", os.stat(p).st_size + 1)
    c = read_columns(p)
    assert not any(_mapped(getattr(c, n)) for n in FACTS)


@pytest.mark.parametrize("what", ["offset", "value"])
def test_a_number_beyond_32_bits_after_rows_went_to_disk(tmp_path: Path, monkeypatch, what: str):
    """The 4-byte chunks already on disk and the 8-byte ones after them read as one 8-byte column."""
    ops = inject(simulate(1500, seed=7), "lost-write", seed=3)
    late = len(ops) * 2 // 3
    ops = ops[:late] + (_shift_offsets(ops[late:], BIG) if what == "offset" else _shift_values(ops[late:], BIG))
    p = _write(tmp_path, ops)
    c = _spilled(p, monkeypatch)
    assert _on_disk(c)
    if what == "offset":
        assert c.read_offset.dtype == np.int64 and int(c.read_offset.max()) >= BIG
    else:
        assert isinstance(c.values, IntValues) and int(c.values.table.max()) >= BIG
    _assert_same(c, _in_memory(p, monkeypatch))


def test_values_that_stop_being_integers_bring_the_rows_back(tmp_path: Path, monkeypatch):
    """A string value after rows went to disk: the values become ids of an interned table, in memory."""
    ops = simulate(900, seed=2)
    late = len(ops) // 2
    ops = ops[:late] + _text_values(ops[late:])
    p = _write(tmp_path, ops)
    c = _spilled(p, monkeypatch)
    assert c.value_index is not None and not c.spilled and not any(_mapped(getattr(c, n)) for n in FACTS)
    _assert_same_columns(c, _in_memory(p, monkeypatch))


def test_a_file_read_in_two_halves_spills_in_both(tmp_path: Path, monkeypatch):
    p = _write(tmp_path, simulate(600, seed=3, info_rate=0.05, crash_rate=0.02))
    whole = _in_memory(p, monkeypatch)
    starts = _line_starts(p)
    for cut in (starts[len(starts) // 3], starts[len(starts) // 2], starts[-2]):
        c = _spilled(p, monkeypatch, rows=4, cut=cut)
        assert _on_disk(c)
        _assert_same(c, whole)


def test_spill_files_are_gone_from_the_directory_at_once(tmp_path: Path, monkeypatch):
    """Unlinked as they are made: nothing is left behind, however the process ends."""
    d = tmp_path / "tmp"
    d.mkdir()
    p = _write(tmp_path, simulate(600, seed=3))
    monkeypatch.setattr("tempfile.tempdir", str(d))
    c = _spilled(p, monkeypatch)
    assert _on_disk(c) and os.listdir(d) == []


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status (Linux)")
def test_drop_pages_gives_the_read_pages_back():
    col = spill.SpilledColumn()
    col.append(np.arange(16 << 20, dtype=np.int32))  # 64 MiB
    x = spill.finish(col)
    assert int(x[::1024].sum()) == int(np.arange(0, 16 << 20, 1024, dtype=np.int64).sum())  # touches every page
    before = _rss_file_kib()
    spill.drop_pages()
    after = _rss_file_kib()
    assert before - after >= 48 << 10, (before, after)
    assert int(x[-1]) == (16 << 20) - 1  # and it reads again


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.tuples(st.sampled_from(["h", "i", "q"]), st.lists(st.integers(-2**40, 2**40), max_size=9)),
                       max_size=6),
       rows=st.integers(1, 5), fits=st.booleans())
def test_finish_reads_back_every_row_in_one_width(chunks: list, rows: int, fits: bool):
    from array import array

    col = spill.SpilledColumn()
    want: list[int] = []
    for code, values in chunks:
        values = [v % 2**15 if code == "h" else v % 2**31 if code == "i" or fits else v for v in values]
        col.append(array(code, values))
        want += values
    old = spill.SPILL_ROWS
    spill.SPILL_ROWS = rows
    try:
        x = spill.finish(col, narrow=lambda lo, hi: -2**31 <= lo and hi < 2**31)
    finally:
        spill.SPILL_ROWS = old
    assert x.tolist() == want
    codes = {code for code, v in chunks if v}
    wide = "q" in codes and not all(-2**31 <= v < 2**31 for v in want)
    assert x.dtype == (np.int64 if wide else np.int16 if codes == {"h"} else np.int32)


_SUB_VALUE = st.one_of(st.lists(st.sampled_from(["x", "y", "z", "c1-7"]), max_size=4), st.none(), st.integers(),
                       st.lists(st.one_of(st.integers(), st.text(max_size=2)), max_size=3))


@settings(max_examples=80, deadline=None)
@given(first=st.lists(_SUB_VALUE, max_size=8), second=st.lists(_SUB_VALUE, max_size=8), gap=st.integers(0, 3))
def test_sub_values_read_back_as_the_dict_of_the_file(first: list, second: list, gap: int):
    """Lists of key names kept as ids, anything else as itself; a later part appended with its positions shifted
    (as the merge of a file's two halves does): the mapping equals the plain dict, value for value."""
    from prozess.columnar import SubValues

    a, b, want = SubValues(), SubValues(), {}
    for j, v in enumerate(first):
        a.add(2 * j + gap, v)
        want[2 * j + gap] = v
    shift = 2 * len(first) + gap + 1
    for j, v in enumerate(second):
        b.add(3 * j, v)
        want[3 * j + shift] = v
    a.extend(b, shift)
    assert dict(a.items()) == want and list(a) == sorted(want) and len(a) == len(want)
    assert all(a.get(p) == v and p in a for p, v in want.items()) and a.get(-1) is None and -1 not in a


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.lists(st.integers(-2**40, 2**40) | st.integers(-3, 3), max_size=12), max_size=6))
def test_distinct_of_parts_is_the_sorted_set_of_every_part(parts: list):
    arrays = [np.array(p, np.int64) for p in parts]
    got = columnar.distinct_of_parts(arrays, np.int64)
    assert arrays == []
    assert got.tolist() == sorted({v for p in parts for v in p}) and got.dtype == np.int64
