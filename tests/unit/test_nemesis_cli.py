"""`prozess heal` as a user meets it without a cluster: clear errors, exit code 2."""

from __future__ import annotations

from typer.testing import CliRunner

from prozess.cli import app


def test_heal_of_an_unknown_cluster_says_so_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PROZESS_STATE_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["heal", "no-such-cluster-xyz"])
    assert r.exit_code == 2, r.output
    assert "no-such-cluster-xyz" in r.output


def test_heal_is_mounted_with_its_options():
    r = CliRunner().invoke(app, ["heal", "--help"])
    assert r.exit_code == 0
    assert "--check" in r.output and "CLUSTER" in r.output


def test_heal_without_a_name_and_no_cluster_running_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PROZESS_STATE_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["heal"])
    assert r.exit_code == 2, r.output
    assert "no cluster is running" in r.output
