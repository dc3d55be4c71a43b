"""The columns' widths: 4 bytes where the values fit, 8 where they do not, and the same check either way.

`prozess.columnar` keeps op positions, processes and offsets as int32 when every value fits (and
no index column at all when indices are positions); these tests force each choice both ways and
hold the whole check equal to the op-object path, and run the passes with a key table so large that
a product of a 4-byte op position and the key count would overflow if a pass forgot to widen it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prozess.columnar import NEMESIS_P, NO_OFFSET, DenseIndex, Unsupported, read_columns
from prozess.history import NEMESIS, write_jsonl
from prozess.simulate import inject, simulate
from tests.same_check import same_check as _same_check

BIG = 2**31  # the first value an int32 cannot hold
POSITIONS = ("pair", "send_op", "read_op", "pollers")


@pytest.fixture(autouse=True)
def _no_time_budgets(monkeypatch):
    """Generous txn search budgets, so a busy machine cannot make one path time out and not the other."""
    from prozess.checkers import txn

    monkeypatch.setitem(txn.check.__kwdefaults__, "info_seconds", 120.0)
    monkeypatch.setitem(txn.check.__kwdefaults__, "seconds", 600.0)


def _ops(kind: str | None = "lost-write", n: int = 1500, seed: int = 7) -> list:
    ops = simulate(n, seed=seed)
    return inject(ops, kind, seed=3) if kind else ops


def _shift_offsets(ops: list, by: int) -> list:
    """Every offset a send acknowledged or a poll returned, plus `by`."""
    def mop(m):
        if m[0] == "send" and isinstance(m[2], list):
            return ["send", m[1], [m[2][0] + by if m[2][0] is not None else None, m[2][1]]]
        if m[0] == "poll" and len(m) > 1 and isinstance(m[1], dict):
            return ["poll", {k: [[o + by if o is not None else None, v] for o, v in pairs] for k, pairs in m[1].items()}]
        return m

    return [op._replace(value=[mop(m) for m in op.value]) if op.type != "invoke" and op.f in ("send", "poll", "txn")
            and isinstance(op.value, list) else op for op in ops]


def test_a_usual_history_is_read_in_four_bytes(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    write_jsonl(_ops(), p)
    c = read_columns(p)
    for name in POSITIONS + ("process", "send_offset", "read_offset"):
        assert getattr(c, name).dtype == np.int32, name
    assert isinstance(c.index, DenseIndex) and c.index.tolist() == list(range(len(c)))
    _same_check(p)


def test_processes_beyond_32_bits_are_kept_in_8_bytes(tmp_path: Path):
    ops = [op if op.process == NEMESIS else op._replace(process=op.process + BIG) for op in _ops()]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    c = read_columns(p)
    assert c.process.dtype == np.int64 and int(c.process.max()) >= BIG
    for name in POSITIONS:
        assert getattr(c, name).dtype == np.int32, name
    _same_check(p)


def test_negative_processes_beyond_32_bits_are_kept_in_8_bytes(tmp_path: Path):
    ops = [op if op.process == NEMESIS else op._replace(process=-op.process - BIG - 1) for op in _ops("nonmonotonic-send")]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    assert read_columns(p).process.dtype == np.int64
    _same_check(p)


def test_nemesis_ops_are_marked_in_either_width(tmp_path: Path):
    ops = simulate(400, seed=2)
    nemesis = [op._replace(process=NEMESIS, f="kill", value=None, index=0) for op in ops[:2]]
    ops = [nemesis[0]._replace(type="invoke"), nemesis[1]._replace(type="info")] + ops
    for shift in (0, BIG):
        shifted = [op if op.process == NEMESIS else op._replace(process=op.process + shift) for op in ops]
        shifted = [op._replace(index=i) for i, op in enumerate(shifted)]
        p = tmp_path / f"h{shift}.jsonl"
        write_jsonl(shifted, p)
        c = read_columns(p)
        assert c.process.dtype == (np.int32 if not shift else np.int64)
        assert np.count_nonzero(c.process == NEMESIS_P) == 2 and c.process[0] == NEMESIS_P
        _same_check(p)


def test_a_client_process_equal_to_the_nemesis_mark_reads_as_op_objects(tmp_path: Path):
    ops = _ops()
    first = next(op.process for op in ops if op.process != NEMESIS)
    ops = [op._replace(process=NEMESIS_P) if op.process == first else op for op in ops]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    with pytest.raises(Unsupported, match="nemesis"):
        read_columns(p)
    _same_check(p)


def test_offsets_beyond_32_bits_are_kept_in_8_bytes(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    write_jsonl(_shift_offsets(_ops("inconsistent-offsets"), BIG), p)
    c = read_columns(p)
    assert c.send_offset.dtype == np.int64 and c.read_offset.dtype == np.int64
    assert int(c.read_offset.max()) >= BIG
    _same_check(p)


def test_null_and_negative_read_offsets_in_either_width(tmp_path: Path):
    """A null read offset is the NO_OFFSET mark in 4 or 8 bytes; a negative one is kept as given."""
    lines = [
        {"index": 0, "time": 1, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", 1]]},
        {"index": 1, "time": 2, "type": "ok", "process": 0, "f": "send", "value": [["send", "x", [0, 1]]]},
        {"index": 2, "time": 3, "type": "invoke", "process": 1, "f": "poll", "value": [["poll"]]},
        {"index": 3, "time": 4, "type": "ok", "process": 1, "f": "poll",
         "value": [["poll", {"x": [[None, 1], [-5, 1], [0, 1]]}]]},
    ]
    for big, width in ((0, np.int32), (BIG, np.int64)):
        lines[3]["value"][0][1]["x"][2][0] = big
        p = tmp_path / f"h{big}.jsonl"
        p.write_text("".join(json.dumps(d) + "\n" for d in lines))
        c = read_columns(p)
        assert c.read_offset.dtype == width
        assert c.read_offset.tolist() == [NO_OFFSET, -5, big]
        _same_check(p)
    lines[3]["value"][0][1]["x"][1][0] = NO_OFFSET  # the mark's own number, given by the file: not a null
    p.write_text("".join(json.dumps(d) + "\n" for d in lines))
    with pytest.raises(Unsupported, match="unknown offset"):
        read_columns(p)
    _same_check(p)


def test_gapped_indices_are_stored_in_the_narrowest_width(tmp_path: Path):
    for base, width in ((5, np.int32), (BIG, np.int64)):
        ops = [op._replace(index=op.index * 3 + base) for op in _ops()]
        p = tmp_path / f"h{base}.jsonl"
        write_jsonl(ops, p)
        c = read_columns(p)
        assert isinstance(c.index, np.ndarray) and c.index.dtype == width
        assert c.index.tolist() == [op.index for op in ops][: len(c)]
        _same_check(p)


def test_an_index_from_one_is_not_dense(tmp_path: Path):
    ops = [op._replace(index=op.index + 1) for op in _ops(None, 300)]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    c = read_columns(p)
    assert isinstance(c.index, np.ndarray) and c.index[0] == 1
    _same_check(p)


def test_dense_index_reads_like_the_array_it_stands_for():
    d, a = DenseIndex(7), np.arange(7, dtype=np.int64)
    assert len(d) == 7 and d[3] == 3 and d[-1] == 6 and d.tolist() == a.tolist()
    assert np.array_equal(d[2:6:2], a[2:6:2]) and np.array_equal(d[np.array([0, -1, 4])], a[np.array([0, -1, 4])])
    mask = a % 2 == 0
    assert np.array_equal(d[mask], a[mask]) and np.array_equal(np.asarray(d), a)
    with pytest.raises(IndexError):
        d[7]
    with pytest.raises(IndexError):
        d[np.array([8])]


@pytest.mark.parametrize("kind", ["int-nonmonotonic-send", "int-poll-skip", "nonmonotonic-send", "poll-skip", "nonlinearizable-offsets", "G1c-realtime"])
def test_no_pass_multiplies_four_byte_positions_by_the_key_count(tmp_path: Path, kind: str):
    """With 2**21 keys, op * keys + key in 32 bits wraps every 2048 ops onto the same code (different ops and
    keys made one group): the passes must widen op positions before they combine them with key ids. The
    keys added are never sent or read, so the check must not change."""
    from prozess.columnar_check import check_columns

    p = tmp_path / "h.jsonl"
    write_jsonl(_ops(kind, 3000), p)
    c = read_columns(p)
    assert c.send_op.dtype == np.int32 and len(c) > 2048
    plain = check_columns(c)
    c = read_columns(p)
    c.keys = c.keys + [f"unused-{i}" for i in range(2**21 - len(c.keys))]
    padded = check_columns(c)
    for r in (plain, padded):
        r.pop("seconds", None)
        for v in r["checkers"].values():
            v.pop("seconds", None)
    assert padded == plain


def test_null_read_offsets_are_counted_once_when_values_turn_into_ids(tmp_path: Path):
    """An op whose reads begin with integers and then hold a string is read twice (raw, then as ids): its null
    offsets count once, so the mark check still holds, and a mark given by the file is still refused."""
    lines = [
        {"index": 0, "time": 1, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", 1]]},
        {"index": 1, "time": 2, "type": "ok", "process": 0, "f": "send", "value": [["send", "x", [0, 1]]]},
        {"index": 2, "time": 3, "type": "invoke", "process": 1, "f": "poll", "value": [["poll"]]},
        {"index": 3, "time": 4, "type": "ok", "process": 1, "f": "poll",
         "value": [["poll", {"x": [[None, 1], [0, 1], [None, "a"]]}]]},
    ]
    p = tmp_path / "h.jsonl"
    p.write_text("".join(json.dumps(d) + "\n" for d in lines))
    c = read_columns(p)
    assert c.read_offset.tolist() == [NO_OFFSET, 0, NO_OFFSET] and c.value_index is not None
    _same_check(p)
    lines[3]["value"][0][1]["x"][1][0] = NO_OFFSET
    p.write_text("".join(json.dumps(d) + "\n" for d in lines))
    with pytest.raises(Unsupported, match="unknown offset"):
        read_columns(p)
    _same_check(p)


# ------------------------------------------------------------------ the builder: 4 bytes while reading, widened when needed


def _builder_of(p: Path):
    """The reader's builder after the lines of `p` (one pass), before `columns()`."""
    from prozess.columnar import _Builder, read_lines
    from prozess.history_model import jsonl_lines

    b = _Builder()
    read_lines(b, jsonl_lines(p, []), p)
    return b


