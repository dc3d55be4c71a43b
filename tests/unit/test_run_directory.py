"""One run-directory model (`prozess.store`) and one way to check a history (`prozess.checking`).

- Only the store spells the names of a run's files; every other module asks it.
- The store lists runs one way (the `prozess runs` command and the `prozess serve`
  index agree), newest first, and reads a run's JSON through one reader whose
  every failure is one clear error naming the file.
- `check_history` turns anything that goes wrong into `unknown` with the reason,
  and `run`, `check` and `report` reach the same verdict through it.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prozess.checking import check_history
from prozess.history import History, HistoryError, write_jsonl
from prozess.simulate import inject, simulate
from prozess.store import (HISTORY, HISTORY_EDN, REPORT, RESULTS, TEST, Run, StoreError, clean_results, find_run,
                           history_file, list_runs, new_run, read_json)

REPO = Path(__file__).resolve().parents[2]
# The project's modules: the package folders and the benchmarks (tests and docs may spell the names).
PROJECT = [REPO / d for d in ("prozess", "cluster", "workloads", "nemesis", "checkers", "benchmarks")]
NAMES = (HISTORY, HISTORY_EDN, TEST, RESULTS, REPORT, "client.log")


def _spelled(path: Path) -> list[tuple[int, str]]:
    """(line, literal) for each string literal in `path` that is one of the run's file names, or a path ending in one."""
    tree = ast.parse(path.read_text(), str(path))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            v = node.value
            if v in NAMES or any(v.endswith("/" + n) for n in NAMES):
                hits.append((node.lineno, v))
    return sorted(hits)


def test_only_the_store_spells_the_names_of_a_runs_files():
    found = {}
    for root in PROJECT:
        for path in sorted(root.rglob("*.py")):
            if path == REPO / "prozess" / "store.py":
                continue
            hits = _spelled(path)
            if hits:
                found[str(path.relative_to(REPO))] = hits
    assert not found, f"use prozess.store's Run paths or constants instead of spelling these names: {found}"


def test_the_spelling_check_can_fail(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text('import os\nP = os.path.join("run", "history.jsonl")\nQ = "x/results.json"\n"""docstring about test.json"""\n')
    assert _spelled(bad) == [(2, "history.jsonl"), (3, "x/results.json")]


# ------------------------------------------------------------------ the model


def test_a_run_names_its_files(tmp_path):
    run = Run(tmp_path)
    assert run.history_path == tmp_path / "history.jsonl" and run.test_path == tmp_path / "test.json"
    assert run.results_path == tmp_path / "results.json" and run.report_path == tmp_path / "report.html"
    assert run.nemesis_path.name == "nemesis.jsonl" and run.client_log_path.name == "client.log"
    assert run.nodes_dir.name == "nodes" and run.plots_dir.name == "plots"


def test_the_history_of_a_run_is_its_jsonl_else_its_edn(tmp_path):
    assert history_file(tmp_path) == tmp_path / HISTORY  # where it would be
    (tmp_path / HISTORY_EDN).write_text("[]")
    assert history_file(tmp_path) == tmp_path / HISTORY_EDN
    (tmp_path / HISTORY).write_text("")
    assert Run(tmp_path).history_file() == tmp_path / HISTORY
    assert history_file(tmp_path / "h.edn") == tmp_path / "h.edn"  # a file is itself


def _run(path: Path, **files: str) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_listing_finds_every_run_once_newest_first(tmp_path):
    root = tmp_path / "results"
    a = new_run(root, "a", now=1_700_000_000)
    b = new_run(root, "b", now=1_700_000_100)
    b2 = new_run(root, "b", now=1_700_000_100)  # same second: b's second run, named ...Z-2
    loose = _run(root / "imported", **{TEST: json.dumps({"started": "2023-11-14T22:15:00Z"})})  # a run placed directly in root
    named = _run(root / "c" / "by-hand", **{HISTORY: ""})  # not named by time: its mtime orders it
    os.utime(named, (1_600_000_000, 1_600_000_000))
    _run(root / "c" / "notes")  # not a run: holds none of a run's files
    _run(root / ".x.new.123" / "20240101T000000Z", **{TEST: "{}"})  # a half-built directory of replace_dir
    (root / "elsewhere").symlink_to(b.path)  # symlinks (latest too) are never entered
    runs = [r.path for r in list_runs(root)]
    assert runs == [b2.path, b.path, loose, a.path, named]
    assert [r["run"] for r in __import__("prozess.report.index", fromlist=["list_runs"]).list_runs(root)] == \
        [p.relative_to(root).as_posix() for p in runs]  # the index lists the same runs in the same order
    assert list_runs(tmp_path / "nope") == []


def test_clean_results_removes_what_the_listing_finds(tmp_path):
    root = tmp_path / "results"
    run = new_run(root, "t", now=1_700_000_000)
    _run(root / "t" / "notes", **{"x.txt": "keep"})
    removed = clean_results(root)
    assert removed == [run.path] and (root / "t" / "notes" / "x.txt").exists()


def test_find_run_by_directory_latest_or_name(tmp_path):
    run = new_run(tmp_path, "t", now=1_700_000_000)
    run.write_results({"valid": True})
    assert find_run(run.path).path == run.path.resolve()
    assert find_run("latest", tmp_path).path == run.path.resolve()
    with pytest.raises(StoreError, match="no such run"):
        find_run("t/19990101T000000Z", tmp_path)


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_text("{half"), "not valid JSON"),
    (lambda p: p.write_bytes(b"[" * 100_000), "not valid JSON"),  # deeper than the decoder goes: no RecursionError
    (lambda p: p.write_bytes(b"\xff\xfe{}"), "not valid JSON"),
    (lambda p: p.mkdir(), "regular file"),
    (lambda p: os.mkfifo(p), "regular file"),  # refused at once, never waited on
    (lambda p: p.symlink_to(p.parent / "gone"), "no such file"),
])
def test_a_bad_json_file_is_one_clear_error_naming_it(tmp_path, make, problem):
    path = tmp_path / RESULTS
    make(path)
    with pytest.raises(StoreError, match=problem) as e:
        read_json(path)
    assert str(e.value).startswith(str(path))


