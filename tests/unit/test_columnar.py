"""Differential tests: the columnar history and its passes agree with the op-object path.

Every saved history (tests/histories/*) and simulated history (clean, and with each of
`prozess.simulate`'s injected anomalies) is read both ways; the columnar stats and perf
must equal `prozess.checkers.stats` exactly, and the columnar send/read facts must equal
what the dict-based `Analysis` builds (writers, values read by ok ops, each key's log).
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.checkers import stats as old_stats
from prozess.checkers.analysis import analyze
from prozess.columnar import NO_OFFSET, OK, read_columns, stats, perf
from prozess.history import HistoryError, read_history, write_jsonl
from prozess.simulate import INJECTIONS, inject, simulate
from tests.same_check import same_check as _same_check

@pytest.fixture(autouse=True)
def _no_time_budgets(monkeypatch):
    """The txn checker's searches stop on a wall-clock budget; on a busy machine one path could run out and
    the other not. Generous budgets make both results depend on the history alone."""
    from prozess.checkers import txn

    monkeypatch.setitem(txn.check.__kwdefaults__, "info_seconds", 120.0)
    monkeypatch.setitem(txn.check.__kwdefaults__, "seconds", 600.0)


SAVED = sorted(p for p in (Path(__file__).parents[1] / "histories").rglob("history.*"))


def _both(ops, tmp_path: Path, name: str = "h.jsonl"):
    path = tmp_path / name
    write_jsonl(ops, path)
    return read_history(path).complete(), read_columns(path)


def _facts(c):
    """(writer_of, read_ok, logs) from the columns, shaped as the Analysis keeps them."""
    writer_of: dict = {}
    for op, k, v in zip(c.send_op.tolist(), c.send_key.tolist(), c.send_value.tolist()):
        writer_of.setdefault(c.keys[k], {})[c.values[v]] = op
    read_ok: dict = {}
    ok = c.type[c.read_op] == OK
    for k, v in zip(c.read_key[ok].tolist(), c.read_value[ok].tolist()):
        read_ok.setdefault(c.keys[k], set()).add(c.values[v])
    first: dict = {}
    for k, o, v in zip(c.read_key.tolist(), c.read_offset.tolist(), c.read_value.tolist()):
        if o != NO_OFFSET:
            first.setdefault(c.keys[k], {}).setdefault(o, c.values[v])
    return writer_of, read_ok, first


def _assert_same(h, c):
    ops = h.ops
    assert len(c) == len(ops)
    assert c.index.tolist() == [op.index for op in ops]
    assert stats(c) == old_stats.stats(ops)
    assert perf(c) == old_stats.perf(ops)
    a = analyze(ops)
    writer_of, read_ok, first = _facts(c)
    assert writer_of == a.writer_of
    assert read_ok == a.read_ok
    # Each key's log: the first value read at each offset (acknowledged sends fill the rest).
    for k, log in first.items():
        vo = a.orders[k]
        got = dict(zip(vo.offsets, vo.by_index))
        assert all(got[o] == v for o, v in log.items()), k


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.parent.name)
def test_saved_histories_agree(path: Path, tmp_path: Path):
    h = read_history(path)
    if path.suffix == ".edn":
        write_jsonl(h.ops, tmp_path / "h.jsonl")
        path = tmp_path / "h.jsonl"
    _assert_same(h.complete(), read_columns(path))


@pytest.mark.parametrize("sub_via", ["assign", "subscribe"])
@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_clean_histories_agree(tmp_path: Path, seed: int, sub_via: str):
    _assert_same(*_both(simulate(3000, seed=seed, sub_via=sub_via), tmp_path))


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
def test_simulated_anomalous_histories_agree(tmp_path: Path, kind: str):
    ops = inject(simulate(2000, seed=7), kind, seed=3)
    assert ops is not None
    _assert_same(*_both(ops, tmp_path))


def test_killed_run_completes_open_invocations_as_info(tmp_path: Path):
    """A history cut mid-run: open invocations end info, as History.complete() does."""
    ops = simulate(500, seed=4)
    cut = ops[: len(ops) // 2]
    h, c = _both(cut, tmp_path)
    assert read_history(tmp_path / "h.jsonl").open_invocations() > 0
    _assert_same(h, c)


def test_bad_lines_are_refused_with_file_and_line(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"time":1,"type":"invoke","process":0,"f":"poll","value":[["poll"]]}\n'
                 '{"index":1,"time":2,"type":"ok","process":1,"f":"poll","value":[["poll",{}]]}\n')
    with pytest.raises(HistoryError, match=r"h.jsonl:2: ok completion of 'poll' by process 1 has no invocation"):
        read_columns(p)
    p.write_text('{"index":0,"time":1,"type":"invoke","process":0,"f":"poll"}\nnot json\n')
    with pytest.raises(HistoryError, match=r"h.jsonl:2: not valid JSON"):
        read_columns(p)


def test_torn_last_line_is_skipped(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"time":1,"type":"invoke","process":0,"f":"poll","value":[["poll"]]}\n{"index":1,"ti')
    c = read_columns(p)
    assert len(c) == 2 and c.type.tolist() == [0, 3]  # the open invocation completed as info


def test_values_keep_python_equality(tmp_path: Path):
    """1 and 1.0 are one value to the dict-based checkers; unhashable values still intern."""
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"time":1,"type":"invoke","process":0,"f":"send","value":[["send","x",1]]}\n'
                 '{"index":1,"time":2,"type":"ok","process":0,"f":"send","value":[["send","x",[0,1]]]}\n'
                 '{"index":2,"time":3,"type":"invoke","process":1,"f":"poll","value":[["poll"]]}\n'
                 '{"index":3,"time":4,"type":"ok","process":1,"f":"poll","value":[["poll",{"x":[[0,1.0],[1,[2]]]}]]}\n')
    c = read_columns(p)
    assert c.read_value.tolist()[0] == c.send_value.tolist()[0]
    assert c.values[c.read_value[1]] == [2]  # the original value, interned by its JSON text
    assert np.all(c.read_offset == [0, 1])


# ------------------------------------------------------------------ the whole check, both paths


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.parent.name)
def test_check_saved_histories_agree(path: Path, tmp_path: Path):
    import json

    if path.suffix == ".edn":
        write_jsonl(read_history(path).ops, tmp_path / "h.jsonl")
        path = tmp_path / "h.jsonl"
    test_json = path.parent / "test.json"
    test = json.loads(test_json.read_text()) if test_json.exists() else None
    r = _same_check(path, test)
    expected = path.parent / "expected.json"
    if expected.exists() and "valid" in json.loads(expected.read_text()):
        assert r["valid"] == json.loads(expected.read_text())["valid"]


@pytest.mark.parametrize("sub_via", ["assign", "subscribe"])
def test_check_simulated_clean_histories_agree(tmp_path: Path, sub_via: str):
    write_jsonl(simulate(3000, seed=5, sub_via=sub_via), tmp_path / "h.jsonl")
    assert _same_check(tmp_path / "h.jsonl")["valid"] is True


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
def test_check_simulated_anomalous_histories_agree(tmp_path: Path, kind: str):
    """Same verdict, anomaly types, counts and examples (explanations and cited ops) on every injected anomaly."""
    write_jsonl(inject(simulate(2000, seed=7), kind, seed=3), tmp_path / "h.jsonl")
    r = _same_check(tmp_path / "h.jsonl")
    inj = INJECTIONS[kind]
    assert r["valid"] is False and ({inj.expect} | set(inj.also)) & set(r["anomaly-types"])


def test_check_killed_run_agrees(tmp_path: Path):
    ops = simulate(800, seed=4)
    write_jsonl(ops[: len(ops) // 2], tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl")


def test_check_gapped_indices_agree(tmp_path: Path):
    """Indices with gaps: results name ops by their own indices on both paths."""
    ops = inject(simulate(1500, seed=9), "lost-write", seed=1)
    gapped = [op._replace(index=op.index * 3 + 5) for op in ops]
    write_jsonl(gapped, tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl")


def test_unsupported_histories_fall_back_to_op_objects(tmp_path: Path):
    """An integer beyond 64 bits is rounded by the JSON parser: the columns refuse it and the old path checks."""
    from prozess.columnar import Unsupported

    ops = simulate(300, seed=2)
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    import re

    text, n = re.subn(r'\["send","(\w+)",\[(\d+),(\d+)\]\]', r'["send","\1",[\2,123456789012345678901234567890]]',
                      p.read_text(), count=1)
    assert n == 1
    p.write_text(text)
    with pytest.raises(Unsupported):
        read_columns(p)
    _same_check(p)


def test_eos_and_group_checks_read_op_objects(tmp_path: Path):
    """The eos and group checkers read op values: their checks take the op-object path, whatever the file."""
    write_jsonl(simulate(300, seed=3), tmp_path / "h.jsonl")
    for workload in ("eos", "group"):
        _same_check(tmp_path / "h.jsonl", {"workload": workload})


@pytest.mark.parametrize("kind", ["G1c-realtime", "nonmonotonic-send", "duplicate"])
def test_check_with_policy_and_ww_deps_agrees(tmp_path: Path, kind: str):
    """ww_deps draws edges from each key's log order and writers; allow/forbid move types: both paths agree."""
    write_jsonl(inject(simulate(1500, seed=11), kind, seed=2), tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl", {"ww_deps": True, "forbid": ["G0"], "allow": ["poll-skip"]})
    _same_check(tmp_path / "h.jsonl", {"checkers": ["queue", "stats"]})


@pytest.mark.parametrize("chunk", [None, 1, 2])
@pytest.mark.parametrize("keep", [["x", "y"], ["y"]])
def test_check_reassign_between_polls_agrees(tmp_path: Path, keep: list, chunk: int | None, monkeypatch):
    """A process that re-assigns between two polls of a key forgets where it was on the keys it dropped:
    the later poll that starts further on is a poll-skip only if the key stayed assigned (both paths, and
    with the process-order pass cut into chunks of one or two groups)."""
    from prozess import columnar_analysis
    from prozess.history import Op

    if chunk is not None:
        monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", chunk)

    ops, t = [], 0

    def op(typ, p, f, value):
        nonlocal t
        ops.append(Op(len(ops), t, typ, p, f, value))
        t += 1

    for v in range(6):  # process 9 sends 0..5 to x, each acknowledged at offset v
        op("invoke", 9, "send", [["send", "x", v]])
        op("ok", 9, "send", [["send", "x", [v, v]]])
    op("invoke", 0, "assign", ["x", "y"])
    op("ok", 0, "assign", ["x", "y"])
    op("invoke", 0, "poll", [["poll"]])
    op("ok", 0, "poll", [["poll", {"x": [[0, 0], [1, 1]]}]])
    op("invoke", 0, "assign", keep)
    op("ok", 0, "assign", keep)
    op("invoke", 0, "poll", [["poll"]])
    op("ok", 0, "poll", [["poll", {"x": [[4, 4], [5, 5]]}]])
    op("invoke", 1, "poll", [["poll"]])
    op("ok", 1, "poll", [["poll", {"x": [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]}]])
    write_jsonl(ops, tmp_path / "h.jsonl")
    r = _same_check(tmp_path / "h.jsonl")
    assert ("poll-skip" in r["anomaly-types"]) == ("x" in keep)


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
def test_check_in_small_chunks_agrees(tmp_path: Path, kind: str, monkeypatch):
    """The read scan runs over chunks of whole ops, the process-order pass over chunks of whole processes and
    the offsets sweep and the log sort over batches of whole keys: chunks of a few rows give the same result as one
    chunk."""
    from prozess import columnar, columnar_analysis

    monkeypatch.setattr(columnar_analysis, "SCAN_ROWS", 7)
    monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", 5)
    monkeypatch.setattr(columnar_analysis, "OFFSET_ROWS", 3)
    monkeypatch.setattr(columnar_analysis, "LOG_ROWS", 4)
    monkeypatch.setattr(columnar, "_ranks", lambda table, x, chunk=3, f=columnar._ranks: f(table, x, chunk))
    write_jsonl(inject(simulate(2000, seed=7), kind, seed=3), tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl")


def test_values_switch_from_raw_integers_to_ids_midway(tmp_path: Path):
    """Values are kept as themselves while all are 64-bit integers; the first other value (here a string, then a
    float and an integer beyond 64 bits) turns the rows read so far into ids: same facts, same check."""
    p = tmp_path / "h.jsonl"
    lines = []
    sends = [1, 2, 3, "a", 2.5, 2 ** 63 + 5]
    for i, v in enumerate(sends):
        lines.append({"index": 2 * i, "time": 2 * i, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", v]]})
        lines.append({"index": 2 * i + 1, "time": 2 * i + 1, "type": "ok", "process": 0, "f": "send",
                      "value": [["send", "x", [i, v]]]})
    n = 2 * len(sends)
    lines.append({"index": n, "time": n, "type": "invoke", "process": 1, "f": "poll", "value": [["poll"]]})
    lines.append({"index": n + 1, "time": n + 1, "type": "ok", "process": 1, "f": "poll",
                  "value": [["poll", {"x": [[0, 1], [1, 2], [2, 3], [3, "a"], [4, 2.5], [5, 2 ** 63 + 5]]}]]})
    import orjson

    p.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in lines))
    c = read_columns(p)
    assert c.value_index is not None  # left raw mode
    assert c.send_value.dtype == c.read_value.dtype == np.int32
    assert [c.values[v] for v in c.send_value.tolist()] == sends
    assert c.read_value.tolist() == c.send_value.tolist()
    _assert_same(read_history(p).complete(), c)
    _same_check(p)


def test_integer_values_stay_raw(tmp_path: Path):
    """A history whose values are all integers keeps no value objects: the table is one sorted int64 array."""
    from prozess.columnar import IntValues

    write_jsonl(simulate(400, seed=6), tmp_path / "h.jsonl")
    c = read_columns(tmp_path / "h.jsonl")
    assert isinstance(c.values, IntValues) and c.value_index is None
    # ids and keys are 4 bytes per fact row (ranks in the table), whatever the values' own size
    assert c.send_value.dtype == c.read_value.dtype == c.send_key.dtype == c.read_key.dtype == np.int32
    table = c.values.table
    assert np.all(table[1:] > table[:-1])
    assert c.value_id(int(table[3])) == 3 and c.value_id(float(table[3])) == 3 and c.value_id("x") is None
    assert c.value_id(int(table[-1]) + 1) is None and c.value_id(2 ** 70) is None


@pytest.mark.parametrize("log_rows", [None, 4])
@pytest.mark.parametrize("kind", ["duplicate", "inconsistent-offsets", "lost-write", "truncated-tail", "G1a"])
def test_array_views_answer_like_the_dicts(tmp_path: Path, kind: str, log_rows: int | None, monkeypatch):
    """writer_of, read_ok, failed, final_values and each key's version order of the columnar Analysis are
    array-backed views; as mappings and sets they equal what the op-object Analysis builds (also with the
    log sorted in batches of a key or two)."""
    from prozess import columnar_analysis
    from prozess.columnar_analysis import analysis_from_columns

    if log_rows is not None:
        monkeypatch.setattr(columnar_analysis, "LOG_ROWS", log_rows)
    from prozess.columnar_check import light_ops
    from prozess.columnar_views import ArrayOrder

    write_jsonl(inject(simulate(2000, seed=7), kind, seed=3), tmp_path / "h.jsonl")
    c = read_columns(tmp_path / "h.jsonl")
    new = analysis_from_columns(c, light_ops(c))
    old = analyze(read_history(tmp_path / "h.jsonl").complete().ops)
    assert {k: dict(v) for k, v in new.writer_of.items()} == old.writer_of
    for name in ("read_ok", "failed", "final_values"):
        assert {k: set(v) for k, v in getattr(new, name).items()} == getattr(old, name), name
    assert list(new.txns) == old.txns
    assert set(new.orders) == set(old.orders)
    arrays = 0
    for k, vo in new.orders.items():
        ref = old.orders[k]
        assert list(vo.offsets) == ref.offsets and list(vo.by_index) == ref.by_index and vo.extra == ref.extra
        assert dict(vo.by_value) == ref.by_value and vo.first_offset == ref.first_offset
        assert all(vo.by_value.get(v) == i for v, i in ref.by_value.items())
        arrays += isinstance(vo, ArrayOrder)
    assert arrays  # most keys' orders are views
    for k, m in new.writer_of.items():
        assert m.get("not a value") is None and "not a value" not in new.read_ok.get(k, set())
    # each op's writes and reads: made from the tables when asked, membership without a mask per op
    for name in ("writes", "reads"):
        view, ref = getattr(new, name), getattr(old, name)
        assert len(view) == len(ref) and list(view) == sorted(ref), name
        assert all(i in view for i in ref) and -1 not in view and len(c) not in view and "0" not in view
        assert not any(i in view for i in range(len(c)) if i not in ref)
        norm = (lambda x: {k: [tuple(r) for r in rs] for k, rs in x.items()}) if name == "reads" else \
            (lambda x: [tuple(w) for w in x])  # the op-object reads hold [offset, value] lists, the views tuples
        assert {i: norm(view[i]) for i in ref} == {i: norm(x) for i, x in ref.items()}, name
        assert {i: norm(x) for i, x in view.items()} == {i: norm(x) for i, x in ref.items()}, name


def test_id_width():
    """Value ids are 4 bytes while the table has fewer than 2**31 values, 8 beyond."""
    from prozess.columnar import _ranks, index_dtype

    assert index_dtype(2**31 - 1) == np.int32 and index_dtype(2**31) == np.int64
    table = np.array([-(2**63), -5, 0, 7, 2**63 - 1], np.int64)
    x = np.array([7, 2**63 - 1, -(2**63), 0, -5, 7, 0], np.int64)
    for chunk in (1, 2, 3, 100):
        assert _ranks(table, x, chunk).tolist() == [3, 4, 0, 2, 1, 3, 2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60), st.integers(1, 9))
def test_runs_cover_the_rows_and_cut_only_between_values(values: list, size: int):
    """The chunks of the read scan, the process-order pass and the sends' groups: contiguous, covering every
    row once, cut only where the sorted value changes, and no longer than `size` unless one value fills it."""
    from prozess.columnar_analysis import _runs

    arr = np.array(sorted(values), np.int64)
    chunks = list(_runs(arr, size))
    assert [lo for lo, _ in chunks] == [0, *(hi for _, hi in chunks)][:len(chunks)]
    assert (chunks[-1][1] if chunks else 0) == len(arr)
    for lo, hi in chunks:
        assert hi > lo
        assert hi == len(arr) or arr[hi - 1] != arr[hi]
        assert hi - lo <= size or arr[lo] == arr[hi - 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=30), st.integers(1, 20))
