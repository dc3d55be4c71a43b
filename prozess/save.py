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
    from prozess.checking import check_history
    from prozess.store import EXPECTED, HISTORY, HISTORY_EDN, TEST, Run, read_history, replace_dir

    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest}: exists and is not a directory; name a folder for the case")
    if dest.is_dir() and any(dest.iterdir()):
        if not force:
            raise FileExistsError(f"{dest}: exists and is not empty; pass --force to replace it")
        if not (dest / EXPECTED).exists() or dest.is_symlink():
            # --force replaces a regression case whole; a folder that is not one is never deleted
            raise FileExistsError(f"{dest}: is not a regression case (no expected.json); choose another folder")
    history = read_history(source)
    test = Run(source).test() if source.is_dir() else None
    result = check_history(history, test or None, None, strict=True).result
    expected = expected_of(result)
    if note:
        expected["note"] = note
    src_history = Path(history.source) if history.source else source

    def fill(case: Path) -> None:
        if src_history.suffix == ".edn":
            shutil.copyfile(src_history, case / HISTORY_EDN)
        else:
            shutil.copyfile(src_history, case / HISTORY)
        if test:
            # A regression case travels with the repository: no path of the machine that recorded it.
            portable = {k: v for k, v in test.items() if k not in ("results_dir", "run_dir")}
            (case / TEST).write_text(json.dumps(portable, indent=2) + "\n")
        (case / EXPECTED).write_text(json.dumps(expected, indent=2) + "\n")

    # The new case is built aside and swapped in: nothing of an old case (say, its
    # history.jsonl beside a new history.edn) survives to be checked by mistake.
    replace_dir(dest, fill)
    return expected


def save(
    run: str = typer.Argument(..., help="A run directory, `latest`, TEST/TIMESTAMP, or a history file."),
    dest: Path = typer.Argument(..., help="Folder for the regression case, e.g. tests/histories/NAME."),
    note: str = typer.Option(None, "--note", help="Why this history matters; stored in expected.json."),
    force: bool = typer.Option(False, "--force", help="Replace DEST if it exists."),
    results_dir: Path = typer.Option(None, "--results-dir", envvar="PROZESS_RESULTS_DIR", help="Where runs are stored."),
) -> None:
    """Promote a run to a regression case: history plus the anomalies it must keep showing."""
    from prozess.exits import fail
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
    except (HistoryError, FileExistsError, StoreError) as e:
        fail(str(e))
        return
    typer.echo(f"saved {dest}: valid={expected['valid']} anomalies={', '.join(expected['anomaly-types']) or 'none'}")
