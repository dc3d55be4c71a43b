"""The queue checker on tiny hand-written histories: each anomaly type found with its exact ops, and its silent twin.

Several cases are Jepsen's own (`jepsen/test/jepsen/tests/kafka_test.clj`), so the
verdicts compare one to one.
"""

from __future__ import annotations

import json

from prozess.checkers import queue
from prozess.history import History, Op


def H(*rows):
    """Rows of (process, type, f, value); index and time come from the position."""
    ops = [Op(i, i * 1_000_000, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]
    History(ops)  # the pairing rules hold
    return ops


def send(p, k, v, o, typ="ok"):
    return [(p, "invoke", "send", [["send", k, v]]), (p, typ, "send", [["send", k, [o, v] if o is not None else v]])]


def poll(p, m, typ="ok"):
    return [(p, "invoke", "poll", [["poll"]]), (p, typ, "poll", [["poll", m]])]


def run(*groups, test=None):
    rows = [r for g in groups for r in g]
    res = queue.check(H(*rows), test)
    json.dumps(res)
    return res


def examples(res, kind):
    return res["anomalies"][kind]["examples"]


# ---------------------------------------------------------------- lost-write / unseen


def test_lost_write_needs_a_higher_read():
    # a at 0, b at 1; a poll reads only b: a is lost (b is above it).
    res = run(send(0, "x", "a", 0), send(0, "x", "b", 1), poll(1, {"x": [[1, "b"]]}))
    assert res["valid"] is False
    assert "lost-write" in res["anomaly-types"]
    ex = examples(res, "lost-write")[0]
    assert ex["ops"] == [1, 5] and ex["value"] == "a"
    assert "lost" in ex["explanation"]


def test_no_lost_write_when_nothing_higher_was_read():
    # b at 1 is never read, but nothing above it was read either: unseen, not lost.
    res = run(send(0, "x", "a", 0), send(0, "x", "b", 1), poll(1, {"x": [[0, "a"]]}))
    assert "lost-write" not in res["anomaly-types"]
    assert res["anomaly-types"] == ["unseen"]
    ex = examples(res, "unseen")[0]
    assert ex["ops"] == [3] and ex["value"] == "b"
    assert res["anomalies"]["unseen"]["unseen"] == {"x": 1}


def test_everything_read_is_valid():
    res = run(send(0, "x", "a", 0), send(0, "x", "b", 1), poll(1, {"x": [[0, "a"], [1, "b"]]}))
    assert res["valid"] is True and res["anomaly-types"] == []


def test_jepsen_lost_write_consistent_case():
    rows = [(0, "invoke", "send", [["send", "x", "a"]]), (0, "ok", "send", [["send", "x", [0, "a"]]]),
            (0, "invoke", "send", [["send", "x", "b"], ["send", "x", "d"]]),
            (0, "ok", "send", [["send", "x", [1, "b"]], ["send", "x", [3, "d"]]]),
            (1, "invoke", "send", [["send", "x", "c"]]), (1, "info", "send", [["send", "x", "c"]]),
            (2, "invoke", "poll", [["poll"]]), (2, "ok", "poll", [["poll", {"x": [[2, "c"]]}]])]
    res = queue.check(H(*rows))
    lost = res["anomalies"]["lost-write"]["examples"]
    assert [(e["value"], e["ops"]) for e in lost] == [("a", [1, 7]), ("b", [3, 7])]


def test_info_send_counts_once_a_read_proves_it_visible():
    # Jepsen's "atomic" case: send-ab crashed (info), but a poll saw a, so its b must
    # have been written too; c above b was read, so b is lost.
    ab = [(0, "invoke", "send", [["send", "x", "a"], ["send", "y", "b"]]),
          (0, "info", "send", [["send", "x", "a"], ["send", "y", [0, "b"]]])]
    c = [(1, "invoke", "send", [["send", "y", "c"]]), (1, "info", "send", [["send", "y", "c"]])]
    pc = poll(3, {"y": [[1, "c"]]})
    without = run(ab, c, pc)
    assert "lost-write" not in without["anomaly-types"]
    with_a = run(ab, c, poll(2, {"x": [[0, "a"]]}), pc)
    ex = examples(with_a, "lost-write")[0]
    assert ex["value"] == "b" and ex["ops"] == [1, 7]


# ---------------------------------------------------------------- duplicate / inconsistent offsets / G1a


def test_duplicate():
    res = run(send(0, "x", "a", 1), send(1, "x", "b", None, "info"), poll(2, {"x": [[2, "b"], [3, "a"]]}))
    assert "duplicate" in res["anomaly-types"]
    ex = examples(res, "duplicate")[0]
    assert ex["value"] == "a" and ex["offsets"] == [1, 3] and ex["ops"] == [1]


def test_no_duplicate_when_reread_at_same_offset():
    res = run(send(0, "x", "a", 1), poll(2, {"x": [[1, "a"]]}), poll(3, {"x": [[1, "a"]]}))
    assert res["valid"] is True


def test_inconsistent_offsets_jepsen_info_case():
    s1 = [(0, "invoke", "send", [["send", "x", 1], ["send", "y", 1]]),
          (0, "info", "send", [["send", "x", [0, 1]], ["send", "y", 1]])]
    s2 = send(1, "x", 2, 0)
    # The info send is not proven visible: no conflict.
    assert "inconsistent-offsets" not in run(s1, s2)["anomaly-types"]
    # A poll of its y=1 proves it committed: x offset 0 holds 1 and 2.
    res = run(s1, s2, poll(2, {"y": [[5, 1]]}))
    assert "inconsistent-offsets" in res["anomaly-types"]
    ex = examples(res, "inconsistent-offsets")[0]
    assert ex["offset"] == 0 and ex["values"] == [1, 2] and ex["ops"] == [1, 3]


def test_g1a_read_of_failed_send():
    failed = [(0, "invoke", "send", [["send", "x", 2], ["send", "y", 3]]),
              (0, "fail", "send", [["send", "x", 2], ["send", "y", 3]])]
    res = run(failed, poll(1, {"x": [[0, 2]]}))
    assert "G1a" in res["anomaly-types"]
    ex = examples(res, "G1a")[0]
    assert ex["ops"] == [1, 3] and ex["value"] == 2


def test_no_g1a_when_failed_value_unread():
    failed = [(0, "invoke", "send", [["send", "x", 2]]), (0, "fail", "send", [["send", "x", 2]])]
    res = run(failed, send(1, "x", 3, 0), poll(2, {"x": [[0, 3]]}))
    assert res["valid"] is True


def test_garbage_read():
    res = run(send(0, "x", 1, 0), poll(1, {"x": [[0, 1], [1, 99]]}))
    assert "garbage-read" in res["anomaly-types"]
    assert examples(res, "garbage-read")[0]["ops"] == [3]


# ---------------------------------------------------------------- precommitted read


def test_precommitted_read():
    t = [(0, "invoke", "txn", [["send", "x", "a"], ["poll"]]),
         (0, "ok", "txn", [["send", "x", [0, "a"]], ["poll", {"x": [[0, "a"]]}]])]
    res = run(t)
    assert "precommitted-read" in res["anomaly-types"]
    assert examples(res, "precommitted-read")[0]["ops"] == [1]


def test_reading_anothers_write_in_a_txn_is_fine():
    t = [(0, "invoke", "txn", [["send", "x", "b"], ["poll"]]),
         (0, "ok", "txn", [["send", "x", [1, "b"]], ["poll", {"x": [[0, "a"]]}]])]
    res = run(send(1, "x", "a", 0), t, poll(2, {"x": [[0, "a"], [1, "b"]]}))
    assert res["valid"] is True, res["anomaly-types"]


# ---------------------------------------------------------------- poll-skip / nonmonotonic-poll


def _abcd():
    s = [(9, "invoke", "send", [["send", "x", v] for v in "abcd"]),
         (9, "ok", "send", [["send", "x", [o, v]] for o, v in enumerate("abcd", start=1)])]
    return s


def test_poll_skip():
    res = run(_abcd(), poll(0, {"x": [[1, "a"]]}), poll(0, {"x": [[3, "c"], [4, "d"]]}), poll(1, {"x": [[2, "b"]]}))
    assert res["anomaly-types"] == ["poll-skip"]
    ex = examples(res, "poll-skip")[0]
    assert ex["ops"] == [3, 5] and ex["skipped"] == ["b"] and ex["delta"] == 2


def test_poll_skip_is_informational_under_subscribe():
    res = run(_abcd(), poll(0, {"x": [[1, "a"]]}), poll(0, {"x": [[3, "c"], [4, "d"]]}), poll(1, {"x": [[2, "b"]]}),
              test={"sub-via": ["subscribe"]})
    assert res["valid"] is True
    assert res["informational-types"] == ["poll-skip"]


def test_assign_dropping_the_key_resets_poll_order():
    assign = [(0, "invoke", "assign", ["y"]), (0, "ok", "assign", ["y"])]
    res = run(_abcd(), poll(0, {"x": [[1, "a"]]}), assign, poll(0, {"x": [[3, "c"], [4, "d"]]}), poll(1, {"x": [[2, "b"]]}))
    assert "poll-skip" not in res["anomaly-types"]


def test_nonmonotonic_poll():
    res = run(_abcd(), poll(0, {"x": [[1, "a"], [2, "b"], [3, "c"]]}), poll(0, {"x": [[2, "b"], [3, "c"], [4, "d"]]}))
    assert res["anomaly-types"] == ["nonmonotonic-poll"]
    ex = examples(res, "nonmonotonic-poll")[0]
    assert ex["ops"] == [3, 5] and ex["values"] == ["c", "b"] and ex["delta"] == -1


def test_contiguous_polls_are_fine():
    res = run(_abcd(), poll(0, {"x": [[1, "a"], [2, "b"]]}), poll(0, {"x": [[3, "c"], [4, "d"]]}))
    assert res["valid"] is True


# ---------------------------------------------------------------- internal poll / send order


def test_int_poll_skip():
    res = run(_abcd(), poll(0, {"x": [[1, "a"], [3, "c"]]}), poll(1, {"x": [[1, "a"], [2, "b"], [3, "c"], [4, "d"]]}))
    assert res["anomaly-types"] == ["int-poll-skip"]
    assert examples(res, "int-poll-skip")[0]["ops"] == [3]


def test_int_nonmonotonic_poll():
    res = run(_abcd(), poll(0, {"x": [[1, "a"], [2, "b"], [2, "b"], [3, "c"], [4, "d"]]}))
    assert res["anomaly-types"] == ["int-nonmonotonic-poll"]
    ex = examples(res, "int-nonmonotonic-poll")[0]
    assert ex["ops"] == [3] and ex["values"] == ["b", "b"] and ex["delta"] == 0


def test_int_send_skip_is_informational():
    t = [(0, "invoke", "send", [["send", "x", "a"], ["send", "x", "c"]]),
         (0, "ok", "send", [["send", "x", [0, "a"]], ["send", "x", [2, "c"]]])]
    res = run(t, send(1, "x", "b", 1), poll(2, {"x": [[0, "a"], [1, "b"], [2, "c"]]}))
    assert res["valid"] is True
    assert res["informational-types"] == ["int-send-skip"]
    assert res["informational"]["int-send-skip"]["examples"][0]["ops"] == [1]


def test_int_nonmonotonic_send():
    t = [(0, "invoke", "send", [["send", "x", "b"], ["send", "x", "a"]]),
         (0, "ok", "send", [["send", "x", [1, "b"]], ["send", "x", [0, "a"]]])]
    res = run(t, poll(2, {"x": [[0, "a"], [1, "b"]]}))
    assert res["anomaly-types"] == ["int-nonmonotonic-send"]
    assert examples(res, "int-nonmonotonic-send")[0]["ops"] == [1]


def test_nonmonotonic_send_jepsen_case():
    s34 = [(0, "invoke", "send", [["send", "x", "c"], ["send", "x", "d"]]),
           (0, "ok", "send", [["send", "x", [3, "c"]], ["send", "x", [4, "d"]]])]
    s12 = [(0, "invoke", "send", [["send", "x", "a"], ["send", "x", "b"]]),
           (0, "ok", "send", [["send", "x", [1, "a"]], ["send", "x", [2, "b"]]])]
    res = run(s34, s12, poll(1, {"x": [[1, "a"], [2, "b"], [3, "c"], [4, "d"]]}))
    assert "nonmonotonic-send" in res["anomaly-types"]
    ex = examples(res, "nonmonotonic-send")[0]
    assert ex["ops"] == [1, 3] and ex["values"] == ["d", "a"] and ex["delta"] == -3
    # ... unless an assign in between drops the key
    drop = [(0, "invoke", "assign", ["y"]), (0, "ok", "assign", ["y"])]
    assert "nonmonotonic-send" not in run(s34, drop, s12, poll(1, {"x": [[1, "a"], [2, "b"], [3, "c"], [4, "d"]]}))["anomaly-types"]


def test_empty_history_is_unknown_not_valid():
    res = queue.check(H((0, "invoke", "assign", ["x"]), (0, "ok", "assign", ["x"])))
    assert res["valid"] == "unknown"
