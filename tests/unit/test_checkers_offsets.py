"""Linearizable offsets on tiny histories: a send acknowledged before another began must get the lower offset."""

from __future__ import annotations

from prozess.checkers import offsets
from prozess.history import History, Op


def H(*rows):
    ops = [Op(i, i * 1_000_000, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]
    History(ops)
    return ops


def test_later_send_with_lower_offset_is_reported_with_both_ops():
    res = offsets.check(H((0, "invoke", "send", [["send", "x", "a"]]),
                          (0, "ok", "send", [["send", "x", [5, "a"]]]),
                          (1, "invoke", "send", [["send", "x", "b"]]),
                          (1, "ok", "send", [["send", "x", [3, "b"]]])))
    assert res["valid"] is False and res["anomaly-types"] == ["nonlinearizable-offsets"]
    ex = res["anomalies"]["nonlinearizable-offsets"]["examples"][0]
    assert ex["ops"] == [1, 3] and ex["offsets"] == [5, 3] and ex["values"] == ["a", "b"]
    assert "contradiction" in ex["explanation"]


def test_concurrent_sends_may_land_in_either_order():
    res = offsets.check(H((0, "invoke", "send", [["send", "x", "a"]]),
                          (1, "invoke", "send", [["send", "x", "b"]]),
                          (0, "ok", "send", [["send", "x", [5, "a"]]]),
                          (1, "ok", "send", [["send", "x", [3, "b"]]])))
    assert res["valid"] is True


def test_poll_that_contradicts_real_time_is_caught():
    # Acks carry no offsets (info-like clients); a poll shows b before a although a was
    # acknowledged before b was invoked.
    res = offsets.check(H((0, "invoke", "send", [["send", "x", "a"]]),
                          (0, "ok", "send", [["send", "x", "a"]]),
                          (1, "invoke", "send", [["send", "x", "b"]]),
                          (1, "ok", "send", [["send", "x", "b"]]),
                          (2, "invoke", "poll", [["poll"]]),
                          (2, "ok", "poll", [["poll", {"x": [[0, "b"], [1, "a"]]}]])))
    assert res["anomaly-types"] == ["nonlinearizable-offsets"]
    assert res["anomalies"]["nonlinearizable-offsets"]["examples"][0]["ops"] == [1, 3]


def test_in_order_is_valid_and_failed_sends_are_ignored():
    res = offsets.check(H((0, "invoke", "send", [["send", "x", "a"]]),
                          (0, "ok", "send", [["send", "x", [1, "a"]]]),
                          (1, "invoke", "send", [["send", "x", "z"]]),
                          (1, "fail", "send", [["send", "x", [0, "z"]]]),
                          (1, "invoke", "send", [["send", "x", "b"]]),
                          (1, "ok", "send", [["send", "x", [2, "b"]]])))
    assert res["valid"] is True
