"""SIGINT in the middle of `prozess run`: faults healed, cluster torn down, a history prefix, results for it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _docker_names(prefix: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, timeout=30)
    return [n for n in out.stdout.split() if n.startswith(prefix + "-")]


def test_sigint_leaves_a_checked_partial_run_and_no_cluster(tmp_path: Path):
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"docker engine unavailable: {e}")
    argv = [sys.executable, "-m", "prozess", "run", "--nodes", "1", "--replication-factor", "1", "--min-insync-replicas", "1",
            "--faults", "pause", "--time-limit", "300", "--rate", "100", "--concurrency", "4", "--seed", "3",
            "--results-dir", str(tmp_path), "--no-progress", "--name", "sigint"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        hist = None
        deadline = time.monotonic() + 480
        while time.monotonic() < deadline and proc.poll() is None:
            runs = list((tmp_path / "sigint").glob("*/history.jsonl"))
            if runs and runs[0].stat().st_size > 0 and sum(1 for _ in open(runs[0])) >= 200:
                hist = runs[0]
                break
            time.sleep(1)
        assert hist is not None, f"the run never got going: {proc.stdout.read().decode() if proc.poll() is not None else 'still setting up'}"
        run_dir = hist.parent
        test = json.loads((run_dir / "test.json").read_text())
        name = test["cluster_name"]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:  # the test failed early: still let the run tear its cluster down
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=240)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    text = out.decode()
    assert proc.returncode in (0, 1, 3), text
    res = json.loads((run_dir / "results.json").read_text())
    assert res["run"]["interrupted"] is True and "SIGINT" in (res["run"]["error"] or "")
    assert res["valid"] in (True, False, "unknown") and "checkers" in res, res
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    assert len(lines) >= 200 and all(json.loads(line) for line in lines)
    final = json.loads((run_dir / "test.json").read_text())
    assert final["finished"]
    assert _docker_names(name) == [], "cluster containers left behind"
    nemesis_log = (run_dir / "nemesis.jsonl").read_text() if (run_dir / "nemesis.jsonl").exists() else ""
    assert "heal" in nemesis_log, "no heal recorded after the interrupt"
