"""The EOS checker on tiny hand-written histories: each anomaly found, and its negative twin silent."""

from __future__ import annotations

import json
from typing import Any

from prozess.checkers.eos import CHECKERS, DEFINITIONS, check_eos
from prozess.eos_model import decode_output, encode_output
from prozess.history import History, Op


class H:
    """Appends ops with consecutive indices; `call` adds an invocation and its completion."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(self, type: str, process: Any, f: str, value: Any = None) -> int:
        i = len(self.ops)
        self.ops.append(Op(i, i * 1000, type, process, f, value))
        return i

    def call(self, process: Any, f: str, inv: Any, type: str = "ok", value: Any = None) -> int:
        self.add("invoke", process, f, inv)
        return self.add(type, process, f, value if value is not None else inv)

    def history(self) -> History:
        return History(self.ops)


def o(p: int, off: int, src_off: int, v: int, txn: str) -> list:
    """An output record as a reader reports it: [off, src_p, src_off, out_v, txn]."""
    return [off, p, src_off, 2 * v, txn]


def base(h: H, values=(1, 2)) -> None:
    """Input partition 0 gets values at offsets 0, 1, ..."""
    h.call(0, "produce", [[0, v] for v in values], value=[[0, i, v] for i, v in enumerate(values)])


def transform(h: H, proc, tid, ins, outs, offsets, type="ok"):
    return h.call(proc, "transform", None, type=type,
                  value={"txn": tid, "in": ins, "out": outs, "offsets": offsets})


def final_reads(h: H, records: dict, ends: dict, in_records=None, group=None):
    h.call(9, "read-output", {"final": True}, value={"final": True, "records": records, "ends": ends})
    if in_records is not None:
        h.call(9, "read-input", {"final": True}, value={"records": in_records})
    if group is not None:
        h.call(9, "group-offsets", None, value={"offsets": group})


def good(h: H | None = None) -> H:
    """Two inputs, one committed transaction, a final read that sees both outputs."""
    h = h or H()
    base(h)
    transform(h, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), o(0, 1, 1, 2, "1.0")]}, {"0": 3}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    return h


def types(h: H) -> list[str]:
    r = check_eos(h.history(), {})
    json.dumps(r)  # JSON-able
    return r["anomaly-types"]


def test_registered_and_defined():
    assert CHECKERS == {"eos": check_eos}
    assert set(DEFINITIONS) >= {"lost-input", "duplicate-output", "reordered-output", "G1a", "read-before-commit",
                                "torn-transaction", "skipped-output", "wrong-source"}


def test_output_encoding_round_trips():
    assert decode_output(encode_output(3, 17, 42, "5.2")) == (3, 17, 42, "5.2")
    assert decode_output(b"garbage")[0] is None


def test_correct_history_is_valid():
    r = check_eos(good().history())
    assert r["valid"] is True, r
    assert r["counts"]["transactions"] == {"committed": 1}


def test_lost_input_consumed_by_committed_txn():
    h = H()
    base(h)
    transform(h, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")]}, {"0": 1}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    r = check_eos(h.history())
    assert "lost-input" in r["anomaly-types"]
    assert r["anomalies"]["lost-input"]["examples"][0]["input"] == [0, 1]


def test_lost_input_below_group_offset_without_a_transform():
    h = H()
    base(h)
    # the group's offset moved past input 1 although nobody consumed it
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")]}, {"0": 2}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    assert types(h) == ["lost-input"]


def test_unconsumed_input_is_unknown_not_lost():
    h = H()
    base(h)
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")]}, {"0": 2}, {"0": [[0, 1], [1, 2]]}, {"0": 1})
    r = check_eos(h.history())
    assert r["anomaly-types"] == [] and r["valid"] == "unknown" and r["counts"]["unprocessed"] == 1


def test_no_final_read_is_unknown():
    h = H()
    base(h)
    transform(h, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    assert check_eos(h.history())["valid"] == "unknown"


def test_duplicate_output_and_its_twin():
    h = H()
    base(h)
    transform(h, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"}, type="info")  # outcome unknown ...
    transform(h, 2, "2.0", [[0, 0, 1], [0, 1, 2]], [[0, 3, 0, 0, 2], [0, 4, 0, 1, 4]], {"0": 2})
    h.call(2, "commit", {"txn": "2.0"})  # ... and a retry also committed: both visible
    recs = [o(0, 0, 0, 1, "1.0"), o(0, 1, 1, 2, "1.0"), o(0, 3, 0, 1, "2.0"), o(0, 4, 1, 2, "2.0")]
    final_reads(h, {"0": recs}, {"0": 6}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    r = check_eos(h.history())
    assert r["anomaly-types"] == ["duplicate-output"], r
    assert r["anomalies"]["duplicate-output"]["count"] == 2
    # twin: the first transaction aborted for sure and its records are not visible
    h2 = H()
    base(h2)
    transform(h2, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h2.call(1, "abort", {"txn": "1.0"})
    transform(h2, 1, "1.1", [[0, 0, 1], [0, 1, 2]], [[0, 3, 0, 0, 2], [0, 4, 0, 1, 4]], {"0": 2})
    h2.call(1, "commit", {"txn": "1.1"})
    final_reads(h2, {"0": [o(0, 3, 0, 1, "1.1"), o(0, 4, 1, 2, "1.1")]}, {"0": 6}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    assert check_eos(h2.history())["valid"] is True


def test_reordered_output():
    h = H()
    base(h)
    transform(h, 1, "1.0", [[0, 1, 2]], [[0, 0, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    transform(h, 1, "1.1", [[0, 0, 1]], [[0, 2, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.1"})
    final_reads(h, {"0": [o(0, 0, 1, 2, "1.0"), o(0, 2, 0, 1, "1.1")]}, {"0": 3}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    assert types(h) == ["reordered-output"]


def test_aborted_read_and_its_twin():
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.call(5, "read-output", {"final": False}, value={"final": False, "records": {"0": [o(0, 0, 0, 1, "1.0")]}})
    h.call(1, "abort", {"txn": "1.0"})
    transform(h, 1, "1.1", [[0, 0, 1]], [[0, 2, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.1"})
    final_reads(h, {"0": [o(0, 2, 0, 1, "1.1")]}, {"0": 4}, {"0": [[0, 1]]}, {"0": 1})
    r = check_eos(h.history())
    assert r["anomaly-types"] == ["G1a"], r
    ex = r["anomalies"]["G1a"]["examples"][0]
    assert "aborted on purpose" in ex["explanation"] and ex["txn"] == "1.0"
    # twin: the reader did not see the aborted record
    h2 = H()
    base(h2, (1,))
    transform(h2, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h2.call(5, "read-output", {"final": False}, value={"final": False, "records": {}})
    h2.call(1, "abort", {"txn": "1.0"})
    transform(h2, 1, "1.1", [[0, 0, 1]], [[0, 2, 0, 0, 2]], {"0": 1})
    h2.call(1, "commit", {"txn": "1.1"})
    final_reads(h2, {"0": [o(0, 2, 0, 1, "1.1")]}, {"0": 4}, {"0": [[0, 1]]}, {"0": 1})
    assert check_eos(h2.history())["valid"] is True


def test_never_committed_txn_visible_is_aborted_read():
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1}, type="info")  # process abandoned: no commit
    transform(h, 2, "2.0", [[0, 0, 1]], [[0, 2, 0, 0, 2]], {"0": 1})
    h.call(2, "commit", {"txn": "2.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), o(0, 2, 0, 1, "2.0")]}, {"0": 4}, {"0": [[0, 1]]}, {"0": 1})
    r = check_eos(h.history())
    assert "G1a" in r["anomaly-types"]
    assert "never requested" in r["anomalies"]["G1a"]["examples"][0]["explanation"]


def test_read_before_commit_and_its_twin():
    def build(read_after_commit: bool) -> H:
        h = H()
        base(h, (1,))
        transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
        if read_after_commit:
            h.call(1, "commit", {"txn": "1.0"})
        h.call(5, "read-output", {"final": False}, value={"final": False, "records": {"0": [o(0, 0, 0, 1, "1.0")]}})
        if not read_after_commit:
            h.call(1, "commit", {"txn": "1.0"})
        final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")]}, {"0": 2}, {"0": [[0, 1]]}, {"0": 1})
        return h

    assert types(build(False)) == ["read-before-commit"]
    assert check_eos(build(True).history())["valid"] is True


def test_read_concurrent_with_commit_is_allowed():
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.add("invoke", 1, "commit", {"txn": "1.0"})
    h.call(5, "read-output", {"final": False}, value={"final": False, "records": {"0": [o(0, 0, 0, 1, "1.0")]}})
    h.add("ok", 1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")]}, {"0": 2}, {"0": [[0, 1]]}, {"0": 1})
    assert check_eos(h.history())["valid"] is True


def test_torn_transaction_within_a_partition():
    h = H()
    base(h, (1, 2))
    transform(h, 1, "1.0", [[0, 0, 1], [0, 1, 2]], [[0, 0, 0, 0, 2], [0, 1, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.0"})
    transform(h, 1, "1.1", [], [], {})  # nothing
    h.call(5, "read-output", {"final": False}, value={"final": False, "records": {"0": [o(0, 1, 1, 2, "1.0")]}})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), o(0, 1, 1, 2, "1.0")]}, {"0": 3}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    r = check_eos(h.history())
    assert r["anomaly-types"] == ["torn-transaction"], r
    assert r["anomalies"]["torn-transaction"]["examples"][0]["missing"] == 0


def test_torn_transaction_across_partitions_in_final_read():
    h = H()
    h.call(0, "produce", [[0, 1], [1, 5]], value=[[0, 0, 1], [1, 0, 5]])
    transform(h, 1, "1.0", [[0, 0, 1], [1, 0, 5]], [[0, 0, 0, 0, 2], [1, 0, 1, 0, 10]], {"0": 1, "1": 1})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0")], "1": []}, {"0": 2, "1": 2}, {"0": [[0, 1]], "1": [[0, 5]]}, {"0": 1, "1": 1})
    r = check_eos(h.history())
    assert "torn-transaction" in r["anomaly-types"], r
    # twin: both visible
    h2 = H()
    h2.call(0, "produce", [[0, 1], [1, 5]], value=[[0, 0, 1], [1, 0, 5]])
    transform(h2, 1, "1.0", [[0, 0, 1], [1, 0, 5]], [[0, 0, 0, 0, 2], [1, 0, 1, 0, 10]], {"0": 1, "1": 1})
    h2.call(1, "commit", {"txn": "1.0"})
    final_reads(h2, {"0": [o(0, 0, 0, 1, "1.0")], "1": [o(1, 0, 0, 5, "1.0")]}, {"0": 2, "1": 2},
                {"0": [[0, 1]], "1": [[0, 5]]}, {"0": 1, "1": 1})
    assert check_eos(h2.history())["valid"] is True


def test_skipped_output():
    h = H()
    base(h, (1, 2))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.0"})
    transform(h, 1, "1.1", [[0, 1, 2]], [[0, 2, 0, 1, 4]], {"0": 2})
    h.call(1, "commit", {"txn": "1.1"})
    h.call(5, "read-output", {"final": False}, value={"final": False, "records": {"0": [o(0, 2, 1, 2, "1.1")]}})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), o(0, 2, 1, 2, "1.1")]}, {"0": 4}, {"0": [[0, 1], [1, 2]]}, {"0": 2})
    assert types(h) == ["skipped-output"]


def test_wrong_source():
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [[0, 0, 0, 3, "1.0"]]}, {"0": 2}, {"0": [[0, 1]]}, {"0": 1})
    assert types(h) == ["wrong-source"]
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.call(1, "commit", {"txn": "1.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), [1, 0, 7, 4, "1.0"]]}, {"0": 2}, {"0": [[0, 1]]}, {"0": 1})
    assert "wrong-source" in types(h)


def test_checker_errors_become_unknown():
    r = check_eos([Op(0, 0, "ok", 1, "read-output", {"final": True, "records": {"x": 1}})])
    assert r["valid"] == "unknown" and "error" in r


def test_nemesis_ops_are_ignored():
    h = good()
    h.add("info", "nemesis", "partition", "start")
    h.add("info", "nemesis", "partition", "stop")
    assert check_eos(h.history())["valid"] is True


def test_without_transactions_a_crashed_step_shows_as_duplicates_not_aborted_reads():
    h = H()
    base(h, (1,))
    transform(h, 1, "1.0", [[0, 0, 1]], [[0, 0, 0, 0, 2]], {"0": 1})
    h.add("invoke", 1, "crash")
    h.add("info", 1, "crash")           # crashed before committing its offsets; its output is out there
    transform(h, 2, "2.0", [[0, 0, 1]], [[0, 1, 0, 0, 2]], {"0": 1})
    h.call(2, "commit", {"txn": "2.0"})
    final_reads(h, {"0": [o(0, 0, 0, 1, "1.0"), o(0, 1, 0, 1, "2.0")]}, {"0": 2}, {"0": [[0, 1]]}, {"0": 1})
    plain = check_eos(h.history(), {"workload_options": {"transactional": False}})
    assert plain["anomaly-types"] == ["duplicate-output"], plain["anomaly-types"]
    txn = check_eos(h.history(), {"workload_options": {"transactional": True}})
    assert txn["anomaly-types"] == ["G1a"], txn["anomaly-types"]