def test_key_batches_cover_the_keys_whole(counts: list, size: int):
    """The key batches of the log sort and the offsets sweep: contiguous ranges covering every key once, each
    within `size` rows unless it is a single key."""
    from prozess.columnar_analysis import _key_batches

    batches = list(_key_batches(np.array(counts, np.int64), size))
    assert [lo for lo, _ in batches] == [0, *(hi for _, hi in batches)][:len(batches)]
    assert (batches[-1][1] if batches else 0) == len(counts)
    for lo, hi in batches:
        assert hi > lo and (sum(counts[lo:hi]) <= size or hi - lo == 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sets(st.integers(0, 3), min_size=1, max_size=3), st.booleans()),
                max_size=30),
       st.lists(st.tuples(st.integers(0, 29), st.sets(st.integers(0, 3), max_size=3)), max_size=6),
       st.integers(1, 8), st.booleans(), st.booleans())
def test_previous_in_chunks_equals_the_definition(ops: list, subs_at: list, chunk: int, narrow: bool, counted: bool):
    """The process-order pass's `_previous`, in chunks of any number of groups and with 4- or 8-byte inputs:
    for each (op, key) group, the latest earlier eligible group of the same process on the same key, unless an
    assign/subscribe of that process in between dropped the key (a loop over every pair, as the definition says);
    the assigns' cuts counted from tables, or (beyond `SUB_KEEPS` kept keys) checked one by one."""
    from prozess import columnar_analysis
    from prozess.columnar_analysis import _previous

    proc, key, pos, eligible = [], [], [], []
    for i, (p, ks, ok) in enumerate(ops):  # op i at position 2i; groups in op order, an op's keys in order
        for k in sorted(ks):
            proc.append(p), key.append(k), pos.append(2 * i), eligible.append(ok)
    subs: dict = {}
    for x, keep in sorted(subs_at):  # assigns at odd positions, of the process of a nearby op
        if ops:
            subs.setdefault(ops[x % len(ops)][0], []).append((2 * x + 1, keep))
    ref = []
    for j in range(len(pos)):
        earlier = [i for i in range(len(pos)) if proc[i] == proc[j] and key[i] == key[j] and pos[i] < pos[j] and eligible[i]]
        i = max(earlier, key=lambda i: pos[i], default=-1)
        if i >= 0 and any(pos[i] <= x < pos[j] and key[j] not in keep for x, keep in subs.get(proc[j], [])):
            i = -1
        ref.append(i)
    t = np.int32 if narrow else np.int64
    saved = columnar_analysis.PROCESS_ROWS, columnar_analysis.SUB_KEEPS  # not monkeypatch: one per example
    columnar_analysis.PROCESS_ROWS, columnar_analysis.SUB_KEEPS = chunk, (saved[1] if counted else -1)
    try:
        got = _previous(np.array(proc, t), np.array(key, t), np.array(pos, t), np.array(eligible, bool), subs)
    finally:
        columnar_analysis.PROCESS_ROWS, columnar_analysis.SUB_KEEPS = saved
    assert got.tolist() == ref


