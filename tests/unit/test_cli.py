"""The command line: exit codes, clear errors on bad input, conversions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from prozess.cli import app
from prozess.edn import read_edn
from prozess.history import Op, read_jsonl, write_jsonl

runner = CliRunner()

VALID = [
    Op(0, 0, "invoke", 0, "send", [["send", "x", 1]]),
    Op(1, 1, "ok", 0, "send", [["send", "x", [0, 1]]]),
    Op(2, 2, "invoke", 1, "poll", [["poll"]]),
    Op(3, 3, "ok", 1, "poll", [["poll", {"x": [[0, 1]]}]]),
]
# x=1 was acknowledged at offset 0, yet a later poll reads offset 1 (x=2) and never x=1: a lost write.
LOST = [
    Op(0, 0, "invoke", 0, "send", [["send", "x", 1]]),
    Op(1, 1, "ok", 0, "send", [["send", "x", [0, 1]]]),
    Op(2, 2, "invoke", 0, "send", [["send", "x", 2]]),
    Op(3, 3, "ok", 0, "send", [["send", "x", [1, 2]]]),
    Op(4, 4, "invoke", 1, "assign", ["x"]),
    Op(5, 5, "ok", 1, "assign", ["x"]),
    Op(6, 6, "invoke", 1, "poll", [["poll"]]),
    Op(7, 7, "ok", 1, "poll", [["poll", {"x": [[1, 2]]}]]),
]


def test_help_lists_commands():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("setup", "runs", "check", "report", "serve", "history"):
        assert cmd in r.output


def test_check_valid_history_exits_0(tmp_path):
    write_jsonl(VALID, tmp_path / "h.jsonl")
    r = runner.invoke(app, ["check", str(tmp_path / "h.jsonl"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["valid"] is True


def test_check_invalid_history_exits_1_and_names_anomaly(tmp_path):
    write_jsonl(LOST, tmp_path / "h.jsonl")
    r = runner.invoke(app, ["check", str(tmp_path / "h.jsonl"), "--json"])
    assert r.exit_code == 1, r.output
    result = json.loads(r.stdout)
    assert result["valid"] is False and "lost-write" in result["anomaly-types"]


def test_check_bad_input_exits_2_and_writes_nothing(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "poll"}\n{"index": 1, "time": 0, "type": "ok", "process": 7, "f": "poll"}\n')
    before = path.read_bytes()
    r = runner.invoke(app, ["check", str(path)])
    assert r.exit_code == 2
    assert f"{path}:2: ok completion of 'poll' by process 7 has no invocation" in r.output
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.jsonl"]


def test_check_missing_file_and_unknown_format_exit_2(tmp_path):
    assert runner.invoke(app, ["check", str(tmp_path / "missing.jsonl")]).exit_code == 2
    (tmp_path / "h.txt").write_text("x")
    r = runner.invoke(app, ["check", str(tmp_path / "h.txt")])
    assert r.exit_code == 2 and "unknown history format" in r.output


def test_check_edn_history(tmp_path):
    from prozess.edn import write_edn

    write_edn(LOST, tmp_path / "h.edn")
    r = runner.invoke(app, ["check", str(tmp_path / "h.edn"), "--json"])
    assert r.exit_code == 1, r.output


def test_convert_round_trip_and_refuses_overwrite(tmp_path):
    write_jsonl(VALID, tmp_path / "h.jsonl")
    assert runner.invoke(app, ["history", "convert", str(tmp_path / "h.jsonl"), str(tmp_path / "h.edn")]).exit_code == 0
    assert list(read_edn(tmp_path / "h.edn")) == VALID
    r = runner.invoke(app, ["history", "convert", str(tmp_path / "h.edn"), str(tmp_path / "h.jsonl")])
    assert r.exit_code == 2 and "--force" in r.output
    assert list(read_jsonl(tmp_path / "h.jsonl")) == VALID


def test_history_show_filters_by_key_and_process(tmp_path):
    write_jsonl(LOST, tmp_path / "h.jsonl")
    r = runner.invoke(app, ["history", "show", str(tmp_path / "h.jsonl"), "--process", "1"])
    assert r.exit_code == 0
    assert len(r.output.strip().splitlines()) == 4
    r = runner.invoke(app, ["history", "show", str(tmp_path / "h.jsonl"), "--key", "y"])
    assert r.output.strip() == ""


def test_console_script_usage_error_exits_2():
    r = subprocess.run([sys.executable, "-m", "prozess", "check"], capture_output=True, text=True)
    assert r.returncode == 2


def test_save_makes_a_portable_regression_case(tmp_path):
    from prozess.store import new_run

    run = new_run(tmp_path / "results", "lost")
    write_jsonl(LOST, run.history_path)
    run.write_test({"name": "lost", "seed": 3, "results_dir": str(tmp_path / "results")})
    dest = tmp_path / "cases" / "lost"
    r = runner.invoke(app, ["save", str(run.path), str(dest), "--note", "acks=1 loss"])
    assert r.exit_code == 0, r.output
    expected = json.loads((dest / "expected.json").read_text())
    assert expected["valid"] is False and "lost-write" in expected["anomaly-types"] and expected["note"] == "acks=1 loss"
    assert "results_dir" not in json.loads((dest / "test.json").read_text())
    assert list(read_jsonl(dest / "history.jsonl")) == LOST
    again = runner.invoke(app, ["save", str(run.path), str(dest)])
    assert again.exit_code == 2 and "--force" in again.output


@pytest.mark.parametrize("argv, message", [
    (["--kafka-version", "3.6.2"], "outside the supported range"),
    (["--kafka-version", "4.4.0", "--metadata", "zookeeper"], "no ZooKeeper mode"),
    (["--kafka-version", "3.9.1", "--metadata", "etcd"], "metadata"),
    (["--kafka-version", "next"], "not a release number"),
])
def test_run_with_an_unsupported_kafka_version_exits_2_before_starting_anything(tmp_path, argv, message):
    r = runner.invoke(app, ["run", *argv, "--results-dir", str(tmp_path / "results")])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("argv", [["--kafka-version", "3.6.2"], ["--kafka-version", "4.1.0", "--metadata", "zookeeper"]])
def test_cluster_up_with_an_unsupported_kafka_version_exits_2(argv):
    from prozess.cluster.cli import app as cluster_app

    r = runner.invoke(cluster_app, ["up", "--backend", "docker", *argv])
    if "no docker engine" in r.output:
        pytest.skip("no docker engine: the backend is refused before the version")
    assert r.exit_code == 2, r.output
    assert "3.7.x to 4.4.x" in r.output or "no ZooKeeper mode" in r.output


def test_check_prints_progress_on_long_histories(tmp_path, monkeypatch):
    """A long history's check says on stderr how far reading got and how many ops it checked."""
    import prozess.cli as cli
    from prozess.simulate import simulate

    write_jsonl(simulate(400, seed=2), tmp_path / "h.jsonl")
    monkeypatch.setattr(cli, "PROGRESS_BYTES", 0)
    r = runner.invoke(app, ["check", str(tmp_path / "h.jsonl")])
    assert r.exit_code == 0, r.output
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert "read 100%" in err and "checked" in err
    assert "checker queue" in err  # each step of the check, not only reading


def test_check_progress_is_quiet_until_the_check_takes_long():
    """Progress lines wait until the check has run a while: a short check (a test, a script) prints none."""
    import io

    from prozess.columnar import progress_printer

    out = io.StringIO()
    p = progress_printer(out)  # not a terminal: quiet for the first 10 s
    p(50, 100)
    p.phase("checker queue")
    assert out.getvalue() == ""
    p.t0 -= 11  # as if the check had run 11 s
    p(100, 100)
    p.phase("checker txn")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("read 100% (0 of 0 MB)") and lines[1].endswith("checker txn")
