"""The mirror checker against a simulated MirrorMaker 2 (an in-memory model of MM2's copy and offset translation, not MM2).

Both ways: a correct model (in-order, at-least-once copies; MM2 3.5+ offset
translation from offset syncs) always checks valid, with its duplicates only
counted; each injected violation is found, and nothing beyond what it implies.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from prozess.checkers import check
from prozess.checkers.mirror import check_mirror
from prozess.simulate_mirror import MIRROR_INJECTIONS, inject_mirror, simulate_mirror

histories = st.builds(dict, n_batches=st.integers(3, 80), partitions=st.integers(1, 3), batch=st.integers(1, 5),
                      lag_max=st.integers(1, 10), seed=st.integers(0, 2**31), dup_p=st.sampled_from([0.0, 0.1, 0.3]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
# two restarts in a row with nothing copied between them: the model once resumed further back each time
@example(dict(n_batches=70, partitions=3, batch=5, lag_max=2, seed=2, dup_p=0.3))
def test_correct_mirror_is_valid(kw):
    ops, test = simulate_mirror(**kw)
    r = check_mirror(ops, test)
    assert r["valid"] is True, r["anomalies"]
    if kw["dup_p"] == 0.0:
        assert r["mirror"]["duplicates"] == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(histories, st.sampled_from(sorted(MIRROR_INJECTIONS)), st.integers(0, 1000))
def test_injected_violation_is_found(kw, kind, seed):
    ops, test = simulate_mirror(**kw)
    bad = inject_mirror(ops, test, kind, seed)
    assume(bad is not None)
    r = check_mirror(bad, test)
    shows, may = MIRROR_INJECTIONS[kind]
    types = set(r["anomaly-types"])
    assert r["valid"] is False and types & shows and not types - shows - may, (kind, types)
    for t in types:
        for ex in r["anomalies"][t]["examples"]:
            assert ex["ops"] and ex["explanation"]


def test_duplicates_are_counted_not_flagged_and_unknown_without_a_final_target_read():
    ops, test = simulate_mirror(60, dup_p=0.5, seed=3)
    r = check_mirror(ops, test)
    assert r["valid"] is True and r["mirror"]["duplicates"] > 0
    cut = [o for o in ops if not (o.f == "read-target" and o.value and o.value.get("final"))]
    assert check_mirror(cut, test)["valid"] == "unknown"
    composite = check(ops, test=test)
    assert set(composite["checkers"]) == {"mirror", "stats", "perf"} and composite["valid"] is True
