"""Properties of the Jepsen-parity rules on simulated histories (hypothesis).

- Gapped indices: renumbering a history's ops with any strictly increasing indices
  changes neither the verdict nor the anomaly types, and every op an example cites
  is the renumbered twin of the one the dense history cites.
- EDN round trip: a history (final marks included) converts to EDN and back unchanged.
- truncated-tail: silent on every correct simulated history (which has final reads),
  found whenever a tail or a hole is cut from the final reads (`prozess.simulate`).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prozess.checkers import check
from prozess.edn import read_edn, write_edn
from prozess.history import History
from prozess.simulate import INJECTIONS, inject, simulate

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])


def _cited(result):
    out = []
    for name, r in sorted(result["checkers"].items()):
        for section in ("anomalies", "informational"):
            for kind, e in sorted((r.get(section) or {}).items()):
                for ex in e.get("examples", []):
                    out.append((name, kind, tuple(ex.get("ops", []))))
    return out


@SETTINGS
@given(seed=st.integers(0, 2**31), kind=st.sampled_from([None, *INJECTIONS]), start=st.integers(0, 50),
       gaps=st.lists(st.integers(1, 7), min_size=1, max_size=16))
def test_gapped_indices_change_nothing_but_the_names(seed, kind, start, gaps):
    ops = simulate(400, keys=3, processes=4, seed=seed, info_rate=0.02, fail_rate=0.02)
    if kind is not None:
        ops = inject(ops, kind, seed=seed) or ops
    index = []
    i = start
    for n in range(len(ops)):
        index.append(i)
        i += gaps[n % len(gaps)]
    gapped = [op._replace(index=index[n]) for n, op in enumerate(ops)]
    rd, rg = check(History(ops)), check(History(gapped))
    assert rd["valid"] == rg["valid"]
    assert rd["anomaly-types"] == rg["anomaly-types"]
    dense_cited = [(n, k, tuple(index[p] for p in o)) for n, k, o in _cited(rd)]
    assert dense_cited == _cited(rg)


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_edn_round_trip_keeps_final_marks(tmp_path_factory, seed):
    ops = simulate(150, keys=2, processes=3, seed=seed)
    path = tmp_path_factory.mktemp("edn") / "h.edn"
    write_edn(ops, path)
    back = read_edn(path)
    assert list(back) == ops
    assert any(op.extra == {"final": True} for op in back)


@SETTINGS
@given(seed=st.integers(0, 2**31), hole=st.booleans())
def test_truncated_tail_found_iff_final_reads_lose_a_value(seed, hole):
    ops = simulate(500, keys=3, processes=4, seed=seed, info_rate=0.02)
    assert "truncated-tail" not in check(ops, names=["queue"])["anomaly-types"]
    bad = inject(ops, "truncated-hole" if hole else "truncated-tail", seed=seed)
    if bad is not None:
        assert "truncated-tail" in check(bad, names=["queue"])["anomaly-types"]
