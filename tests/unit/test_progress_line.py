"""The run's progress line: live, the last seconds' rate; at the end, the whole run's average."""

from __future__ import annotations

import io
import time

from rich.console import Console

from prozess.progress import ProgressDisplay, RunStats


def _stats_of_a_finished_run() -> RunStats:
    stats = RunStats(time_limit=40)
    stats.started = time.monotonic() - 40  # a 40 s run that did 2000 ops, none in its last seconds
    for typ in ["ok"] * 1900 + ["info"] * 100:
        stats.op(typ)
    stats._window = [(time.monotonic() - 4, 2000)]
    stats.fault_started("kill")
    stats.fault_ended("kill")
    stats.set_phase("teardown")
    return stats


def test_the_end_line_gives_the_runs_average_rate_not_the_idle_teardowns():
    out = io.StringIO()
    with ProgressDisplay(_stats_of_a_finished_run(), enabled=False, console=Console(file=out, width=200)):
        pass
    line = out.getvalue().strip()
    assert line.startswith("[teardown] 40/40s  ops ok 1900  fail 0  info 100"), line
    assert " 50 ops/s on average" in line and "(1 applied, 0 failed)" in line, line
    assert "so far" not in line


def test_the_live_line_gives_the_last_seconds_rate():
    from prozess.progress import render_line

    line = render_line(_stats_of_a_finished_run().snapshot())
    assert "  0 ops/s  faults: none (1 applied, 0 failed so far)" in line, line
