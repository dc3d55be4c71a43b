"""`prozess save RUN DEST`: promote a run to a regression case.

A regression case is a folder holding the run's `history.jsonl`, its
`test.json`, and `expected.json` — the verdict and anomaly types the checkers
gave when it was saved. The test suite re-checks every case under
`tests/histories/` and fails when the verdict or the set of anomaly types
changes, so a checker change that stops seeing a real anomaly is caught.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import typer

__all__ = ["save", "save_case", "expected_of"]


def expected_of(result: dict[str, Any]) -> dict[str, Any]:
    """What a regression case pins: the verdict and the sorted anomaly types."""
    return {"valid": result.get("valid"), "anomaly-types": sorted(result.get("anomaly-types") or [])}


def save_case(source: Path, dest: Path, *, note: str | None = None, force: bool = False) -> dict[str, Any]:
    """Copies a run's history (re-checking it now) into `dest` with its expected verdict."""
    from prozess.cli import check_history
    from prozess.history import read_history
    from prozess.store import Run

    history = read_history(source)
    test = Run(source).test() if source.is_dir() else None
    result = check_history(history, test or None, None)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise FileExistsError(f"{dest}: exists and is not empty; pass --force to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    src_history = source / "history.jsonl" if source.is_dir() else source
    if src_history.suffix == ".edn":
        shutil.copyfile(src_history, dest / "history.edn")
    else:
        shutil.copyfile(src_history, dest / "history.jsonl")
    if test:
        # A regression case travels with the repository: no path of the machine that recorded it.
        portable = {k: v for k, v in test.items() if k not in ("results_dir", "run_dir")}
        (dest / "test.json").write_text(json.dumps(portable, indent=2) + "\n")
    expected = expected_of(result)
    if note:
        expected["note"] = note
    (dest / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return expected


def save(
    run: str = typer.Argument(..., help="A run directory, `latest`, TEST/TIMESTAMP, or a history file."),
    dest: Path = typer.Argument(..., help="Folder for the regression case, e.g. tests/histories/NAME."),
    note: str = typer.Option(None, "--note", help="Why this history matters; stored in expected.json."),
    force: bool = typer.Option(False, "--force", help="Replace DEST if it exists."),
    results_dir: Path = typer.Option(None, "--results-dir", envvar="PROZESS_RESULTS_DIR", help="Where runs are stored."),
) -> None:
    """Promote a run to a regression case: history plus the anomalies it must keep showing."""
    from prozess.cli import fail
    from prozess.history import HistoryError
    from prozess.store import StoreError, find_run

    source = Path(run)
    if not source.is_file():
        try:
            source = find_run(run, results_dir).path
        except StoreError as e:
            fail(str(e))
    try:
        expected = save_case(source, dest, note=note, force=force)
    except (HistoryError, FileExistsError) as e:
        fail(str(e))
        return
    typer.echo(f"saved {dest}: valid={expected['valid']} anomalies={', '.join(expected['anomaly-types']) or 'none'}")
