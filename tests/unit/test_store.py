"""The run store: run directories, the latest link, listing and lookup."""

from __future__ import annotations

import pytest

from prozess.store import StoreError, find_run, list_runs, new_run


def test_new_run_layout_and_latest(tmp_path):
    run = new_run(tmp_path, "queue safe/acks=all", now=1_700_000_000)
    assert run.path.parent.name == "queue-safe-acks=all"
    assert run.timestamp == "20231114T221320Z"
    assert run.nodes_dir.is_dir()
    assert (tmp_path / "latest").resolve() == run.path.resolve()
    second = new_run(tmp_path, "queue safe/acks=all", now=1_700_000_000)
    assert second.path.name == "20231114T221320Z-2"
    assert (tmp_path / "latest").resolve() == second.path.resolve()


def test_runs_list_newest_first_with_verdicts(tmp_path):
    a = new_run(tmp_path, "a", now=1_700_000_000)
    b = new_run(tmp_path, "b", now=1_700_000_100)
    a.write_test({"name": "a", "seed": 1, "duration-s": 3.5})
    a.write_results({"valid": False, "anomaly-types": ["lost-write"], "checkers": {"queue": {"valid": False, "anomaly-types": ["lost-write"], "anomalies": {"lost-write": {"count": 2}, "unseen": {"count": 1}}}}})
    runs = list_runs(tmp_path)
    assert [r.path for r in runs] == [b.path, a.path]
    row = runs[1].summary()
    assert row["valid"] is False and row["anomalies"] == {"lost-write": 2} and row["seed"] == 1
    assert runs[0].summary()["valid"] is None


def test_find_run_by_path_latest_and_name(tmp_path):
    run = new_run(tmp_path, "t", now=1_700_000_000)
    (run.path / "history.jsonl").write_text("")
    assert find_run(run.path).path == run.path.resolve()
    assert find_run("latest", tmp_path).path == run.path.resolve()
    assert find_run("t/20231114T221320Z", tmp_path).path == run.path.resolve()
    with pytest.raises(StoreError, match="no such run"):
        find_run("nope", tmp_path)


def test_corrupt_results_is_a_clear_error(tmp_path):
    run = new_run(tmp_path, "t")
    run.results_path.write_text("{half")
    with pytest.raises(StoreError, match="results.json: not valid JSON"):
        run.results()