@pytest.mark.parametrize("kind", ["G1a", "inconsistent-offsets", "int-poll-skip", "lost-write", "nonlinearizable-offsets",
                                  "poll-skip", "nonmonotonic-send", "truncated-tail"])
@pytest.mark.parametrize("widths", ["wide", "narrow-columns"])
def test_check_with_any_integer_widths_agrees(tmp_path: Path, kind: str, widths: str, monkeypatch):
    """The passes keep op positions, dense indices and (key, value) codes in 4 bytes while they fit, and take
    the columns' op positions and processes as 4 or 8 bytes: the check is the same with every such array forced
    to 8 bytes ("wide") and with the columns' op positions and processes given as 4 bytes ("narrow-columns"),
    in small chunks as well."""
    import dataclasses

    from prozess import columnar_analysis, columnar_check

    if widths == "wide":
        monkeypatch.setattr(columnar_analysis, "index_dtype", lambda n: np.dtype(np.int64))
    else:
        def narrow(path, f=columnar_check.read_columns, **kw):
            c = f(path, **kw)
            return dataclasses.replace(c, **{name: getattr(c, name).astype(np.int32)
                                             for name in ("send_op", "read_op", "pair", "process")})

        monkeypatch.setattr(columnar_check, "read_columns", narrow)
    monkeypatch.setattr(columnar_analysis, "SCAN_ROWS", 11)
    monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", 6)
    monkeypatch.setattr(columnar_analysis, "BUCKET_ROWS", 9)
    write_jsonl(inject(simulate(2000, seed=7), kind, seed=3), tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=20, unique=True),
       st.lists(st.integers(-(2**33), 2**33), max_size=20), st.lists(st.integers(0, 19), max_size=10))
