"""The history model: reading, writing, validation and pairing of ops."""

from __future__ import annotations

import json

import pytest

from prozess.history import History, HistoryError, HistoryWriter, Op, read_history, read_jsonl, write_jsonl


def ops_of(*rows):
    return [Op(i, i * 10, *row) for i, row in enumerate(rows)]


def test_writer_appends_and_reader_pairs(tmp_path):
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as w:
        w.record("invoke", 0, "send", [["send", "x", 1]])
        w.record("invoke", 1, "poll", [["poll"]])
        w.record("ok", 0, "send", [["send", "x", [0, 1]]])
        w.record("ok", 1, "poll", [["poll", {"x": [[0, 1]]}]])
        w.record("info", "nemesis", "start-partition", "majority")
        w.record("info", "nemesis", "start-partition", {"n1": ["n2"]})
    h = read_jsonl(path)
    assert [op.index for op in h] == [0, 1, 2, 3, 4, 5]
    assert h.completion_of(0).value == [["send", "x", [0, 1]]]
    assert h.invocation_of(3).f == "poll"
    assert h.completion_of(4).index == 5
    times = [op.time for op in h]
    assert times == sorted(times)


def test_writer_flushes_each_line(tmp_path):
    path = tmp_path / "history.jsonl"
    w = HistoryWriter(path)
    w.record("invoke", 0, "poll", [["poll"]])
    # Not closed: a crashed harness must still leave a readable prefix.
    assert len(read_jsonl(path)) == 1
    w.close()


def test_torn_last_line_is_skipped_with_warning(tmp_path):
    path = tmp_path / "history.jsonl"
    write_jsonl(ops_of(("invoke", 0, "poll", [["poll"]])), path)
    with open(path, "ab") as fh:
        fh.write(b'{"index": 1, "time": 5, "ty')
    warnings: list[str] = []
    h = read_jsonl(path, warnings=warnings)
    assert len(h) == 1
    assert warnings and "torn" in warnings[0] and ":2:" in warnings[0]


@pytest.mark.parametrize(
    "line, problem",
    [
        ("not json", "not valid JSON"),
        ('{"index": 0, "time": 0, "type": "invoke", "process": 0}', "missing field 'f'"),
        ('{"index": 0, "time": 0, "type": "done", "process": 0, "f": "send"}', "field 'type' is 'done'"),
        ('{"index": 0, "time": 0, "type": "invoke", "process": "p1", "f": "send"}', "field 'process'"),
        ('[1, 2]', "expected a JSON object"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, problem):
    path = tmp_path / "history.jsonl"
    good = json.dumps({"index": 0, "time": 0, "type": "invoke", "process": 9, "f": "poll", "value": [["poll"]]})
    path.write_text(good + "\n" + line + "\n" + good + "\n")
    with pytest.raises(HistoryError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}:2: ")
    assert problem in str(e.value)


def test_completion_without_invocation_is_rejected(tmp_path):
    path = tmp_path / "h.jsonl"
    write_jsonl(ops_of(("ok", 0, "send", [["send", "x", [0, 1]]])), path)
    with pytest.raises(HistoryError, match=r"h.jsonl:1: ok completion of 'send' by process 0 has no invocation"):
        read_jsonl(path)


def test_double_invoke_is_rejected():
    with pytest.raises(HistoryError, match="while its op at index 0"):
        History(ops_of(("invoke", 0, "send", None), ("invoke", 0, "poll", None)))


def test_completion_with_other_f_is_rejected():
    with pytest.raises(HistoryError, match="differs from its invocation"):
        History(ops_of(("invoke", 0, "send", None), ("ok", 0, "poll", None)))


def test_indices_may_have_gaps_but_must_strictly_increase():
    h = History([Op(5, 0, "invoke", 0, "poll", None), Op(9, 1, "ok", 0, "poll", None)])
    assert [op.index for op in h] == [5, 9] and not h.dense
    with pytest.raises(HistoryError, match="index 9, the same as the index 9"):
        History([Op(9, 0, "invoke", 0, "poll", None), Op(9, 1, "ok", 0, "poll", None)])
    with pytest.raises(HistoryError, match="index 3, below the index 9"):
        History([Op(9, 0, "invoke", 0, "poll", None), Op(3, 1, "ok", 0, "poll", None)])


def test_complete_turns_unmatched_invocations_into_info():
    h = History(ops_of(("invoke", 0, "send", [["send", "x", 1]]), ("invoke", 1, "poll", [["poll"]]), ("ok", 1, "poll", [["poll", {}]])))
    c = h.complete()
    assert len(c) == 4
    assert c[3].type == "info" and c[3].process == 0 and c[3].f == "send"
    assert c.completion_of(0).index == 3
    assert [inv.index for inv, _ in c.pairs()] == [0, 1]


def test_read_history_accepts_run_directory(tmp_path):
    from prozess.store import read_history as read_run_history

    write_jsonl(ops_of(("invoke", 0, "poll", [["poll"]])), tmp_path / "history.jsonl")
    assert len(read_run_history(tmp_path)) == 1
    with pytest.raises(HistoryError, match="no history.jsonl"):
        read_run_history(tmp_path / "nothing-here" if (tmp_path / "nothing-here").mkdir() is None else tmp_path)
    with pytest.raises(HistoryError, match="is a directory"):  # the history model reads files; the store knows runs
        read_history(tmp_path)


def test_writer_without_kept_ops_holds_nothing_in_memory(tmp_path):
    """The runner's writer (keep_ops=False): a soak's ops are on disk only, so its memory does not grow."""
    import tracemalloc

    path = tmp_path / "history.jsonl"
    value = [["send", "x", 1]]
    with HistoryWriter(path, keep_ops=False) as w:
        for i in range(2000):  # warm up: file buffers, interned strings
            w.record("invoke", i % 4, "send", value)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20000):
            w.record("invoke", i % 4, "send", value)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    assert w.ops == []
    assert grown < 64 * 1024, f"the writer kept {grown} bytes for 20000 ops"
    assert len(read_jsonl(path, validate=False)) == 22000
    with HistoryWriter(tmp_path / "kept.jsonl") as kept:  # the default still keeps them (tests, small tools)
        kept.record("invoke", 0, "poll", [["poll"]])
    assert len(kept.ops) == 1
