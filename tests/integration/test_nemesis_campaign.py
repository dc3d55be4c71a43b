"""A 2-minute campaign on the safe preset under partitions, kills, pauses and clock skew.

The whole harness at once: a real 3-node cluster, the queue workload through a
real client, the runner driving the nemesis. Acked writes must survive (the
checkers say valid) and the history must hold both edges of every fault kind.
The schedule is drawn with `make_schedule` from the first seed that uses every
kind and handed to the run as a saved schedule, which also proves that a saved
schedule is replayed step for step.
"""

from __future__ import annotations

import json
import random

import pytest

from prozess.nemesis.schedule import START_STOP, make_schedule

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KINDS = ["partition", "kill", "pause", "clock"]
TIME_LIMIT = 120
OPTIONS = {"interval": 10, "duty": 0.5, "quiet": 10}


def schedule_with_every_kind() -> list[dict]:
    for seed in range(200):
        steps = make_schedule(",".join(KINDS), nodes=["n1", "n2", "n3"], time_limit=TIME_LIMIT, rng=random.Random(seed), options=OPTIONS)
        fs = {s["f"] for s in steps}
        if all(START_STOP[k][0] in fs or (k == "clock" and "strobe-clock" in fs) for k in KINDS) and "bump-clock" in fs:
            return steps
    raise AssertionError("no seed below 200 draws every fault kind")


def test_safe_campaign_under_partition_kill_pause_clock_is_valid_and_records_every_fault(tmp_path):
    from prozess.checkers import summary
    from prozess.history import read_history
    from prozess.runner import run_test
    from prozess.spec import TestSpec

    steps = schedule_with_every_kind()
    spec = TestSpec.from_dict(
        {
            "name": "nemesis-safe-campaign",
            "workload": "queue",
            "seed": 11,
            "time_limit": TIME_LIMIT,
            "preset": "safe",
            "client": {"acks": "all", "idempotence": True},
            "faults": KINDS,
            "nemesis": OPTIONS,
            "nemesis_schedule": steps,
            "results_dir": str(tmp_path),
        }
    )
    outcome = run_test(spec, progress=False)
    history = read_history(outcome.run_dir / "history.jsonl")
    nemesis_ops = [op for op in history if op.process == "nemesis"]
    fs = [op.f for op in nemesis_ops]
    # every scheduled step was invoked and completed, in order
    assert [f for f in fs if f != "heal-all"][::2] == [s["f"] for s in steps], fs
    for kind in KINDS:
        start, stop = START_STOP[kind]
        assert (start in fs or (kind == "clock" and "strobe-clock" in fs)) and stop in fs, (kind, fs)
    errors = [op for op in nemesis_ops if isinstance(op.value, dict) and op.value.get("error") or op.error]
    assert not errors, errors
    assert (outcome.run_dir / "nemesis.jsonl").stat().st_size > 0
    # the window pairing is saved with the run: readers need not import the nemesis
    saved = json.loads((outcome.run_dir / "test.json").read_text())["fault_edges"]
    assert saved["kill"] == ["kill", "start"] and saved["start"] == ["kill", "stop"] and saved["strobe-clock"] == ["clock", "start"]
    assert {k for k, _ in saved.values()} == set(KINDS)
    assert outcome.results["faults"]["edges"]["resume"] == ["pause", "stop"]
    assert outcome.valid is True, summary(outcome.results)