def test_lookup_of_wide_codes_in_a_narrow_table(table: list, other: list, picks: list):
    """`_lookup` searches 8-byte codes in a 4-byte table as 4 bytes: a code outside the table's range (one that
    would wrap onto a table value, too) is not found; every other code is found exactly where it is."""
    from prozess.columnar_analysis import _lookup

    t = np.array(sorted(table), np.int32)
    wrapped = [x + 2**32 for x in table]  # same low 32 bits as a table value
    codes = other + wrapped + [table[i % len(table)] for i in picks if table]
    c64 = np.array(codes, np.int64)
    found, pos = _lookup(t, c64)
    assert found.tolist() == [x in set(table) for x in codes]
    assert all(int(t[p]) == x for p, x, f in zip(pos.tolist(), codes, found.tolist()) if f)
    wide_found, wide_pos = _lookup(t.astype(np.int64), c64)
    assert found.tolist() == wide_found.tolist() and pos[found].tolist() == wide_pos[wide_found].tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=20), st.lists(st.integers(-(2**33), 2**33), max_size=20),
       st.sampled_from(["left", "right"]), st.sampled_from([np.int32, np.int64]))
def test_search_of_wide_values_in_a_narrow_table_is_numpys(table: list, values: list, side: str, table_type):
    """`_search` answers as `np.searchsorted` over the table in 8 bytes, for values inside and beyond a 4-byte
    table's range (the bounds themselves too: a table may hold them), on either side."""
    from prozess.columnar_analysis import _search

    edges = [-(2**31), 2**31 - 1]
    t = np.array(sorted(table + edges[: len(table) % 3]), table_type)
    x = np.array(values + edges + [v + d for v in table for d in (-1, 0, 1)], np.int64)
    assert _search(t, x, side).tolist() == np.searchsorted(t.astype(np.int64), x, side).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-5, 5), max_size=6), max_size=5), st.integers(1, 4), st.booleans(),
       st.sampled_from([np.int8, np.int32, np.int64]))
