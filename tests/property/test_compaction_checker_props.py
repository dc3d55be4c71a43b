"""The compaction checker against simulated compacted logs (an in-memory model of Kafka's cleaner, not Kafka).

Both ways: a correct model (compaction drops only older values, tombstones go
only after delete.retention.ms) always checks valid; each injected violation
is found, and nothing beyond what the injection implies is reported.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prozess.checkers.compaction import check_compaction
from prozess.simulate_compaction import INJECTIONS, inject_compaction, simulate_compaction

histories = st.builds(
    dict,
    n_ops=st.integers(60, 400),
    keys=st.integers(1, 8),
    tps=st.integers(1, 3),
    processes=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    retention_ms=st.integers(5, 200),
    info_rate=st.sampled_from([0.0, 0.03, 0.1]),
    delete_p=st.sampled_from([0.0, 0.2, 0.5]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_correct_compacted_log_is_valid(kw):
    ops, test = simulate_compaction(**kw)
    r = check_compaction(ops, test)
    assert r["valid"] is not False, r["anomalies"]
    if r["valid"] == "unknown":  # only when the cleaner had nothing to remove
        assert r["compaction"]["offsets-removed"] == 0, r


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(histories, st.sampled_from(sorted(INJECTIONS)), st.integers(0, 1000))
def test_injected_violation_is_found(kw, kind, seed):
    ops, test = simulate_compaction(**kw)
    bad = inject_compaction(ops, test, kind, seed)
    assume(bad is not None)
    r = check_compaction(bad, test)
    inj = INJECTIONS[kind]
    types = set(r["anomaly-types"])
    assert r["valid"] is False
    assert types & inj.shows, (kind, types)
    assert not types - inj.shows - inj.may_also, (kind, types)
    for t in types:
        for ex in r["anomalies"][t]["examples"]:
            assert ex["ops"] and all(0 <= i < len(bad) for i in ex["ops"])
            assert ex["explanation"]


def test_every_injection_finds_a_place_in_some_history():
    for kind in INJECTIONS:
        assert any(inject_compaction(*simulate_compaction(300, seed=s), kind, s) is not None for s in range(20)), kind
