"""`prozess replay` repeats a stored run's fault schedule exactly (real cluster, real faults)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prozess.replay import nemesis_sequence, replay_run
from prozess.runner import run_test
from prozess.spec import TestSpec
from prozess.store import read_history

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_replay_repeats_the_recorded_fault_schedule(prozess_clusters, tmp_path):
    spec = TestSpec.from_dict(
        {
            "name": "replay-kill-partition",
            "faults": ["kill", "partition"],
            "time_limit": 24,
            "seed": 11,
            "rate": 100,
            "concurrency": 4,
            "results_dir": str(tmp_path),
            "nemesis": {"interval": 6, "duty": 0.5, "quiet": 4},
            "workload_options": {"topic_prefix": "replay"},
        }
    )
    cluster = prozess_clusters.get(spec.cluster_spec())
    first = run_test(spec, cluster=cluster, progress=False)
    saved = json.loads((first.run_dir / "test.json").read_text())
    assert saved["nemesis_schedule"], "the first run must save the schedule it drew"
    original = nemesis_sequence(read_history(first.run_dir))
    assert len(original) >= 4, original

    result = replay_run(first.run_dir, cluster=cluster)

    assert result["same-schedule"], (original, nemesis_sequence(read_history(result["replay"])))
    replay_test = json.loads((Path(result["replay"]) / "test.json").read_text())
    assert replay_test["seed"] == 11 and replay_test["replay_of"] == str(first.run_dir)
    assert replay_test["nemesis_schedule"] == saved["nemesis_schedule"]