def test_the_builder_reads_a_usual_history_in_four_bytes(tmp_path: Path):
    """Half the memory while reading: every integer column but time is 4 bytes wide until a value needs 8."""
    p = tmp_path / "h.jsonl"
    write_jsonl(_ops(), p)
    b = _builder_of(p)
    for name in ("index", "process", "pair", "s_op", "s_val", "s_off", "r_op", "r_val", "r_off", "pollers"):
        assert getattr(b, name).typecode == "i", name
    assert b.time.typecode == "q"


@pytest.mark.parametrize("what", ["process", "offset", "value", "index"])
def test_a_column_widens_at_its_first_value_beyond_32_bits(tmp_path: Path, what: str):
    """The big number comes late (after thousands of 4-byte rows): the rows before it keep their values, the
    column comes out 8 bytes wide, and the check is the op-object path's."""
    ops = _ops("lost-write", 1500)
    late = len(ops) * 2 // 3
    if what == "process":
        ops = [op._replace(process=op.process + BIG) if op.process != NEMESIS and op.index >= late else op for op in ops]
        ops = _renumber_processes_reused_across(ops, late)
    elif what == "offset":
        ops = ops[:late] + _shift_offsets(ops[late:], BIG)
    elif what == "value":
        ops = ops[:late] + _shift_values(ops[late:], BIG)
    else:
        ops = ops[:late] + [op._replace(index=op.index + BIG) for op in ops[late:]]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    b = _builder_of(p)
    wide = {"process": ("process",), "offset": ("s_off", "r_off"), "value": ("s_val", "r_val"), "index": ("index",)}[what]
    for name in wide:
        assert getattr(b, name).typecode == "q", name
    assert b.pair.typecode == "i"
    c = read_columns(p)
    if what == "process":
        assert c.process.dtype == np.int64
        assert c.process.tolist() == [NEMESIS_P if op.process == NEMESIS else op.process for op in ops][: len(c)]
    elif what == "offset":
        assert c.read_offset.dtype == np.int64 and int(c.read_offset.max()) >= BIG
    elif what == "index":
        assert c.index.dtype == np.int64 and c.index.tolist() == [op.index for op in ops][: len(c)]
    _same_check(p)


