"""A healthy safe 3-node cluster: a short run records a history the checkers find valid, with both clients.

The done-when asks for 60 s; the suite runs 20 s each (the 60 s runs are the
manual commands in docs/architecture.md).
"""

from __future__ import annotations

import json

import pytest
from cluster3 import cluster3  # noqa: F401  (fixture)

from prozess.history import read_jsonl
from prozess.runner import run_test
from prozess.spec import TestSpec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_healthy_run_is_valid(cluster3, client, tmp_path):
    spec = TestSpec(
        name=f"healthy-{client}", time_limit=20, rate=200, concurrency=10, seed=11, results_dir=str(tmp_path),
        workload_options={"topic_prefix": f"healthy-{client.replace('-', '')}", "final_time_limit_s": 20},
    )
    spec.client["library"] = client
    out = run_test(spec, cluster=cluster3, progress=False)
    res = json.loads((out.run_dir / "results.json").read_text())
    assert out.valid is True, json.dumps({k: v for k, v in res.items() if k != "checkers"} | {"checkers": {n: {"valid": r.get("valid"), "anomaly-types": r.get("anomaly-types")} for n, r in res.get("checkers", {}).items()}})
    assert res["run"]["interrupted"] is False and res["run"]["error"] is None
    h = read_jsonl(out.run_dir / "history.jsonl")
    by = {}
    for op in h:
        if op.type == "ok":
            by[op.f] = by.get(op.f, 0) + 1
    assert by.get("send", 0) > 500 and by.get("poll", 0) > 500 and by.get("assign", 0) >= 10
    test = json.loads((out.run_dir / "test.json").read_text())
    assert test["seed"] == 11 and test["client"]["library"] == client and test["cluster"]["min_insync_replicas"] == 2
    assert test["versions"]["confluent_kafka"] and test["finished"]
    assert (out.run_dir / "nodes").is_dir() and any((out.run_dir / "nodes").iterdir())  # node logs collected
