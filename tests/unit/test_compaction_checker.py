"""The compaction checker on tiny hand-written histories: one per anomaly type, and what compaction may do."""

from __future__ import annotations

from prozess.checkers import check
from prozess.checkers.compaction import DEFINITIONS, check_compaction
from prozess.history import Op

S = 1_000_000_000
TEST = {"workload": "compaction", "workload_options": {"delete_retention_ms": 10_000, "partitions": 1}}


class H:
    """Builds a history; each call is one invoke + completion of one process, t in seconds."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def _op(self, t: float, typ: str, p: int, f: str, v):
        self.ops.append(Op(len(self.ops), int(t * S), typ, p, f, v))
        return len(self.ops) - 1

    def write(self, t: float, f: str, key: int, seq: int, offset: int | None, typ: str = "ok", p: int = 0) -> int:
        self._op(t, "invoke", p, f, {"key": key, "seq": seq})
        v = {"key": key, "seq": seq}
        if typ == "ok":
            v.update(tp=0, offset=offset)
        return self._op(t + 0.1, typ, p, f, v)

    def read(self, t: float, end: int, recs: list, final: bool = False, dur: float = 0.1, p: int = 1) -> int:
        self._op(t, "invoke", p, "read-all", {"tp": 0, "final": final})
        return self._op(t + dur, "ok", p, "read-all", {"tp": 0, "final": final, "start": 0, "end": end, "records": recs})


def types(h: H, test=TEST) -> set[str]:
    return set(check_compaction(h.ops, test)["anomaly-types"])


def base() -> H:
    h = H()
    h.write(0, "put", 1, 1, 0)
    h.write(1, "put", 1, 2, 1)
    h.write(2, "put", 2, 1, 2)
    h.write(3, "put", 3, 1, 3)
    return h


def test_dropping_older_values_is_valid_and_counted():
    h = base()
    h.read(5, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 1]], final=True)
    r = check_compaction(h.ops, TEST)
    assert r["valid"] is True, r
    assert r["compaction"]["offsets-removed"] == 1 and r["compaction"]["known-records-removed"] == 1


def test_lost_latest_when_an_acked_latest_value_is_missing():
    h = base()
    i = h.read(5, 4, [[0, 1, 1], [2, 2, 1], [3, 3, 1]], final=True)
    r = check_compaction(h.ops, TEST)
    assert r["anomaly-types"] == ["lost-latest"]
    ex = r["anomalies"]["lost-latest"]["examples"][0]
    assert i in ex["ops"] and ex["key"] == 1 and "k1" in ex["explanation"]


def test_truncated_log_shows_inconsistent_offsets_and_the_lost_value():
    h = base()
    h.write(4, "put", 2, 2, 4)          # acked at 4 by a leader that lost it
    h.write(5, "put", 3, 2, 4)          # the new leader put another record at 4
    h.read(6, 5, [[1, 1, 2], [2, 2, 1], [4, 3, 2]], final=True)
    assert types(h) == {"inconsistent-offsets", "lost-latest"}


def test_compacted_latest_when_a_seen_latest_record_leaves_a_gap():
    h = base()
    h.read(5, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 1]])
    h.read(6, 4, [[1, 1, 2], [3, 3, 1]], final=True)
    assert types(h) == {"compacted-latest"}


def test_a_newer_record_past_the_end_explains_a_missing_latest():
    h = base()
    h.write(4.5, "put", 2, 2, 7)        # written while the read ran; the cleaner may use it
    h.read(4.6, 4, [[1, 1, 2], [3, 3, 1]], final=True)
    assert types(h) == set()


def test_an_indeterminate_write_explains_a_missing_latest():
    h = base()
    h.write(4, "put", 2, 2, None, typ="info")
    h.read(5, 4, [[1, 1, 2], [3, 3, 1]], final=True)
    assert types(h) == set()


def test_tombstone_vanished_early_and_after_retention():
    h = base()
    h.write(4, "delete", 3, 2, 4)
    h.read(5, 5, [[1, 1, 2], [2, 2, 1]], final=True)
    assert types(h) == {"tombstone-vanished-early"}
    late = base()
    late.write(4, "delete", 3, 2, 4)
    late.read(30, 5, [[1, 1, 2], [2, 2, 1]], final=True)
    assert check_compaction(late.ops, TEST)["valid"] is True


def test_resurrection_unless_the_read_took_longer_than_the_retention():
    h = base()
    h.write(4, "delete", 3, 2, 4)
    h.read(30, 5, [[1, 1, 2], [2, 2, 1], [3, 3, 1]], final=True)
    assert types(h) == {"resurrection"}
    slow = base()
    slow.write(4, "delete", 3, 2, 4)
    slow.read(30, 5, [[1, 1, 2], [2, 2, 1], [3, 3, 1]], final=True, dur=12)
    assert types(slow) == set()


def test_nonmonotonic_offsets_and_earlier_after_later():
    h = base()
    h.read(5, 4, [[1, 1, 2], [0, 1, 1], [2, 2, 1], [3, 3, 1]], final=True)
    assert "nonmonotonic-offsets" in types(h)
    e = H()
    e.write(0, "put", 4, 1, 0)
    e.write(1, "put", 4, 2, 1)
    e.write(2, "put", 5, 1, 2)
    e.read(3, 3, [[0, 4, 2], [1, 4, 1], [2, 5, 1]])
    e.read(4, 3, [[1, 4, 1], [2, 5, 1]], final=True)
    assert "earlier-after-later" in types(e)


def test_garbage_read():
    h = base()
    h.read(5, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 1], [3, 9, 55]], final=True)
    assert "garbage-read" in types(h)


def test_unknown_without_final_read_or_without_compaction():
    h = base()
    h.read(5, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 1]])
    assert check_compaction(h.ops, TEST)["valid"] == "unknown"
    full = base()
    full.read(5, 4, [[0, 1, 1], [1, 1, 2], [2, 2, 1], [3, 3, 1]], final=True)
    r = check_compaction(full.ops, TEST)
    assert r["valid"] == "unknown" and "cleaner" in r["reason"]
    lax = {"workload": "compaction", "workload_options": {**TEST["workload_options"], "require_compaction": False}}
    assert check_compaction(full.ops, lax)["valid"] is True


def test_registered_in_the_composite_with_definitions():
    h = base()
    h.read(5, 4, [[0, 1, 1], [2, 2, 1], [3, 3, 1]], final=True)
    r = check(h.ops, test=TEST)
    assert set(r["checkers"]) == {"compaction", "stats", "perf"}
    assert r["valid"] is False and r["anomaly-types"] == ["lost-latest"]
    from prozess.checkers import DEFINITIONS as ALL

    for t in DEFINITIONS:
        assert ALL[t] if t != "inconsistent-offsets" else True


def test_a_bare_history_is_recognised_by_its_ops():
    h = base()
    h.read(5, 4, [[0, 1, 1], [2, 2, 1], [3, 3, 1]], final=True)
    r = check(h.ops)  # no test.json: e.g. `prozess check history.jsonl`
    assert "compaction" in r["checkers"] and r["anomaly-types"] == ["lost-latest"]


def test_a_final_read_ending_below_a_keys_acknowledged_last_write_is_lost_latest():
    h = base()
    h.write(4, "put", 3, 2, 9)          # acked at 9 by a leader whose log was then cut at 4
    h.read(6, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 1]], final=True)
    assert types(h) == {"lost-latest"}
    later = base()
    later.write(4, "put", 3, 2, 9)
    later.write(5, "put", 3, 3, 3)      # a later write of k3 landed below: k3's last value is there
    later.read(6, 4, [[1, 1, 2], [2, 2, 1], [3, 3, 3]], final=True)
    assert types(later) == {"inconsistent-offsets"}