def test_parts_joined_one_column_at_a_time(chunks: list, width: int, spilled: bool, wide: Any):
    """`SpilledParts` gives each column's chunks laid end to end (or the empties when there are none), in memory
    or as memory maps of files, in the widest width of the chunks (chunks alternate int16 and `wide`), and
    keeps no part once joined."""
    from prozess.columnar_spill import SpilledParts, on_disk

    parts = SpilledParts(spilled)
    for i, ch in enumerate(chunks):
        parts.append(tuple(np.array(ch, np.int16 if i % 2 else wide) + j for j in range(width)))
    empty = [np.zeros(0, np.int32)] * width
    got = parts.columns(empty)
    assert parts.parts == [] and parts.files is None
    if not chunks:
        assert got is empty
        return
    want = [np.concatenate([np.array(ch, np.int16 if i % 2 else wide) + j for i, ch in enumerate(chunks)]) for j in range(width)]
    assert [g.tolist() for g in got] == [w.tolist() for w in want]
    if any(len(ch) for ch in chunks):  # the widest chunk with rows (on disk an empty chunk has no width)
        assert [g.dtype for g in got] == [np.result_type(*(np.int16 if i % 2 else wide for i, ch in enumerate(chunks)
                                                           if len(ch) or not spilled))] * width
        assert all(on_disk(g) == spilled for g in got)


