"""Reading a history in two halves at once (`prozess.columnar_split`) gives exactly what one pass gives.

Every test reads the same file both ways — one pass (`SPLIT_BYTES` out of reach) and split at a
chosen line start (`split_point` forced) — and holds the columns equal array by array and table
by table, or the error equal word for word (same message, same line). The cuts are placed where
the merge has work to do: invocations open across the cut, the nemesis's open op, a torn last
line, blank lines before the cut, bad lines on either side, values that are not 64-bit integers.
A spy on the merge tells a merged read from one where the parent read the second half itself,
so a test of the merge cannot pass by falling back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import orjson
import pytest

import prozess.columnar as columnar
import prozess.columnar_split as split
from prozess.columnar import IntValues, Unsupported, read_columns
from prozess.history import HistoryError, write_jsonl
from prozess.simulate import inject, simulate

SAVED = sorted((Path(__file__).parents[1] / "histories").rglob("history.jsonl"))


@pytest.fixture
def merges(monkeypatch) -> list[int]:
    """Counts the merges of a child's half (a read that fell back to one pass does not merge)."""
    calls: list[int] = []
    real = columnar._merge

    def spy(b, meta, path):
        calls.append(len(meta["orphans"]))
        return real(b, meta, path)

    monkeypatch.setattr(columnar, "_merge", spy)
    return calls


def _one_pass(path: Path, monkeypatch, **kw):
    with monkeypatch.context() as m:
        m.setattr(columnar, "SPLIT_BYTES", 1 << 62)
        return read_columns(path, **kw)


def _split_at(path: Path, cut: int, monkeypatch, **kw):
    with monkeypatch.context() as m:
        m.setattr(columnar, "split_point", lambda p: cut)
        return read_columns(path, **kw)


def _line_starts(path: Path) -> list[int]:
    data = path.read_bytes()
    return [i + 1 for i, c in enumerate(data[:-1]) if c == 0x0A]


def _assert_same_columns(a, b) -> None:
    for name, x in vars(a).items():
        y = getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        elif isinstance(x, IntValues):
            assert isinstance(y, IntValues) and np.array_equal(x.table, y.table), name
        else:
            assert x == y, name


def _write(path: Path, records: list) -> Path:
    path.write_bytes(b"".join(r if isinstance(r, bytes) else orjson.dumps(r) + b"\n" for r in records))
    return path


def _op(index, type_, process, f, value=None, **more):
    return {"index": index, "time": index * 10, "type": type_, "process": process, "f": f, "value": value, **more}


def _deep(index: int, process: int) -> bytes:
    """An op line whose value nests deeper than any op may."""
    line = orjson.dumps(_op(index, "invoke", process, "send"))
    return line.replace(b'"value":null', b'"value":' + b"[" * 80 + b"]" * 80) + b"\n"


def _errors_both_ways(path: Path, cut: int, monkeypatch, exc=HistoryError) -> str:
    with pytest.raises(exc) as one:
        _one_pass(path, monkeypatch)
    with pytest.raises(exc) as two:
        _split_at(path, cut, monkeypatch)
    assert str(two.value) == str(one.value)
    return str(one.value)


# ------------------------------------------------------------------ clean histories: the merge itself


@pytest.mark.parametrize("seed", [1, 2])
def test_every_cut_of_a_simulated_history_reads_the_same(tmp_path: Path, monkeypatch, merges, seed: int):
    """Every line start as the cut: the invocations open across it (several at each, 10 processes) are
    paired by the merge, the open ones at the end completed as info, key and f tables mapped."""
    p = tmp_path / "h.jsonl"
    write_jsonl(simulate(120, seed=seed, info_rate=0.05, crash_rate=0.02), p)
    whole = _one_pass(p, monkeypatch)
    cuts = _line_starts(p)
    for cut in cuts:
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch))
    assert len(merges) == len(cuts) and max(merges) >= 3  # merged every time, with completions paired across cuts


