"""Adding seeds to a measured detection cell: the stored campaigns stay, a re-run seed replaces its old run,
and the cell's counts and medians are recomputed over all of them (no cluster)."""

from __future__ import annotations

from tests.bench_modules import detection as _detection






def rec(seed, *, detected, ttd=None, ops=None, valid=False):
    r = {"seed": seed, "run_dir": f"results/detection/x/{seed}", "valid": valid, "anomaly_types": ["unseen"] if detected else [],
         "detected": detected, "wall_s": 100.0}
    if ttd is not None:
        r.update(time_to_detect_s=ttd, ops_to_detect=ops)
    return r


def test_new_seeds_join_the_stored_ones_and_the_summary_covers_all():
    det = _detection()
    cell = next(c for c in det.CELLS if c.id == "disk-power-cut-all")
    stored = det.summarize(cell, [rec(1, detected=True, ttd=1.0, ops=10), rec(2, detected=True, ttd=20.0, ops=30)], kafka="4.4.0", time_limit=45)
    records = det.add_seed_records(stored, [rec(3, detected=False, valid=True)])
    assert [r["seed"] for r in records] == [1, 2, 3]
    s = det.summarize(cell, records, kafka="4.4.0", time_limit=45)
    assert (s["campaigns"], s["detected"], s["seeds"]) == (3, 2, [1, 2, 3])
    assert s["median_time_to_detect_s"] == 10.5 and s["median_ops_to_detect"] == 20


def test_a_rerun_seed_replaces_its_stored_run_and_no_stored_cell_is_fine():
    det = _detection()
    stored = {"runs": [rec(1, detected=True, ttd=1.0, ops=10), rec(2, detected=False, valid=True)]}
    records = det.add_seed_records(stored, [rec(2, detected=True, ttd=3.0, ops=5)])
    assert [(r["seed"], r["detected"]) for r in records] == [(1, True), (2, True)]
    assert det.add_seed_records(None, [rec(4, detected=False)]) == [rec(4, detected=False)]


def test_rescore_limited_to_some_cells_keeps_the_others_as_stored():
    det = _detection()
    other = {"id": "acks1", "runs": [], "campaigns": 99, "marker": "kept"}
    cell = next(c for c in det.CELLS if c.id == "disk-corrupt-one")
    mine = det.summarize(cell, [rec(1, detected=False, valid=True)], kafka="4.4.0", time_limit=45)
    mine["campaigns"] = 7  # stale: rescoring recomputes it from the runs
    out = det.rescore({"cells": [other, mine]}, ["disk-*"])
    assert out["cells"][0] == other and out["cells"][1]["campaigns"] == 1
