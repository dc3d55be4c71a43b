"""The run index: every run under a results dir with test, time, verdict, anomaly counts, duration.

Reads only test.json, results.json and the last line of history.jsonl of each
run (never the whole history), so an index of many large runs builds quickly.
Which folders are runs, and their order, is the store's (`prozess.store.list_runs`).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prozess.store import REPORT, Run, StoreError, read_json
from prozess.store import list_runs as stored_runs

__all__ = ["list_runs", "build_index"]

_UNREADABLE = object()


def _json(path: Path) -> Any:
    """The decoded file; None when absent; _UNREADABLE when present but not a readable JSON file."""
    try:
        return read_json(path)
    except StoreError:
        return _UNREADABLE


def run_href(run: str) -> str:
    """The link to a run's report: a relative path with every segment percent-escaped.

    Escaping turns `:` into `%3A`, so a run directory named `javascript:...` is a
    path below the results dir, never a URL scheme.
    """
    return "./" + "/".join(urllib.parse.quote(part, safe="") for part in run.split("/")) + "/" + REPORT


def _last_time_ns(history: Path) -> int | None:
    """The `time` of the last complete line of a JSONL history, reading only its tail."""
    try:
        with open(history, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 65536))
            tail = fh.read()
    except OSError:
        return None
    for line in reversed(tail.split(b"\n")):
        if not line.strip():
            continue
        try:
            t = json.loads(line).get("time")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(t, int) and not isinstance(t, bool) and abs(t) < 2**63:
            return t
    return None


def _anomaly_counts(results: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    checkers = results.get("checkers")
    parts = checkers.values() if isinstance(checkers, dict) else [results]
    for r in parts:
        if not isinstance(r, dict):
            continue
        for kind, a in (r.get("anomalies") or {}).items():
            c = a.get("count") if isinstance(a, dict) else a
            counts[kind] = counts.get(kind, 0) + (c if isinstance(c, int) else 0)
    for kind in results.get("anomaly-types") or []:
        counts.setdefault(kind, 0)
    return counts


def list_runs(results_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Summaries of every run (results/<test>/<time>/), newest first."""
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such results directory; pass --results-dir or set PROZESS_RESULTS_DIR")
    return [_summary(root, run) for run in stored_runs(root)]


def _summary(root: Path, stored: Run) -> dict[str, Any]:
    """One row of the index; a run whose files are damaged is shown as "unreadable", never skipped."""
    run = stored.path
    problems = []
    test = _json(stored.test_path)
    if test is _UNREADABLE or (test is not None and not isinstance(test, dict)):
        problems.append(stored.test_path.name)
    test = test if isinstance(test, dict) else {}
    results = _json(stored.results_path)
    anomalies: dict[str, int] = {}
    if results is None:
        verdict = "unchecked"
    elif not isinstance(results, dict):
        verdict = "unreadable"
        problems.append(stored.results_path.name)
    else:
        from prozess.report.run import plausible_results

        v = results.get("valid", "unknown")
        verdict = "valid" if v is True else "invalid" if v is False else "unknown"
        if not plausible_results(results):
            verdict = "unreadable"
            problems.append(stored.results_path.name)
        try:
            anomalies = _anomaly_counts(results)
        except (AttributeError, TypeError, ValueError):
            verdict = "unreadable"
            problems.append(stored.results_path.name)
    history = stored.history_path
    last = _last_time_ns(history) if history.is_file() else None
    when = stored.started()
    rel = run.relative_to(root).as_posix()
    seed = test.get("seed")
    return {
        "test": str(test.get("name") or (run.parent.name if run.parent != root else run.name))[:200],
        "run": rel,
        "href": run_href(rel),
        "time": when.isoformat(timespec="seconds"),
        "sort": when.timestamp(),
        "verdict": verdict,
        "problems": problems,
        "anomalies": anomalies,
        "duration_s": None if last is None else last / 1e9,
        "report": stored.report_path.is_file(),
        "workload": str(test["workload"])[:100] if test.get("workload") is not None else None,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    }


def build_index(results_dir: str | os.PathLike) -> str:
    """The index page (HTML); report links are relative to the results dir."""
    import jinja2

    root = Path(results_dir)
    runs = list_runs(root)
    env = jinja2.Environment(loader=jinja2.PackageLoader("prozess.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    counts = {v: sum(1 for r in runs if r["verdict"] == v) for v in ("valid", "invalid", "unknown", "unchecked", "unreadable")}
    css = (Path(__file__).parent / "templates" / "report.css").read_text()
    return env.get_template("index.html.j2").render(
        runs=runs, counts=counts, root=str(root), css=css, generated=datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
