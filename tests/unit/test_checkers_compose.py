"""Composition: verdict merging, unknown on a raising checker, names, JSON, stable output, stats/perf, summary."""

from __future__ import annotations

import json

import pytest

import prozess.checkers as checkers
from prozess.checkers import DEFINITIONS, check, default_names, merge_valid, summary
from prozess.history import History, Op


def H(*rows):
    ops = [Op(i, i * 1_000_000, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]
    History(ops)
    return ops


GOOD = H((0, "invoke", "send", [["send", "x", 1]]),
         (0, "ok", "send", [["send", "x", [0, 1]]]),
         (1, "invoke", "poll", [["poll"]]),
         (1, "ok", "poll", [["poll", {"x": [[0, 1]]}]]),
         ("nemesis", "info", "kill", None),
         ("nemesis", "info", "kill", None))

LOST = H((0, "invoke", "send", [["send", "x", 1]]),
         (0, "ok", "send", [["send", "x", [0, 1]]]),
         (0, "invoke", "send", [["send", "x", 2]]),
         (0, "ok", "send", [["send", "x", [1, 2]]]),
         (1, "invoke", "poll", [["poll"]]),
         (1, "ok", "poll", [["poll", {"x": [[1, 2]]}]]))


def test_merge_valid_ranks_false_over_unknown_over_true():
    assert merge_valid([True, True]) is True
    assert merge_valid([True, "unknown"]) == "unknown"
    assert merge_valid(["unknown", False, True]) is False
    assert merge_valid([]) is True


def test_good_history_is_valid_and_json_able():
    res = check(GOOD)
    assert res["valid"] is True and res["anomaly-types"] == []
    assert list(res["checkers"]) == ["queue", "txn", "offsets", "stats", "perf"]
    json.dumps(res)


def test_lost_write_makes_composite_invalid_and_output_is_stable():
    a, b = check(LOST), check(LOST)
    assert a["valid"] is False and "lost-write" in a["anomaly-types"]
    strip = lambda r: json.dumps({k: v for k, v in r.items() if k != "seconds"} | {"checkers": {n: {k: v for k, v in c.items() if k != "seconds"} for n, c in r["checkers"].items()}}, sort_keys=False)
    assert strip(a) == strip(b)
    for t in a["anomaly-types"]:
        assert t in DEFINITIONS
        for name, r in a["checkers"].items():
            for ex in r.get("anomalies", {}).get(t, {}).get("examples", []):
                assert ex["ops"] and all(isinstance(i, int) for i in ex["ops"])


def test_a_raising_checker_yields_unknown_with_the_error(monkeypatch):
    def boom(h, t, a):
        raise RuntimeError("kaput")

    monkeypatch.setitem(checkers.CHECKERS, "stats", boom)
    res = check(GOOD)
    assert res["valid"] == "unknown"
    assert "kaput" in res["checkers"]["stats"]["error"]
    assert res["checkers"]["queue"]["valid"] is True


def test_malformed_values_give_unknown_not_a_crash():
    bad = H((0, "invoke", "send", [["send"]]), (0, "ok", "send", [["send"]]))
    res = check(bad)
    assert res["checkers"]["queue"]["valid"] == "unknown" and "error" in res["checkers"]["queue"]
    assert res["checkers"]["stats"]["valid"] is True


def test_unknown_checker_name_is_bad_input():
    with pytest.raises(ValueError, match="unknown checker"):
        check(GOOD, names=["queue", "nope"])


def test_names_select_checkers():
    res = check(GOOD, names=["stats"])
    assert list(res["checkers"]) == ["stats"]


def test_default_names():
    assert default_names(None) == ["queue", "txn", "offsets", "stats", "perf"]
    assert default_names({"workload": "queue"}) == ["queue", "txn", "offsets", "stats", "perf"]
    assert default_names({"checkers": ["queue", "stats"]}) == ["queue", "stats"]
    assert default_names({"workload": "eos"}) == ["eos", "stats", "perf"]
    assert default_names({"workload": "group"}) == ["group", "stats", "perf"]


def test_eos_and_group_are_registered():
    res = check(GOOD, names=["eos", "group"])
    assert set(res["checkers"]) == {"eos", "group"}
    json.dumps(res)


def test_stats_and_perf_shapes():
    res = check(GOOD, names=["stats", "perf"])
    st = res["checkers"]["stats"]
    assert st["by-f"]["send"] == {"invoke": 1, "ok": 1, "fail": 0, "info": 0}
    assert st["counts"]["nemesis"] == 2 and st["counts"]["ops"] == 6
    pf = res["checkers"]["perf"]
    assert pf["latency-ms"]["send"] == {"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0, "count": 1}
    assert pf["throughput"]["poll"] == [[0, 1]]


def test_summary_names_verdict_and_anomalies():
    text = summary(check(LOST))
    assert text.startswith("verdict: INVALID")
    assert "lost-write" in text and "ops 1" in text
    assert "VALID" in summary(check(GOOD)).splitlines()[0]