def test_a_killed_run_cut_in_two_completes_both_halves_open_invocations(tmp_path: Path, monkeypatch, merges):
    ops = simulate(400, seed=4)
    p = tmp_path / "h.jsonl"
    write_jsonl(ops[: len(ops) // 2], p)
    whole = _one_pass(p, monkeypatch)
    starts = _line_starts(p)
    open_ = _one_pass(p, monkeypatch, complete=False)
    for cut in starts[::7]:
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch))
        _assert_same_columns(open_, _split_at(p, cut, monkeypatch, complete=False))  # left open: pair -1
    assert len(merges) == 2 * len(starts[::7]) and (open_.pair == -1).sum() > 0


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.parent.name)
def test_saved_histories_read_the_same_cut_around_each_nemesis_op(path: Path, tmp_path: Path, monkeypatch, merges):
    """Real runs' histories (nemesis ops, subscribes, final polls, extra fields): cut right before and right
    after each nemesis op, so its pairing runs across the cut, and in the middle."""
    data = path.read_bytes()
    p = tmp_path / "h.jsonl"
    p.write_bytes(data)
    whole = _one_pass(p, monkeypatch)
    starts = [0] + _line_starts(p)
    lines = data.split(b"\n")
    cuts = {starts[len(starts) // 2]}
    for i, line in enumerate(lines[:len(starts)]):
        if b'"process":"nemesis"' in line:
            cuts.update(c for c in (starts[i], starts[i + 1] if i + 1 < len(starts) else None) if c)
    for cut in sorted(cuts):
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch))
    if isinstance(whole.values, IntValues):  # the merge ran (other values make the parent read on itself)
        assert len(merges) == len(cuts)


def test_nemesis_pairing_is_replayed_across_the_cut(tmp_path: Path, monkeypatch, merges):
    """The first half ends with a nemesis op open; the second half's first nemesis op closes it, which
    shifts the pairing of every later nemesis op of the second half."""
    recs = [
        _op(0, "info", "nemesis", "start-partition"),
        _op(1, "invoke", 0, "send", [["send", "x", 1]]),
        # cut here
        _op(2, "info", "nemesis", "start-partition"),
        _op(3, "info", "nemesis", "stop-partition"),
        _op(4, "ok", 0, "send", [["send", "x", [0, 1]]]),
        _op(5, "info", "nemesis", "stop-partition"),
        _op(6, "invoke", "nemesis", "kill"),
        _op(7, "info", "nemesis", "kill"),
        _op(8, "info", "nemesis", "pause"),  # never closed: "resume" is another f
        _op(9, "info", "nemesis", "resume"),
        _op(10, "invoke", "nemesis", "kill"),
    ]
    p = _write(tmp_path / "h.jsonl", recs)
    whole = _one_pass(p, monkeypatch)
    for cut in _line_starts(p):
        got = _split_at(p, cut, monkeypatch)
        _assert_same_columns(whole, got)
    # the last invoked kill is completed as info at the end; pause and resume stay unpaired
    assert whole.pair.tolist() == [2, 4, 0, 5, 1, 3, 7, 6, -1, -1, 11, 10]
    assert len(merges) == len(_line_starts(p))


def test_torn_last_line_and_blank_lines_warn_with_the_file_line(tmp_path: Path, monkeypatch, merges):
    recs = [_op(0, "invoke", 0, "poll", [["poll"]]), b"\n", b"   \n", _op(1, "ok", 0, "poll", [["poll", {}]]),
            _op(2, "invoke", 1, "send", [["send", "x", 5]]), b"\n", b'{"index":3,"ti']
    p = _write(tmp_path / "h.jsonl", recs)
    one: list[str] = []
    whole = _one_pass(p, monkeypatch, warnings=one)
    assert len(one) == 1 and ":7: last line is torn" in one[0]
    starts = _line_starts(p)
    for cut in starts:
        two: list[str] = []
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch, warnings=two))
        assert two == one, cut
    assert len(merges) == len(starts)  # even a second half that is only the torn line merges


