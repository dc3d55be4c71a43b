"""The failover-rewind bound: offset.lag.max at the head, MM2's sparse offset-sync precision behind it.

MM2 3.5+ keeps offset syncs in power-of-two buckets behind the latest one
(`OffsetSyncStore`), so a group far behind the head is translated from an older
sync and rewound further than `offset.lag.max`. A real safe run showed it: a
group committed at source offset 40344 with the source ending at 42792 was
resumed 1256 records back. That is allowed; the same rewind at the head is not.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prozess.checkers.mirror import check_mirror, rewind_bound
from prozess.history import Op


def test_at_the_head_the_bound_is_offset_lag_max():
    assert rewind_bound(500, 500, 100) == 100
    assert rewind_bound(500, 600, 100) == 100


def test_behind_the_head_the_bound_is_the_bucket_holding_both_offsets():
    assert rewind_bound(40344, 42792, 100) == 2 ** 15       # 40344 ^ 42792 has 14 bits
    assert 1256 <= rewind_bound(40344, 42792, 100)
    assert rewind_bound(1000, 1300, 100) == 2 ** 12      # 1000 ^ 1300 has 11 bits, one level of slack


@given(st.integers(0, 10**7), st.integers(0, 10**5), st.integers(1, 1000))
def test_the_bound_covers_what_the_sync_store_invariant_allows(c, gap, lag):
    """syncs[j] <= syncs[i] < syncs[j] + 2^j: a sync at or below c found below the bucket of c and the end is
    less than that bucket's size back; the bound is never below offset.lag.max and never shrinks as the end moves away."""
    e = c + gap
    b = rewind_bound(c, e, lag)
    assert b >= lag
    if gap > lag:
        assert b >= 2 ** (e ^ c).bit_length()
        assert rewind_bound(c, e + 2 ** (e ^ c).bit_length(), lag) >= b


def _history(committed: int, end: int, resumed_at: int, failover: dict | None = None) -> list[Op]:
    """One partition holding values 1..end at offsets 0..end-1 in source and target; a commit, a failover."""
    recs = [[o, o + 1] for o in range(end)]
    ops = [
        Op(index=0, time=1, type="invoke", process=0, f="produce", value=[[0, v] for _, v in recs]),
        Op(index=1, time=2, type="ok", process=0, f="produce", value=[[0, o, v] for o, v in recs]),
        Op(index=2, time=3, type="invoke", process=1, f="commit-source", value=None),
        Op(index=3, time=4, type="ok", process=1, f="commit-source", value={"offsets": {"0": committed}}),
        Op(index=4, time=5, type="invoke", process=0, f="read-source", value={"final": True}),
        Op(index=5, time=6, type="ok", process=0, f="read-source", value={"final": True, "records": {"0": recs}}),
        Op(index=6, time=7, type="invoke", process=2, f="failover", value=failover),
        Op(index=7, time=8, type="ok", process=2, f="failover", value={"offsets": {"0": resumed_at}, "records": {}}),
        Op(index=8, time=9, type="invoke", process=2, f="read-target", value={"final": True}),
        Op(index=9, time=10, type="ok", process=2, f="read-target", value={"final": True, "records": {"0": recs}}),
    ]
    return ops


def test_a_lagging_group_rewound_within_the_sparse_bound_is_valid_and_at_the_head_it_is_not():
    test = {"workload": "mirror", "workload_options": {"max_rewind": 100}}
    behind = check_mirror(_history(40344, 42792, 40344 - 1256), test)
    assert behind["valid"] is True and behind["mirror"]["rewinds"] == [1256]
    head = check_mirror(_history(40344, 40344, 40344 - 1256), test)
    assert head["valid"] is False and head["anomaly-types"] == ["failover-rewind"]
    assert "documented bound 100" in head["anomalies"]["failover-rewind"]["examples"][0]["explanation"]


def test_a_rewind_of_an_unsettled_failover_is_counted_not_flagged_and_a_settled_one_is_judged():
    """A failover taken before the copy had held every value for the settle time may read an older (correct)
    translation: counted under `unsettled`. Marked settled, or without the mark (older histories), it is judged."""
    test = {"workload": "mirror", "workload_options": {"max_rewind": 100}}
    early = check_mirror(_history(40344, 40344, 40344 - 1256, {"caught_up": True, "settled": False}), test)
    assert early["valid"] is True and early["mirror"]["unsettled"] == [1256] and early["mirror"]["rewinds"] == []
    settled = check_mirror(_history(40344, 40344, 40344 - 1256, {"caught_up": True, "settled": True}), test)
    assert settled["valid"] is False and settled["anomaly-types"] == ["failover-rewind"]
    skip = check_mirror(_history(100, 200, 150, {"caught_up": False, "settled": False}), test)
    assert skip["valid"] is False and skip["anomaly-types"] == ["failover-skip"]   # a skip is a loss, settled or not