@pytest.mark.parametrize("chunk", [1, 2, 1 << 18])
def test_send_cases_in_history_order_across_process_ranges(tmp_path: Path, chunk: int, monkeypatch):
    """The nonmonotonic-send pass runs over ranges of processes; its cases still come in history order (that of
    the op-object walk), not in process order: processes 7, 3, 9, 1 each send to x at a high offset, then all
    send again at a lower one."""
    from prozess import columnar_analysis
    from prozess.checkers import queue
    from prozess.columnar_check import light_ops
    from prozess.history import Op

    monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", chunk)
    monkeypatch.setattr(columnar_analysis, "BUCKET_ROWS", chunk)
    ops: list = []
    procs = [7, 3, 9, 1]
    for base in (20, 0):
        for i, p in enumerate(procs):
            v = base + i
            ops.append(Op(len(ops), len(ops), "invoke", p, "send", [["send", "x", v]]))
            ops.append(Op(len(ops), len(ops), "ok", p, "send", [["send", "x", [v, v]]]))
    write_jsonl(ops, tmp_path / "h.jsonl")
    old = queue.process_cases(analyze(read_history(tmp_path / "h.jsonl").complete().ops))[2]
    c = read_columns(tmp_path / "h.jsonl")
    new = columnar_analysis.analysis_from_columns(c, light_ops(c)).columnar_process_cases()[2]
    assert [case["ops"][0] for case in new] == [1, 3, 5, 7]  # processes 7, 3, 9, 1
    assert new == old