def test_values_beyond_64_bits_or_not_integers_read_the_same(tmp_path: Path, monkeypatch, merges):
    """A value that is not a 64-bit integer (beyond 64 bits, a string) in either half: the interned table's ids
    follow file order, so the parent reads the second half itself; the columns are one pass's."""
    for odd in (2 ** 63 + 5, "a", 2.5):
        for at in (1, 5):  # in the first half, in the second
            recs = []
            for i in range(4):
                v = odd if i == at // 2 else i
                recs += [_op(2 * i, "invoke", i, "send", [["send", "x", v]]), _op(2 * i + 1, "ok", i, "send", [["send", "x", [i, v]]])]
            recs += [_op(8, "invoke", 9, "poll", [["poll"]]),
                     _op(9, "ok", 9, "poll", [["poll", {"x": [[i, odd if i == at // 2 else i] for i in range(4)]}]])]
            p = _write(tmp_path / "h.jsonl", recs)
            whole = _one_pass(p, monkeypatch)
            assert whole.value_index is not None
            _assert_same_columns(whole, _split_at(p, _line_starts(p)[3], monkeypatch))
    assert merges == []


def test_a_float_that_may_be_a_rounded_integer_is_unsupported_either_way(tmp_path: Path, monkeypatch):
    recs = [_op(0, "invoke", 0, "send", [["send", "x", 1]]), _op(1, "ok", 0, "send", [["send", "x", [0, 1]]]),
            _op(2, "invoke", 0, "send", [["send", "x", 2.0 ** 60]]), _op(3, "ok", 0, "send", [["send", "x", [1, 2.0 ** 60]]])]
    p = _write(tmp_path / "h.jsonl", recs)
    _errors_both_ways(p, _line_starts(p)[1], monkeypatch, Unsupported)


# ------------------------------------------------------------------ bad lines: the one pass's error


GOOD = [_op(0, "invoke", 0, "poll", [["poll"]]), _op(1, "ok", 0, "poll", [["poll", {}]]),
        _op(2, "invoke", 1, "send", [["send", "x", 1]]), _op(3, "invoke", 2, "poll", [["poll"]])]


@pytest.mark.parametrize("tail, message", [
    # a completion whose process has no invocation open anywhere before it
    ([_op(4, "ok", 7, "poll", [["poll", {}]])], r":5: ok completion of 'poll' by process 7 has no invocation"),
    # an invocation by a process whose op from the first half is still open
    ([_op(4, "invoke", 1, "poll", [["poll"]])], r":5: process 1 invokes 'poll' while its op at index 2"),
    # a completion of another f than the invocation it closes across the cut
    ([_op(4, "ok", 1, "poll", [["poll", {}]])], r":5: completion f 'poll' differs from its invocation's f 'send'"),
    # the same open invocation completed twice
    ([_op(4, "ok", 1, "send", [["send", "x", [0, 1]]]), _op(5, "ok", 1, "send", [["send", "x", [0, 1]]])],
     r":6: ok completion of 'send' by process 1 has no invocation"),
    # completed, invoked and completed again: the second completion pairs locally, the invocation does not
    ([_op(4, "invoke", 2, "poll", [["poll"]]), _op(5, "ok", 2, "poll", [["poll", {}]])], r":5: process 2 invokes"),
    # an index that does not rise across the cut
    ([_op(3, "ok", 1, "send", [["send", "x", [0, 1]]])], r":5: op has index 3, below or equal to the index 3"),
    # a line that is not JSON, after a completion paired across the cut
    ([_op(4, "ok", 1, "send", [["send", "x", [0, 1]]]), b"not json\n", _op(5, "ok", 2, "poll", [["poll", {}]])],
     r":6: not valid JSON"),
    # a field of the wrong kind
    ([_op(4, "bogus", 1, "send")], r":5: field 'type' is 'bogus'"),
    # an error at the cut comes before a later bad line of the second half
    ([_op(4, "ok", 8, "send", [["send", "x", [0, 1]]]), b"not json\n"], r":5: ok completion of 'send' by process 8"),
    # nested too deep
    ([_op(4, "ok", 1, "send", [["send", "x", [0, 1]]]), _deep(5, 2)], r":6: field 'value' is nested more than"),
])
def test_a_bad_line_in_the_second_half_gives_the_one_pass_error(tmp_path: Path, monkeypatch, merges, tail, message):
    p = _write(tmp_path / "h.jsonl", GOOD + tail)
    cut = _line_starts(p)[3]  # the second half starts at line 5
    assert re.search(message, _errors_both_ways(p, cut, monkeypatch))


def test_a_bad_line_in_the_first_half_gives_the_one_pass_error(tmp_path: Path, monkeypatch):
    recs = GOOD[:2] + [b"not json\n"] + GOOD[2:] + [_op(4, "ok", 1, "send", [["send", "x", [0, 1]]])]
    p = _write(tmp_path / "h.jsonl", recs)
    assert ":3: not valid JSON" in _errors_both_ways(p, _line_starts(p)[3], monkeypatch)
    p = _write(tmp_path / "h.jsonl", GOOD[:2] + [_deep(2, 1)] + GOOD[3:] + [_op(4, "ok", 2, "poll", [["poll", {}]])])
    assert ":3: field 'value' is nested more than" in _errors_both_ways(p, _line_starts(p)[3], monkeypatch)


def test_a_child_that_dies_leaves_the_second_half_to_the_parent(tmp_path: Path, monkeypatch, merges):
    p = tmp_path / "h.jsonl"
    write_jsonl(simulate(200, seed=5), p)
    whole = _one_pass(p, monkeypatch)
    monkeypatch.setattr(columnar, "_read_part", _die)
    monkeypatch.setattr(split, "START_METHOD", "fork")
    cut = _line_starts(p)[100]
    monkeypatch.setattr(columnar, "split_point", lambda q: cut)
    _assert_same_columns(whole, read_columns(p))
    assert merges == []


def _die(*args) -> None:
    os._exit(3)


def test_a_child_in_a_fresh_interpreter_reads_the_same(tmp_path: Path, monkeypatch, merges):
    """A process running other threads starts the child as a fresh interpreter instead of forking it."""
    p = tmp_path / "h.jsonl"
    write_jsonl(inject(simulate(600, seed=8), "lost-write", seed=2), p)
    whole = _one_pass(p, monkeypatch)
    monkeypatch.setattr(split, "START_METHOD", "exec")
    cut = _line_starts(p)[300]
    monkeypatch.setattr(columnar, "split_point", lambda q: cut)
    _assert_same_columns(whole, read_columns(p))
    assert len(merges) == 1


# ------------------------------------------------------------------ when to split, progress, the check


def _threads(monkeypatch, n: int) -> None:
    """The process runs `n` threads as far as the reader can tell: a suite that ran a browser before this leaves
    its driver's threads behind, so these tests say how many they mean rather than trusting the count."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: n)


def test_only_files_of_split_bytes_or_more_are_cut_at_a_line_start(tmp_path: Path, monkeypatch):
    _threads(monkeypatch, 1)
    p = tmp_path / "h.jsonl"
    write_jsonl(simulate(300, seed=3), p)
    size = p.stat().st_size
    monkeypatch.setattr(columnar, "SPLIT_BYTES", size + 1)
    assert columnar.split_point(p) is None
    monkeypatch.setattr(columnar, "SPLIT_BYTES", size)
    cut = columnar.split_point(p)
    data = p.read_bytes()
    assert cut in _line_starts(p) and size // 2 < cut <= size // 2 + data[size // 2:].index(b"\n") + 1
    one_line = tmp_path / "one.jsonl"
    one_line.write_bytes(data.split(b"\n")[0] + b"\n")
    monkeypatch.setattr(columnar, "SPLIT_BYTES", 1)
    assert columnar.split_point(one_line) is None and columnar.split_point(tmp_path) is None
    assert columnar.split_point(tmp_path / "missing.jsonl") is None
    _threads(monkeypatch, 3)  # other threads: only from 8x SPLIT_BYTES
    monkeypatch.setattr(columnar, "SPLIT_BYTES", size // 8 + 1)
    assert columnar.split_point(p) is None
    monkeypatch.setattr(columnar, "SPLIT_BYTES", size // 8)
    assert columnar.split_point(p) == cut


def test_progress_of_a_split_read_rises_to_the_file_size(tmp_path: Path, monkeypatch):
    p = tmp_path / "h.jsonl"
    write_jsonl(simulate(300, seed=3), p)
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(columnar, "SPLIT_BYTES", 1)
    read_columns(p, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (p.stat().st_size, p.stat().st_size)
    assert all(0 <= d <= t for d, t in calls)


@pytest.mark.parametrize("kind", ["lost-write", "G1c-realtime", "duplicate"])
def test_the_check_of_a_split_read_is_the_one_pass_check(tmp_path: Path, monkeypatch, merges, kind: str):
    from prozess.checkers import txn
    from prozess.columnar_check import check_path

    monkeypatch.setitem(txn.check.__kwdefaults__, "info_seconds", 120.0)
    monkeypatch.setitem(txn.check.__kwdefaults__, "seconds", 600.0)
    p = tmp_path / "h.jsonl"
    write_jsonl(inject(simulate(1500, seed=11), kind, seed=4), p)
    monkeypatch.setattr(columnar, "SPLIT_BYTES", 1 << 62)
    one, n1 = check_path(p)
    monkeypatch.setattr(columnar, "SPLIT_BYTES", 1)
    two, n2 = check_path(p)
    for r in (one, two):  # the checkers' own timings
        r.pop("seconds", None)
        for v in r["checkers"].values():
            v.pop("seconds", None)
    assert (two, n2) == (one, n1) and one["valid"] is False and len(merges) == 1


def test_a_process_running_other_threads_does_not_fork(monkeypatch):
    import threading

    with monkeypatch.context() as m:
        _threads(m, 1)
        assert split._start_method() == "fork"
    done = threading.Event()
    t = threading.Thread(target=done.wait)
    t.start()
    try:
        assert split._start_method() == "exec"
    finally:
        done.set()
        t.join()


def test_no_child_process_to_be_had_leaves_the_second_half_to_the_parent(tmp_path: Path, monkeypatch, merges):
    p = tmp_path / "h.jsonl"
    write_jsonl(simulate(200, seed=5), p)
    whole = _one_pass(p, monkeypatch)

    def no_process(self) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(split.Child, "_start", no_process)
    _assert_same_columns(whole, _split_at(p, _line_starts(p)[100], monkeypatch))
    assert merges == []


@pytest.mark.parametrize("shift", [0, 2**31])
def test_column_widths_and_marks_of_a_split_read_are_the_one_pass_ones(tmp_path: Path, monkeypatch, merges, shift: int):
    """Processes and offsets beyond 32 bits (8-byte columns) or not (4-byte), a nemesis op and a null read
    offset in each half: the merged builder's columns have the one pass's widths, values and mark counts."""
    from prozess.history import NEMESIS

    ops = simulate(120, seed=3)
    half = len(ops) // 2
    nemesis = ops[0]._replace(process=NEMESIS, f="kill", value=None, type="info")
    null_read = {"x": [[None, 7]]}
    extra = [nemesis, ops[0]._replace(process=10**6, f="poll", type="invoke", value=[["poll"]]),
             ops[0]._replace(process=10**6, f="poll", type="ok", value=[["poll", null_read]])]
    ops = ops[:half] + extra + ops[half:] + extra
    ops = [op._replace(index=i, process=op.process if op.process == NEMESIS else op.process + shift,
                       value=[["send", m[1], [m[2][0] + shift, m[2][1]]] if m[0] == "send" and isinstance(m[2], list)
                              else m for m in op.value] if op.type == "ok" and isinstance(op.value, list) else op.value)
           for i, op in enumerate(ops)]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    whole = _one_pass(p, monkeypatch)
    width = np.int32 if not shift else np.int64
    assert whole.process.dtype == width and whole.send_offset.dtype == width
    starts = _line_starts(p)
    for cut in starts[len(starts) // 3::max(1, len(starts) // 6)]:
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch))
    assert merges


@pytest.mark.parametrize("half", ["first", "second"])
def test_a_half_with_numbers_beyond_32_bits_merges_into_the_other_width(tmp_path: Path, monkeypatch, merges, half: str):
    """One half's builder widened a column (a process, an offset, a value beyond 32 bits) and the other's did
    not: the merge widens the first half's column or the second half's rows fit, and the columns are one pass's."""
    big = 2**31 + 7
    recs = []
    for i in range(6):
        wide = (i < 3) == (half == "first")
        p, v, o = (big + i, big + i, big + i) if wide else (i, i, i)
        recs += [_op(2 * i, "invoke", p, "send", [["send", "x", v]]), _op(2 * i + 1, "ok", p, "send", [["send", "x", [o, v]]])]
    p = _write(tmp_path / "h.jsonl", recs)
    whole = _one_pass(p, monkeypatch)
    assert whole.process.dtype == np.int64 and whole.send_offset.dtype == np.int64
    for cut in _line_starts(p):
        _assert_same_columns(whole, _split_at(p, cut, monkeypatch))
    assert len(merges) == len(_line_starts(p))
