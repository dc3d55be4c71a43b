"""Detection-power smoke: one unsafe cell of the matrix is caught, its safe twin passes (real 3-node Kafka).

The short version of `benchmarks/detection.py`: the row acks=1 and its safe twin
(acks=all, idempotence) under one fault set (isolate the partition leader right
after a burst of writes: `prozess.nemesis.targeted`), one campaign each. The
fast tests below check the targeted schedule and the matrix rendering without a
cluster.
"""

from __future__ import annotations

from tests.bench_modules import detection as _detection

import json
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]




def test_targeted_schedules_fit_the_run_and_pair_every_fault():
    from prozess.nemesis.targeted import STRATEGIES, Targeted

    for strategy in STRATEGIES:
        nem = Targeted(strategy, {"calm": 5, "hold": 6})
        nem.topic = "t-0"
        test = {"time_limit": 60}
        steps = list(nem.schedule(test, random.Random(1)))
        assert test["targeted"]["strategy"] == strategy
        if strategy == "none":
            assert steps == []
            continue
        assert steps, strategy
        starts = sum(1 for _, f, _ in steps if f in ("start-partition", "kill"))
        stops = sum(1 for _, f, _ in steps if f in ("stop-partition", "start"))
        # every cycle ends healed; shrink-isr-kill starts a partition and a kill, ended by one `start`
        assert stops == (starts // 2 if strategy == "shrink-isr-kill" else starts), (strategy, steps)
        assert sum(d for d, _, _ in steps) <= 60 - 8, strategy
        assert all(v.get("targeted") == strategy for _, _, v in steps)


def test_targeted_rejects_unknown_strategy_and_options():
    from prozess.nemesis.targeted import Targeted

    with pytest.raises(ValueError, match="unknown targeted strategy"):
        Targeted("isolate-everyone")
    with pytest.raises(ValueError, match="unknown targeted nemesis option"):
        Targeted("kill-leader", {"hodl": 3})


def test_matrix_renders_rates_times_and_false_alarms(tmp_path):
    det = _detection()
    unsafe, safe = det.CELLS[2], det.CELLS[3]
    runs_u = [{"seed": 1, "valid": False, "anomaly_types": ["lost-write"], "detected": True, "time_to_detect_s": 4.0, "ops_to_detect": 100},
              {"seed": 2, "valid": True, "anomaly_types": [], "detected": False}]
    runs_s = [{"seed": 1, "valid": True, "anomaly_types": [], "detected": False},
              {"seed": 2, "valid": False, "anomaly_types": ["unseen"], "detected": False}]
    cells = [det.summarize(unsafe, runs_u, kafka="4.4.0", time_limit=45), det.summarize(safe, runs_s, kafka="4.4.0", time_limit=45)]
    assert cells[0]["detected"] == 1 and cells[0]["median_time_to_detect_s"] == 4.0 and cells[0]["false_alarms"] == 0
    assert cells[1]["false_alarms"] == 1 and cells[1]["detected"] == 0
    doc = det.merge_doc({"cells": []}, cells, {"kafka": "4.4.0", "date": "2026-01-01T00:00:00+00:00", "machine": "2 cores", "k": 2, "time_limit_s": 45})
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{det.BEGIN}\nold\n{det.END}\nafter\n")
    md = tmp_path / "detection.md"
    det.render(doc, md=md, readme=readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert "| acks=1 | isolate leader after a write burst | no | lost-write | 1/2 | 4.0 s | 100 | — |" in text
    assert "| 1/2 | unseen |" in text  # the safe twin's false alarm and what it saw
    assert "Kafka 4.4.0" in md.read_text()


def test_first_anomaly_takes_the_smallest_op_of_the_wanted_types():
    det = _detection()
    results = {"checkers": {"queue": {"anomalies": {"lost-write": {"examples": [{"ops": [40, 12]}]}, "unseen": {"examples": [{"ops": [3]}]}}}}}
    assert det.first_anomaly(results, ["lost-write"]) == 40  # the evidence is complete at the example's last op
    assert det.first_anomaly(results) == 3
    assert det.first_anomaly({"checkers": {}}) is None


@pytest.mark.integration
@pytest.mark.slow
def test_acks1_is_caught_and_its_safe_twin_passes(prozess_clusters, tmp_path):
    """acks=1 under an isolated leader loses acknowledged writes (prozess says invalid); acks=all does not."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"docker engine unavailable: {e}")
    from prozess.cluster import ClusterSpec

    det = _detection()
    cluster = prozess_clusters.get(ClusterSpec.preset("safe"))
    cells = {c.id: c for c in det.CELLS}
    out = {}
    for cid in ("acks1", "acks1-safe"):
        [rec] = det.run_cell(cluster, cells[cid], [7], time_limit=45, results_dir=str(tmp_path))
        out[cid] = rec
        hist = (ROOT / rec["run_dir"] if not Path(rec["run_dir"]).is_absolute() else Path(rec["run_dir"])) / "history.jsonl"
        assert '"isolated"' in hist.read_text(), f"{cid}: the leader was never isolated; the campaign proved nothing"
    assert out["acks1"]["detected"], json.dumps(out["acks1"])
    assert out["acks1-safe"]["valid"] is True, json.dumps(out["acks1-safe"])


def test_first_rewrite_is_the_op_that_sees_a_second_value_at_an_offset():
    from prozess.history import Op

    det = _detection()
    ops = [
        Op(0, 0, "ok", 0, "send", [["send", "0", [0, 1]]]),
        Op(1, 1, "ok", 1, "poll", [["poll", {"0": [[0, 1]]}]]),
        Op(2, 2, "info", "nemesis", "kill", {}),
        Op(3, 3, "ok", 0, "send", [["send", "0", [1, 2]]]),
        Op(4, 4, "ok", 1, "poll", [["poll", {"0": [[0, 5]]}]]),  # offset 0 now holds 5: the log was rewritten
    ]
    assert det.first_rewrite(ops) == 4
    assert det.first_rewrite(ops[:4]) is None