@pytest.mark.parametrize("chunk", [1, 2, 1 << 18])
def test_failed_sends_do_not_hide_a_send_going_back(tmp_path: Path, chunk: int, monkeypatch):
    """Only ok and info sends take part in the nonmonotonic-send pass: a failed send between two sends of one
    process to a key, the second at a lower offset, leaves the case standing (in ranges of any size)."""
    from prozess import columnar_analysis
    from prozess.checkers import queue
    from prozess.columnar_check import light_ops
    from prozess.history import Op

    monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", chunk)
    monkeypatch.setattr(columnar_analysis, "BUCKET_ROWS", chunk)
    ops: list = []
    for p in (1, 2):
        for v, done in ((10 * p + 5, [10 * p + 5, 10 * p + 5]), (10 * p + 7, None), (10 * p + 3, [10 * p + 3, 10 * p + 3])):
            ops.append(Op(len(ops), len(ops), "invoke", p, "send", [["send", "x", v]]))
            ops.append(Op(len(ops), len(ops), "ok" if done else "fail", p, "send", [["send", "x", done or v]]))
    write_jsonl(ops, tmp_path / "h.jsonl")
    old = queue.process_cases(analyze(read_history(tmp_path / "h.jsonl").complete().ops))[2]
    c = read_columns(tmp_path / "h.jsonl")
    new = columnar_analysis.analysis_from_columns(c, light_ops(c)).columnar_process_cases()[2]
    assert [case["ops"] for case in old] == [[1, 5], [7, 11]]
    assert new == old


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
@pytest.mark.parametrize("rows", [1, 5])
def test_process_pass_over_ranges_of_processes_agrees(tmp_path: Path, kind: str, rows: int, monkeypatch):
    """The process-order pass runs over ranges of processes of about BUCKET_ROWS fact rows each (a process is
    never split): ranges of one process or a few give the check of one pass (the cases in history order)."""
    from prozess import columnar_analysis

    monkeypatch.setattr(columnar_analysis, "BUCKET_ROWS", rows)
    monkeypatch.setattr(columnar_analysis, "PROCESS_ROWS", 3)
    write_jsonl(inject(simulate(1500, seed=13, sub_via="subscribe" if rows == 5 else "assign"), kind, seed=4),
                tmp_path / "h.jsonl")
    _same_check(tmp_path / "h.jsonl")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40), st.integers(1, 9), st.sampled_from([0, -3, 10**12]))