def _renumber_processes_reused_across(ops: list, late: int) -> list:
    """Ops after `late` with shifted processes: an invocation open across `late` keeps its process id, so the
    pair stays one process's."""
    open_at: dict = {}
    out = []
    for op in ops:
        if op.process != NEMESIS and op.index >= late and op.type != "invoke" and (op.process - BIG) in open_at:
            op = op._replace(process=op.process - BIG)
        if op.process != NEMESIS:
            if op.type == "invoke":
                open_at[op.process] = op.index
            else:
                open_at.pop(op.process, None)
        out.append(op)
    return out


def _shift_values(ops: list, by: int) -> list:
    """Every value an op sent or polled, plus `by` (values stay distinct per key)."""
    def mop(m):
        if m[0] == "send":
            x = m[2]
            return ["send", m[1], [x[0], x[1] + by] if isinstance(x, list) else x + by]
        if m[0] == "poll" and len(m) > 1 and isinstance(m[1], dict):
            return ["poll", {k: [[o, v + by] for o, v in pairs] for k, pairs in m[1].items()}]
        return m

    return [op._replace(value=[mop(m) for m in op.value]) if op.f in ("send", "poll", "txn") and isinstance(op.value, list)
            else op for op in ops]


def test_positions_widen_at_the_position_limit(tmp_path: Path, monkeypatch):
    """Op positions need 8 bytes from `WIDE_POSITIONS` on (2**31 ops, lowered here): the builder widens them
    there and the columns are the same as with positions in 4 bytes."""
    import prozess.columnar as columnar

    p = tmp_path / "h.jsonl"
    write_jsonl(_ops("poll-skip", 1500), p)
    usual = read_columns(p)
    monkeypatch.setattr(columnar, "WIDE_POSITIONS", 700)
    b = _builder_of(p)
    for name in ("pair", "s_op", "r_op", "pollers"):
        assert getattr(b, name).typecode == "q", name
    assert b.process.typecode == "i"
    widened = read_columns(p)
    for name in POSITIONS:
        assert np.array_equal(getattr(widened, name), getattr(usual, name)), name
    _same_check(p)
