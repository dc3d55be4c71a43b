"""Every fault a run asks for happens, or the run says so (real 3-node cluster, real faults).

- The quick-start mix (`partition+kill`, default nemesis options, seed 1: its schedule aims a
  partition and two kills at `leader`) and a `pause` campaign apply every scheduled action: live
  targets resolve against the run's own topics.
- A leader target on a topic that does not exist cannot be applied: the run ends `unknown`
  and says why.
"""

from __future__ import annotations

import json

import pytest

from prozess.runner import run_test
from prozess.spec import TestSpec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _spec(tmp_path, name, faults, *, seed, time_limit, nemesis=None):
    return TestSpec.from_dict(
        {
            "name": name,
            "faults": faults,
            "time_limit": time_limit,
            "seed": seed,
            "rate": 100,
            "concurrency": 4,
            "results_dir": str(tmp_path),
            "nemesis": nemesis or {},
        }
    )


@pytest.mark.parametrize(
    "name, faults, seed, time_limit, nemesis",
    [
        ("quickstart-mix", ["partition+kill"], 1, 40, {}),
        ("pause", ["pause"], 2, 30, {"interval": 6, "quiet": 6}),
    ],
)
def test_default_campaigns_apply_every_scheduled_action(prozess_clusters, tmp_path, name, faults, seed, time_limit, nemesis):
    spec = _spec(tmp_path, name, faults, seed=seed, time_limit=time_limit, nemesis=nemesis)
    cluster = prozess_clusters.get(spec.cluster_spec())
    out = run_test(spec, cluster=cluster, progress=False)
    acc = out.results["faults"]
    assert acc["kinds"], acc
    for kind, e in acc["kinds"].items():
        assert e["scheduled"] > 0 and e["applied"] == e["scheduled"] and e["failed"] == 0, (kind, e["failures"])
        assert len(e["windows"]) == e["applied"], (kind, e["windows"])
    live = [a for a in acc["actions"] if a["side"] == "start"]
    assert all(a["outcome"] == "applied" for a in live), live
    if name == "quickstart-mix":
        # the draw of seed 1 aims at live targets; each hit a node and names the partition it led
        history = [json.loads(line) for line in (out.run_dir / "history.jsonl").read_text().splitlines()]
        hits = [o["value"]["live-targets"] for o in history if o["process"] == "nemesis" and isinstance(o["value"], dict) and o["value"].get("live-targets")]
        assert hits, "seed 1 should draw leader/controller targets"
        prefix = json.loads((out.run_dir / "test.json").read_text())["topics"]["prefix"]
        assert all(h["of"] == "controller" or h["of"].startswith(prefix) for hit in hits for h in hit), hits
    assert out.valid is True, out.results.get("error")


def test_a_leader_target_on_a_missing_topic_ends_unknown_with_the_reason(prozess_clusters, tmp_path):
    spec = _spec(tmp_path, "missing-topic", ["kill"], seed=3, time_limit=14,
                 nemesis={"targets": ["leader"], "topic": "no-such-topic", "interval": 6, "quiet": 4})
    cluster = prozess_clusters.get(spec.cluster_spec())
    out = run_test(spec, cluster=cluster, progress=False)
    kill = out.results["faults"]["kinds"]["kill"]
    assert kill["applied"] == 0 and kill["failed"] >= 1 and kill["windows"] == []
    assert out.valid == "unknown"
    assert "fault kill never took effect" in out.results["error"] and "no-such-topic" in out.results["error"]
    saved = json.loads((out.run_dir / "results.json").read_text())
    assert saved["faults-not-applied"]["kill"] == out.results["faults-not-applied"]["kill"]


def test_a_run_that_cannot_work_stops_early_with_the_error(prozess_clusters, tmp_path):
    """Every op fails before it is sent (an illegal topic name): the run ends after seconds, not the time limit."""
    import time

    spec = TestSpec.from_dict({"name": "cannot-work", "time_limit": 120, "seed": 4, "rate": 100, "concurrency": 4,
                               "results_dir": str(tmp_path), "workload_options": {"topic_prefix": "bad@name"}})
    cluster = prozess_clusters.get(spec.cluster_spec())
    t0 = time.monotonic()
    out = run_test(spec, cluster=cluster, progress=False)
    assert time.monotonic() - t0 < 60
    assert out.valid == "unknown"
    assert "failed the same way" in out.error and "topic setup" in out.error and "the run stopped early" in out.error