def test_a_json_file_that_is_not_an_object_is_named_too(tmp_path):
    run = Run(tmp_path)
    run.test_path.write_text("[1, 2]")
    with pytest.raises(StoreError, match="test.json: holds a JSON list"):
        run.test()
    assert read_json(tmp_path / "absent.json") is None


def test_every_reader_of_a_run_uses_the_one_reader(tmp_path):
    """The same damaged test.json: `check` refuses it, `report` warns and goes on, `runs` and the index say unreadable."""
    from prozess.cli import app
    from prozess.report.index import list_runs as index_runs
    from prozess.report.run import load_run

    root = tmp_path / "results"
    run = new_run(root, "t", now=1_700_000_000)
    write_jsonl(simulate(40, seed=3), run.history_path)
    os.mkfifo(run.test_path)
    r = CliRunner().invoke(app, ["check", str(run.path)])
    assert r.exit_code == 2 and "test.json: is a FIFO" in r.output
    data = load_run(run.path)
    assert any("test.json could not be read" in w and "FIFO" in w for w in data.warnings)
    (row,) = index_runs(root)
    assert row["problems"] == ["test.json"]
    r = CliRunner().invoke(app, ["runs", "--results-dir", str(root)])
    assert r.exit_code == 0 and "unreadable" in r.output


# ------------------------------------------------------------------ the check


def test_a_checker_that_raises_gives_unknown_with_the_reason(monkeypatch):
    import prozess.checkers as checkers

    def boom(h, t, a):
        raise RuntimeError("the queue checker broke")

    monkeypatch.setitem(checkers.CHECKERS, "queue", boom)
    history = History(simulate(60, seed=1))
    result, n = check_history(history)
    assert n == len(history) and result["valid"] == "unknown"
    assert "the queue checker broke" in result["checkers"]["queue"]["error"]


def test_a_crash_outside_the_checkers_gives_unknown_with_the_reason(monkeypatch):
    import prozess.checkers as checkers

    def crash(*a, **k):
        raise MemoryError("no room")

    monkeypatch.setattr(checkers, "check", crash)
    result = check_history(History(simulate(20, seed=1))).result
    assert result["valid"] == "unknown" and result["error"] == "checker raised MemoryError: no room"


def test_bad_input_raises_only_when_strict(tmp_path):
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"index": 0, "time": 0, "type": "bogus", "process": 0, "f": "poll"}\n')
    with pytest.raises(HistoryError):
        check_history(bad, strict=True)
    assert check_history(bad).result["error"].startswith("history unreadable: ")
    good = History(simulate(20, seed=1))
    with pytest.raises(ValueError, match="unknown checker"):
        check_history(good, names=["nope"], strict=True)
    assert check_history(good, names=["nope"]).result["valid"] == "unknown"


@pytest.mark.parametrize("injected, verdict, code", [(None, True, 0), ("lost-write", False, 1)])
def test_run_check_and_report_reach_the_same_verdict(tmp_path, injected, verdict, code):
    from prozess.cli import app
    from prozess.report.run import load_run
    from prozess.runner import _check as run_check  # the verdict step of `prozess run` and the pytest plugin

    ops = simulate(300, seed=2)
    if injected:
        ops = inject(ops, injected, seed=1)
    run = new_run(tmp_path, "same", now=1_700_000_000)
    write_jsonl(ops, run.history_path)
    test = {"name": "same", "workload": "queue", "seed": 2}
    run.write_test(test)
    by_run = run_check(run.path, test)
    r = CliRunner().invoke(app, ["check", "--json", str(run.path)])
    by_check = json.loads(r.stdout)
    data = load_run(run.path)  # no results.json: the report checks the history itself
    assert data.results_recomputed
    assert by_run["valid"] is verdict and by_check["valid"] is verdict and data.results["valid"] is verdict
    assert r.exit_code == code
    assert by_run["anomaly-types"] == by_check["anomaly-types"] == data.results["anomaly-types"]


def test_a_run_without_ops_is_unknown_not_an_error(tmp_path):
    from prozess.runner import _check as run_check

    run = new_run(tmp_path, "t")
    result = run_check(run.path, {})
    assert result["valid"] == "unknown" and "no ops recorded" in result["error"]
