"""Writes never destroy what is there: conversions, results, plots, saved cases, reports, clean-results, `latest`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prozess.cli import app
from prozess.history import Op, read_jsonl, write_jsonl
from prozess.store import StoreError, atomic_write, clean_results, new_run, write_json

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

OPS = [
    Op(0, 0, "invoke", 0, "send", [["send", "x", 1]]),
    Op(1, 1_000_000, "ok", 0, "send", [["send", "x", [0, 1]]]),
    Op(2, 2_000_000, "invoke", 1, "poll", [["poll"]]),
    Op(3, 3_000_000, "ok", 1, "poll", [["poll", {"x": [[0, 1]]}]]),
]


def _history(path: Path, ops=OPS) -> Path:
    write_jsonl(ops, path)
    return path


# ---------------------------------------------------------------- history convert


def test_convert_refuses_to_write_onto_its_input(tmp_path):
    src = _history(tmp_path / "self.jsonl")
    before = src.read_bytes()
    r = runner.invoke(app, ["history", "convert", str(src), str(src), "--force"])
    assert r.exit_code == 2 and "is the input itself" in r.output
    assert src.read_bytes() == before
    # also through another name for the same file
    (tmp_path / "link.jsonl").symlink_to(src)
    r = runner.invoke(app, ["history", "convert", str(src), str(tmp_path / "link.jsonl"), "--force"])
    assert r.exit_code == 2 and src.read_bytes() == before


def test_convert_that_fails_half_way_leaves_the_old_output_whole(tmp_path, monkeypatch):
    """A write that fails on the third op (a full disk, simulated by a failing encoder: no real disk
    here fills on command) leaves DEST with its old content and no temporary file behind."""
    import errno

    import prozess.history as history_module

    src = tmp_path / "in.edn"
    src.write_text(
        "{:index 0 :time 0 :type :invoke :process 0 :f :send :value [[:send :x 1]]}\n"
        "{:index 1 :time 1 :type :ok :process 0 :f :send :value [[:send :x [0 1]]]}\n"
        "{:index 2 :time 2 :type :invoke :process 0 :f :send :value [[:send :x 2]]}\n"
    )
    dest = _history(tmp_path / "out.jsonl")
    before = dest.read_bytes()
    real_dumps, calls = history_module._dumps, []

    def dumps_until_full(obj):
        calls.append(obj)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_dumps(obj)

    monkeypatch.setattr(history_module, "_dumps", dumps_until_full)
    r = runner.invoke(app, ["history", "convert", str(src), str(dest), "--force"])
    assert r.exit_code == 2 and "unchanged" in r.output, r.output
    assert len(calls) == 3
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_convert_replaces_dest_atomically_and_round_trips(tmp_path):
    src = _history(tmp_path / "in.jsonl")
    dest = tmp_path / "out.jsonl"
    dest.write_text("old\n")
    r = runner.invoke(app, ["history", "convert", str(src), str(dest), "--force"])
    assert r.exit_code == 0, r.output
    assert read_jsonl(dest).ops == OPS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_convert_into_a_missing_directory_is_a_clear_error(tmp_path):
    src = _history(tmp_path / "in.jsonl")
    r = runner.invoke(app, ["history", "convert", str(src), str(tmp_path / "no" / "such" / "out.edn")])
    assert r.exit_code == 2 and "no such directory" in r.output
    r = runner.invoke(app, ["history", "convert", str(src), str(tmp_path)])
    assert r.exit_code == 2


# ---------------------------------------------------------------- fixed temporary names


def test_write_json_does_not_follow_a_planted_temporary_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json.tmp").symlink_to(victim)
    write_json(run / "results.json", {"valid": True})
    assert victim.read_text() == "precious\n"
    assert json.loads((run / "results.json").read_text()) == {"valid": True}


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("crash half-way")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_report_does_not_write_through_planted_plot_and_report_symlinks(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run = tmp_path / "run"
    run.mkdir()
    _history(run / "history.jsonl")
    (run / "plots").mkdir()
    for name in ("latency.svg", "throughput.svg", ".report.html.tmp", "report.html.tmp"):
        (run / "plots" / name).symlink_to(victim)
        (run / name).symlink_to(victim)
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "precious\n"
    assert (run / "plots" / "latency.svg").is_file() and not (run / "plots" / "latency.svg").is_symlink()


def test_report_refuses_a_plots_symlink(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    _history(run / "history.jsonl")
    (run / "plots").symlink_to(elsewhere)
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 2 and "symlink" in r.output
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------- save --force


def _save(*args: str):
    return runner.invoke(app, ["save", *args])


def test_save_force_replaces_a_case_whole(tmp_path):
    jsonl = _history(tmp_path / "h.jsonl")
    case = tmp_path / "case"
    assert _save(str(jsonl), str(case)).exit_code == 0
    assert sorted(p.name for p in case.iterdir()) == ["expected.json", "history.jsonl"]
    edn = tmp_path / "h.edn"
    assert runner.invoke(app, ["history", "convert", str(jsonl), str(edn)]).exit_code == 0
    r = _save(str(edn), str(case), "--force")
    assert r.exit_code == 0, r.output
    # the old history.jsonl is gone: the case holds the new history only
    assert sorted(p.name for p in case.iterdir()) == ["expected.json", "history.edn"]
    assert oct(case.stat().st_mode & 0o777) != oct(0o700)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_without_force_or_onto_a_folder_that_is_no_case_is_refused(tmp_path):
    jsonl = _history(tmp_path / "h.jsonl")
    case = tmp_path / "case"
    assert _save(str(jsonl), str(case)).exit_code == 0
    r = _save(str(jsonl), str(case))
    assert r.exit_code == 2 and "--force" in r.output
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    r = _save(str(jsonl), str(precious), "--force")
    assert r.exit_code == 2 and "not a regression case" in r.output
    assert (precious / "notes.txt").read_text() == "mine"


def test_save_that_fails_leaves_the_old_case(tmp_path):
    jsonl = _history(tmp_path / "h.jsonl")
    case = tmp_path / "case"
    assert _save(str(jsonl), str(case)).exit_code == 0
    before = {p.name: p.read_bytes() for p in case.iterdir()}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    r = _save(str(bad), str(case), "--force")
    assert r.exit_code == 2
    assert {p.name: p.read_bytes() for p in case.iterdir()} == before


# ---------------------------------------------------------------- report beside a history


def test_report_beside_a_history_does_not_replace_an_existing_report(tmp_path):
    h = _history(tmp_path / "h.jsonl")
    (tmp_path / "report.html").write_text("someone else's report")
    r = runner.invoke(app, ["report", str(h)])
    assert r.exit_code == 2 and "--force" in r.output
    assert (tmp_path / "report.html").read_text() == "someone else's report"
    r = runner.invoke(app, ["report", str(h), "--force"])
    assert r.exit_code == 0 and "<html" in (tmp_path / "report.html").read_text()


def test_report_out_onto_an_existing_file_is_a_clear_error(tmp_path):
    h = _history(tmp_path / "h.jsonl")
    out = tmp_path / "out.html"
    out.write_text("keep")
    p = subprocess.run([sys.executable, "-m", "prozess", "report", str(h), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "not a directory" in p.stderr and out.read_text() == "keep"


def test_report_of_a_run_directory_is_rebuilt_in_place(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _history(run / "history.jsonl")
    (run / "report.html").write_text("stale")
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0 and (run / "report.html").read_text() != "stale"


# ---------------------------------------------------------------- clean-results and `latest`


def _results_tree(root: Path) -> None:
    for rel in ("t/20260101T000000Z", "t/20260102T000000Z", "u/20260101T000000Z", "plain-run"):
        (root / rel).mkdir(parents=True)
    (root / "t/20260101T000000Z/test.json").write_text("{}")
    (root / "t/20260102T000000Z/history.jsonl").write_text("")
    (root / "u/20260101T000000Z/test.json").write_text("{}")
    (root / "plain-run/history.jsonl").write_text("")
    (root / "u" / "notes").mkdir()  # not a run: stays, and keeps u/ alive
    (root / "keep-me").mkdir()
    (root / "keep-me" / "data.csv").write_text("1,2\n")
    (root / "README.md").write_text("runs go here\n")
    (root / "latest").symlink_to("t/20260102T000000Z")


def test_clean_results_deletes_only_run_directories(tmp_path):
    root = tmp_path / "results"
    _results_tree(root)
    outside = tmp_path / "outside-run"
    outside.mkdir()
    (outside / "test.json").write_text("{}")
    (root / "linked").symlink_to(outside)
    removed = clean_results(root)
    assert len(removed) == 4
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "keep-me", "linked", "u"]
    assert (root / "keep-me" / "data.csv").exists() and (root / "u" / "notes").is_dir()
    assert (outside / "test.json").exists()  # a symlink is never followed


def test_make_clean_results_honours_prozess_results_dir(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = tmp_path / "elsewhere"
    _results_tree(root)
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "PROZESS_RESULTS_DIR": str(root)}
    p = subprocess.run(["make", "-s", "-C", str(REPO), "clean-results", f"VENV={venv}"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in root.iterdir()) == ["README.md", "keep-me", "u"]
    assert (REPO / "results").exists()  # the repository's own results dir was not the target


def test_a_test_named_latest_is_refused(tmp_path):
    with pytest.raises(StoreError, match="reserved"):
        new_run(tmp_path, "latest")
    assert not (tmp_path / "latest").exists()
    from prozess.spec import SpecError, TestSpec

    with pytest.raises(SpecError, match="reserved"):
        TestSpec(name="latest").validate()
    r = new_run(tmp_path, "latest-ish")
    assert r.path.parent.name == "latest-ish"
