"""`prozess replay RUN`: run a stored test again — same spec, seed and fault schedule.

The run's test.json holds everything the first run used, including the fault
schedule the nemesis drew (`nemesis_schedule`), so a replay starts the same
faults against the same nodes at the same offsets into the run. Kafka itself
is not deterministic (elections, timeouts, thread interleavings), so a replay
answers the practical question: do the same anomaly types come back?
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

__all__ = ["nemesis_sequence", "replay", "replay_run", "spec_of_run"]


def nemesis_sequence(history: Any) -> list[tuple[str, Any]]:
    """The fault actions a run invoked, in order, as (f, value) — what a replay must repeat."""
    out = []
    for inv, _completion in history.pairs():
        if inv.process == "nemesis" and inv.f not in ("heal-all", "schedule"):
            out.append((inv.f, inv.value))
    return out


def spec_of_run(run_dir: Path) -> Any:
    """The TestSpec a stored run was made from, ready to run again."""
    from prozess.spec import RUN_WRITTEN_FIELDS, TestSpec
    from prozess.store import Run

    run = Run(run_dir)
    test = run.test()
    if not test:
        raise ValueError(f"{run_dir}: has no test.json, so there is nothing to replay; pass a run directory made by `prozess run`")
    known = {k: v for k, v in test.items() if k not in RUN_WRITTEN_FIELDS}
    spec = TestSpec.from_dict(known, source=str(run.test_path))
    if spec.faults and spec.nemesis_schedule is None:
        raise ValueError(f"{run_dir}: test.json has faults but no nemesis_schedule; the run predates saved schedules and cannot be replayed exactly")
    spec.replay_of = str(run_dir)
    return spec


def replay_run(run_dir: Path, *, results_dir: Path | None = None, progress: bool | None = None, cluster: Any = None) -> dict[str, Any]:
    """Runs the stored test once more and compares it with the original.

    `cluster`: a running cluster to replay on (its nodes must carry the names
    the schedule uses); the replay then writes to topics of its own so that
    the original run's records do not leak into its history.
    """
    from prozess.runner import run_test
    from prozess.store import Run, read_history

    original = Run(run_dir)
    spec = spec_of_run(run_dir)
    if results_dir is not None:
        spec.results_dir = str(results_dir)
    elif spec.results_dir is None:
        spec.results_dir = str(run_dir.parent.parent)
    if cluster is not None:
        import time

        prefix = spec.workload_options.get("topic_prefix", "prozess")
        spec.workload_options["topic_prefix"] = f"{prefix}-r{int(time.time() * 1000) % 10**8}"
    outcome = run_test(spec, cluster=cluster, progress=progress)
    before = sorted((original.results() or {}).get("anomaly-types") or [])
    after = sorted(outcome.results.get("anomaly-types") or [])
    want = nemesis_sequence(read_history(run_dir)) if original.history_path.exists() else []
    got = nemesis_sequence(read_history(outcome.run_dir)) if Run(Path(outcome.run_dir)).history_path.exists() else []
    return {
        "original": str(run_dir),
        "replay": str(outcome.run_dir),
        "valid": outcome.valid,
        "original-anomaly-types": before,
        "anomaly-types": after,
        "reproduced": set(before) <= set(after) if before else not after,
        "same-schedule": want == got,
        "nemesis-ops": len(got),
    }


def replay(
    run: str = typer.Argument(..., help="A run directory, `latest`, or TEST/TIMESTAMP under the results dir."),
    times: int = typer.Option(1, "--times", min=1, max=100, help="How many times to replay it."),
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", envvar="PROZESS_RESULTS_DIR", help="Where runs are stored."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Live progress display (default: on a terminal)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per replay."),
) -> None:
    """Run a stored test again with the same spec, seed and fault schedule; say whether its anomalies recur.

    Exit code of the last replay's verdict: 0 valid, 1 invalid, 2 bad input, 3 unknown.
    """
    from prozess.exits import exit_code_for, fail
    from prozess.runner import RunError
    from prozess.spec import SpecError
    from prozess.store import StoreError, find_run

    try:
        run_dir = find_run(run, results_dir).path
    except StoreError as e:
        fail(str(e))
        return
    last: dict[str, Any] = {}
    reproduced = 0
    for i in range(times):
        try:
            last = replay_run(run_dir, results_dir=results_dir, progress=progress)
        except (ValueError, SpecError, RunError) as e:
            fail(str(e))
            return
        reproduced += bool(last["reproduced"])
        if as_json:
            typer.echo(json.dumps(last))
        else:
            types = ", ".join(last["anomaly-types"]) or "none"
            typer.echo(
                f"replay {i + 1}/{times}: valid={last['valid']} anomalies: {types}; "
                f"{'same' if last['same-schedule'] else 'DIFFERENT'} fault schedule ({last['nemesis-ops']} nemesis ops); "
                f"{'reproduced' if last['reproduced'] else 'not reproduced'}; {last['replay']}"
            )
    if not as_json:
        original = ", ".join(last.get("original-anomaly-types") or []) or "none"
        typer.echo(f"original anomalies: {original}; reproduced in {reproduced} of {times} replays")
    raise typer.Exit(exit_code_for(last.get("valid")))
