"""The dependency-graph checker on tiny hand-written histories: each cycle class, its explanation, its silent twin."""

from __future__ import annotations

import json

from prozess.checkers import txn
from prozess.history import History, Op


def H(*rows):
    ops = [Op(i, i * 1_000_000, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]
    History(ops)
    return ops


def check(*rows, **kw):
    res = txn.check(H(*rows), **kw)
    json.dumps(res)
    return res


def test_g1c_pure_wr_cycle_is_an_error():
    # Jepsen's g1c-pure-wr-test: each transaction read the other's write.
    res = check((0, "invoke", "txn", [["send", "x", "a"], ["poll"]]),
                (1, "invoke", "txn", [["send", "y", "b"], ["poll"]]),
                (0, "ok", "txn", [["send", "x", [0, "a"]], ["poll", {"y": [[0, "b"]]}]]),
                (1, "ok", "txn", [["send", "y", [0, "b"]], ["poll", {"x": [[0, "a"]]}]]))
    assert res["valid"] is False and res["anomaly-types"] == ["G1c"]
    ex = res["anomalies"]["G1c"]["examples"][0]
    assert sorted(ex["ops"]) == [2, 3]
    assert [s["type"] for s in ex["steps"]] == ["wr", "wr"]
    assert "However" in ex["explanation"] and "contradiction" in ex["explanation"]
    assert "polled T1's send of 'a' to key 'x'" in ex["explanation"]


def test_one_way_reads_are_no_cycle():
    res = check((0, "invoke", "txn", [["send", "x", "a"], ["poll"]]),
                (0, "ok", "txn", [["send", "x", [0, "a"]], ["poll", {}]]),
                (1, "invoke", "txn", [["send", "y", "b"], ["poll"]]),
                (1, "ok", "txn", [["send", "y", [0, "b"]], ["poll", {"x": [[0, "a"]]}]]))
    assert res["valid"] is True and res["anomaly-types"] == []


def test_future_read_is_g1c_realtime():
    # A poll completes (index 1), then a send is invoked (index 2) whose value that poll returned.
    res = check((0, "invoke", "poll", [["poll"]]),
                (0, "ok", "poll", [["poll", {"x": [[0, 7]]}]]),
                (1, "invoke", "send", [["send", "x", 7]]),
                (1, "ok", "send", [["send", "x", [0, 7]]]))
    assert res["anomaly-types"] == ["G1c-realtime"]
    ex = res["anomalies"]["G1c-realtime"]["examples"][0]
    assert sorted(ex["ops"]) == [1, 3]
    assert {s["type"] for s in ex["steps"]} == {"wr", "realtime"}
    assert "completed (index 1) before" in ex["explanation"]


def test_read_before_ack_is_fine():
    # The poll sees the value before the send is acknowledged: concurrent, no cycle.
    res = check((1, "invoke", "send", [["send", "x", 7]]),
                (0, "invoke", "poll", [["poll"]]),
                (0, "ok", "poll", [["poll", {"x": [[0, 7]]}]]),
                (1, "ok", "send", [["send", "x", [0, 7]]]))
    assert res["valid"] is True


def test_read_racing_a_txn_ack_is_searched_and_fine():
    # The poll completes before the transaction it read from is acknowledged: a backward
    # wr edge, so the span is searched, but there is no cycle.
    res = check((2, "invoke", "send", [["send", "y", 1]]),
                (2, "ok", "send", [["send", "y", [0, 1]]]),
                (1, "invoke", "txn", [["send", "x", 7], ["poll"]]),
                (0, "invoke", "poll", [["poll"]]),
                (0, "ok", "poll", [["poll", {"x": [[0, 7]]}]]),
                (1, "ok", "txn", [["send", "x", [0, 7]], ["poll", {"y": [[0, 1]]}]]))
    assert res["valid"] is True, res
    assert res["graph"]["searched-vertices"] == 2


def test_process_order_cycle_is_g1c_process():
    # Process 0 polls x=7, then sends x=7 itself afterwards: it read its own future write.
    res = check((0, "invoke", "poll", [["poll"]]),
                (0, "ok", "poll", [["poll", {"x": [[0, 7]]}]]),
                (0, "invoke", "send", [["send", "x", 7]]),
                (0, "ok", "send", [["send", "x", [0, 7]]]))
    assert res["anomaly-types"] == ["G1c-process"]
    assert res["anomalies"]["G1c-process"]["examples"][0]["steps"][-1]["type"] in ("process", "wr")


def test_g0_is_informational_in_kafka():
    # Jepsen's g0-test: two sends interleave across x and y. Kafka allows it.
    res = check((0, "invoke", "send", [["send", "x", "a"], ["send", "y", "a"]]),
                (1, "invoke", "send", [["send", "x", "b"], ["send", "y", "b"]]),
                (0, "ok", "send", [["send", "x", [0, "a"]], ["send", "y", [1, "a"]]]),
                (1, "ok", "send", [["send", "x", [1, "b"]], ["send", "y", [0, "b"]]]),
                (2, "invoke", "poll", [["poll"]]),
                (2, "ok", "poll", [["poll", {"x": [[0, "a"], [1, "b"]], "y": [[0, "b"], [1, "a"]]}]]))
    assert res["valid"] is True
    assert "G0" in res["informational-types"]
    ex = res["informational"]["G0"]["examples"][0]
    assert sorted(ex["ops"]) == [2, 3] and {s["type"] for s in ex["steps"]} == {"ww"}


def test_ww_wr_cycle_is_informational_g1c():
    # Jepsen's g1c-ww-wr-test: allowed when ww edges are inferred.
    res = check((0, "invoke", "txn", [["send", "x", "a"], ["send", "y", "c"]]),
                (1, "invoke", "txn", [["poll"], ["send", "y", "b"]]),
                (0, "ok", "txn", [["send", "x", [0, "a"]], ["send", "y", [2, "c"]]]),
                (1, "ok", "txn", [["poll", {"x": [[0, "a"]]}], ["send", "y", [1, "b"]]]))
    assert res["valid"] is True
    assert "G1c" in res["informational-types"]


def test_stale_poll_is_informational_g_single_realtime():
    # A poll that completes after a send was acknowledged, yet does not see it: consumer lag.
    res = check((0, "invoke", "send", [["send", "x", 1]]),
                (0, "ok", "send", [["send", "x", [0, 1]]]),
                (0, "invoke", "send", [["send", "x", 2]]),
                (0, "ok", "send", [["send", "x", [1, 2]]]),
                (1, "invoke", "poll", [["poll"]]),
                (1, "ok", "poll", [["poll", {"x": [[0, 1]]}]]),
                (2, "invoke", "poll", [["poll"]]),
                (2, "ok", "poll", [["poll", {"x": [[0, 1], [1, 2]]}]]))
    assert res["valid"] is True
    assert "G-single-realtime" in res["informational-types"] or "G-single-process" in res["informational-types"]


def test_empty_graph_is_unknown():
    assert check((0, "invoke", "assign", ["x"]), (0, "ok", "assign", ["x"]))["valid"] == "unknown"


def test_no_reads_is_unknown():
    res = check((0, "invoke", "send", [["send", "x", 1]]), (0, "ok", "send", [["send", "x", [0, 1]]]))
    assert res["valid"] == "unknown" and "no dependency" in res["reason"]


def test_classify_names():
    assert txn.classify(["ww", "ww"]) == "G0"
    assert txn.classify(["ww", "wr"]) == "G1c"
    assert txn.classify(["wr", "realtime"]) == "G1c-realtime"
    assert txn.classify(["wr", "process"]) == "G1c-process"
    assert txn.classify(["rw", "wr"]) == "G-single"
    assert txn.classify(["rw", "wr", "rw", "wr"]) == "G-nonadjacent"
    assert txn.classify(["rw", "rw", "wr"]) == "G2-item"
    assert txn.classify(["rw", "ww", "realtime"]) == "G-single-realtime"