def test_process_ranges_cover_every_process_whole(row_procs: list, size: int, shift: int):
    """`_process_ranges` cuts the processes of the fact rows into ranges of about `size` rows, each process in
    exactly one range, ranges in order and without overlap (process ids counted by id, or by rank when some
    are negative or far apart)."""
    from types import SimpleNamespace

    from prozess import columnar_analysis
    from prozess.columnar_analysis import _process_ranges

    row_procs = [p + shift for p in row_procs]
    process = np.array(sorted(set(row_procs)) + [99 + shift], np.int64)  # one op per process, one with no rows
    c = SimpleNamespace(process=process)  # all it reads of the columns
    row_op = np.searchsorted(process, np.array(row_procs, np.int64))
    saved, columnar_analysis.BUCKET_ROWS = columnar_analysis.BUCKET_ROWS, size  # not monkeypatch: one per example
    try:
        ranges = _process_ranges(c, row_op)
    finally:
        columnar_analysis.BUCKET_ROWS = saved
    for p in set(row_procs):
        assert sum(lo <= p <= hi for lo, hi in ranges) == 1
    assert all(hi < lo2 for (_, hi), (lo2, _) in zip(ranges, ranges[1:]))
    for lo, hi in ranges:
        n = sum(lo <= p <= hi for p in row_procs)
        assert n and (n <= size or lo == hi)
