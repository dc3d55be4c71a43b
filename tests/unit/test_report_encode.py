"""The report's compact history columns and value text."""

import json

from prozess.history import Op
from prozess.report.encode import encode_history, op_keys, script_json, value_text


def test_value_text_reads_like_the_kafka_workload():
    assert value_text("send", [["send", "x", [12, 5]]]) == "x 5@12"
    assert value_text("send", [["send", "x", 5]]) == "x 5"
    assert value_text("send", [["send", "x", [None, 5]]]) == "x 5@?"
    assert value_text("poll", [["poll"]]) == ""
    assert value_text("poll", [["poll", {"x": [[1, 2], [2, 3]], "y": []}]]) == "{x: 2@1 3@2, y: -}"
    assert value_text("txn", [["send", "x", [3, 5]], ["poll", {"y": [[1, 2]]}]]) == "send x 5@3; poll {y: 2@1}"
    assert value_text("assign", ["a", "b"]) == "a b"
    assert value_text("crash", None) == ""
    assert value_text("start-partition", {"n1": ["n2"]}) == '{"n1":["n2"]}'


def test_keys_of_sends_polls_and_assigns():
    assert op_keys(Op(0, 0, "ok", 1, "txn", [["send", "x", [3, 5]], ["poll", {"y": [[1, 2]], "x": []}]])) == ["x", "y"]
    assert op_keys(Op(0, 0, "invoke", 1, "assign", ["a", "b"])) == ["a", "b"]
    assert op_keys(Op(0, 0, "invoke", 1, "poll", [["poll"]])) == []


def _ops():
    return [
        Op(0, 1_000, "invoke", 0, "send", [["send", "x", 1]]),
        Op(1, 1_500_000, "invoke", 1, "poll", [["poll"]]),
        Op(2, 2_000_000, "ok", 0, "send", [["send", "x", [0, 1]]], node="n1"),
        Op(3, 3_000_000, "info", "nemesis", "start-partition", "halves"),
        Op(4, 3_500_000, "info", 1, "poll", [["poll"]], error="REQUEST_TIMED_OUT"),
    ]


def test_columns_decode_back_to_the_history():
    ops = _ops()
    d = encode_history(ops)
    assert d["n"] == len(ops)
    t = 0
    for i, op in enumerate(ops):
        t += d["dt"][i]
        assert t == op.time // 1000
        assert ["invoke", "ok", "fail", "info"][d["ty"][i]] == op.type
        assert d["procs"][d["p"][i]] == op.process
        assert d["fs"][d["f"][i]] == op.f
    assert d["keys"][d["k"][0]] == "x" and d["k"][1] == -1
    assert d["nodes"][d["nd"][2]] == "n1" and d["nd"][0] == -1
    assert d["errs"][d["e"][4]] == "REQUEST_TIMED_OUT"
    # the invocation that completed ok carries no value; the one that ended info keeps its own
    assert d["v"][0] == 0 and d["v"][2] == "x 1@0" and d["v"][1] == ""


def test_values_shrink_to_fit_the_budget_but_cited_ops_stay_whole():
    big = {"x": [[i, i] for i in range(500)]}
    ops = []
    for i in range(0, 200, 2):
        ops.append(Op(i, i * 1000, "invoke", 0, "poll", [["poll"]]))
        ops.append(Op(i + 1, i * 1000 + 500, "ok", 0, "poll", [["poll", big]]))
    d = encode_history(ops, keep=[1], total_budget=20_000)
    assert len(script_json(d)) < 25_000
    assert d["cut"] == 99 and d["limit"] < 240
    assert all(v.endswith("…") for v in d["v"][3::2])
    assert "499@499" in d["v"][1]  # cited: whole


def test_script_json_cannot_close_the_script_tag():
    d = {"v": ["</script><script>alert(1)</script>", "<!--"]}
    s = script_json(d)
    assert "</" not in s and "<!--" not in s
    assert json.loads(s) == d
