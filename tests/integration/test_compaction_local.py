"""The compaction workload against a real single-node KRaft Kafka on 127.0.0.1, checked end to end.

A short campaign through the pytest plugin and the real runner (`--bootstrap`
semantics: no faults): the cleaner must really run (the final reads miss
offsets) and the verdict must be valid. Prints its figures.
"""

from __future__ import annotations

import time

import pytest

from local_kafka import LocalKafka, start_or_skip
from prozess.history import read_history

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def kafka():
    k = start_or_skip(LocalKafka())
    try:
        yield k
    finally:
        k.stop()


def test_compaction_campaign_on_a_real_broker_is_valid_and_the_cleaner_ran(kafka, tmp_path, prozess_campaign):
    """Through the pytest plugin's campaign fixture, which drives the real runner."""
    t0 = time.monotonic()
    c = prozess_campaign(workload="compaction", bootstrap=kafka.bootstrap, time_limit=15, rate=100, concurrency=4, seed=5,
                         results_dir=str(tmp_path), cluster={"replication_factor": 1, "min_insync_replicas": 1},
                         workload_options={"keys": 12, "delete_retention_ms": 4000, "compaction_wait_s": 20})
    wall = time.monotonic() - t0
    history = read_history(c.run_dir / "history.jsonl")
    r = c.results["checkers"]["compaction"]
    print(f"\ncompaction campaign: {len(history.ops)} ops in {wall:.1f}s, compaction {r.get('compaction')}, "
          f"verdict {c.valid}, report {c.report}")
    assert c.valid is True, c.results
    assert r["compaction"]["offsets-removed"] > 0 and r["compaction"]["final-reads"] == 4
    fs = {op.f for op in history.ops if op.type == "ok"}
    assert {"put", "delete", "read-all"} <= fs
    assert c.report is not None
