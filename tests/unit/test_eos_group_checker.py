"""The consumer-group checker on tiny hand-written histories: each anomaly found, its negative twin silent."""

from __future__ import annotations

import json
from typing import Any

from prozess.checkers.group import CHECKERS, DEFINITIONS, check_group
from prozess.history import History, Op


class H:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(self, type: str, process: Any, f: str, value: Any = None) -> int:
        i = len(self.ops)
        self.ops.append(Op(i, i, type, process, f, value))
        return i

    def call(self, process: Any, f: str, value: Any = None, type: str = "ok", inv: Any = None) -> int:
        self.add("invoke", process, f, inv)
        return self.add(type, process, f, value)


def poll(h: H, proc, records=None, assigned=None, revoked=()):
    return h.call(proc, "poll", {"assigned": {str(p): c for p, c in (assigned or {}).items()}, "revoked": list(revoked),
                                 "records": {str(p): [[o, o + 100] for o in offs] for p, offs in (records or {}).items()}})


def produce(h: H, n=4, p=0):
    h.call(0, "produce", [[p, o, o + 100] for o in range(n)], inv=[[p, o + 100] for o in range(n)])


def final(h: H, offsets, ends=None):
    h.call(0, "read-input", {"records": {}, "ends": {str(p): e for p, e in (ends or offsets).items()}})
    h.call(0, "committed", {"final": True, "offsets": {str(p): x for p, x in offsets.items()}}, inv={"final": True})


def check(h: H) -> dict:
    r = check_group(History(h.ops))
    json.dumps(r)
    return r


def good() -> H:
    """Member 1 reads 0..1 and commits 2; member 2 takes over at 2 and reads 2..3, commits 4."""
    h = H()
    produce(h)
    h.call(1, "subscribe")
    poll(h, 1, {0: [0, 1]}, assigned={0: -1})
    h.call(1, "commit", {"offsets": {"0": 2}})
    h.call(1, "unsubscribe")
    poll(h, 1, revoked=[0])
    h.call(2, "subscribe")
    poll(h, 2, {0: [2, 3]}, assigned={0: 2})
    h.call(2, "commit", {"offsets": {"0": 4}})
    final(h, {0: 4})
    return h


def test_registered():
    assert CHECKERS == {"group": check_group}
    assert set(DEFINITIONS) == {"offset-regression", "resume-skip", "resume-rewind", "delivery-gap", "delivery-repeat", "undelivered"}


def test_correct_history_is_valid():
    r = check(good())
    assert r["valid"] is True, r


def test_redelivery_from_the_committed_offset_is_allowed():
    h = H()
    produce(h)
    poll(h, 1, {0: [0, 1, 2]}, assigned={0: -1})
    h.call(1, "commit", {"offsets": {"0": 2}})   # committed 2 although 3 delivered (allowed: at-least-once)
    h.add("invoke", 1, "crash")
    h.add("info", 1, "crash")
    poll(h, 2, {0: [2, 3]}, assigned={0: 2})
    h.call(2, "commit", {"offsets": {"0": 4}})
    final(h, {0: 4})
    r = check(h)
    assert r["valid"] is True and r["counts"]["redelivered"] == 1, r


def test_offset_regression():
    h = good()
    h.call(0, "committed", {"final": False, "offsets": {"0": 3}}, inv={"final": False})
    r = check(h)
    assert r["anomaly-types"] == ["offset-regression"], r
    # concurrent observations do not count
    h2 = good()
    h2.add("invoke", 0, "committed", {"final": False})
    h2.call(3, "commit", {"offsets": {"0": 5}})
    h2.add("ok", 0, "committed", {"final": False, "offsets": {"0": 4}})
    assert check(h2)["valid"] is True


def test_resume_skip_and_rewind():
    def build(first: int) -> H:
        h = H()
        produce(h)
        poll(h, 1, {0: [0, 1]}, assigned={0: -1})
        h.call(1, "commit", {"offsets": {"0": 2}})
        poll(h, 1, revoked=[0])
        poll(h, 2, {0: list(range(first, 4))}, assigned={0: 2})
        h.call(2, "commit", {"offsets": {"0": 4}})
        final(h, {0: 4})
        return h

    assert check(build(2))["valid"] is True
    assert check(build(3))["anomaly-types"] == ["resume-skip", "undelivered"]  # the skipped record is lost too
    r = check(build(1))
    assert r["anomaly-types"] == ["resume-rewind"]
    assert "delivered again" in r["anomalies"]["resume-rewind"]["examples"][0]["explanation"]


def test_delivery_gap_and_repeat():
    h = H()
    produce(h, 6)
    poll(h, 1, {0: [0, 1]}, assigned={0: -1})
    poll(h, 1, {0: [3, 4, 5]})
    h.call(1, "commit", {"offsets": {"0": 6}})
    final(h, {0: 6})
    assert "delivery-gap" in check(h)["anomaly-types"]
    h = H()
    produce(h, 4)
    poll(h, 1, {0: [0, 1, 2]}, assigned={0: -1})
    poll(h, 1, {0: [2, 3]})
    h.call(1, "commit", {"offsets": {"0": 4}})
    final(h, {0: 4})
    assert check(h)["anomaly-types"] == ["delivery-repeat"]


def test_undelivered():
    h = H()
    produce(h, 4)
    poll(h, 1, {0: [0, 1]}, assigned={0: -1})
    h.call(1, "commit", {"offsets": {"0": 4}})   # committed past records it never received
    final(h, {0: 4})
    r = check(h)
    assert r["anomaly-types"] == ["undelivered"], r
    assert r["anomalies"]["undelivered"]["examples"][0]["offsets"] == [2, 3]


def test_not_drained_is_unknown_and_no_final_is_unknown():
    h = H()
    produce(h, 4)
    poll(h, 1, {0: [0, 1]}, assigned={0: -1})
    h.call(1, "commit", {"offsets": {"0": 2}})
    final(h, {0: 2}, ends={0: 4})
    r = check(h)
    assert r["valid"] == "unknown" and r["counts"]["unconsumed"] == 2
    h = H()
    produce(h, 2)
    poll(h, 1, {0: [0, 1]}, assigned={0: -1})
    assert check(h)["valid"] == "unknown"


def test_errors_become_unknown():
    r = check_group([Op(0, 0, "ok", 1, "poll", {"records": {"x": 1}})])
    assert r["valid"] == "unknown" and "error" in r
