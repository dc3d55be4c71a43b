"""Loading what a report is made of: a run directory or a bare history file.

A run directory holds history.jsonl (required) and, when the runner got that
far, test.json, results.json, nemesis.jsonl and nodes/<node>/ logs; each of
those may be missing and the report says so instead of failing. A bare
`.jsonl` / `.edn` history is checked here with `prozess.checkers.check`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prozess.history import History, HistoryError, read_history
from prozess.report.large import LARGE_OPS, is_large
from prozess.store import Run, StoreError, history_file, read_json

__all__ = ["ReportSourceError", "RunData", "load_run"]

MAX_NODE_FILES = 300
MAX_NEMESIS_ENTRIES = 2000


class ReportSourceError(HistoryError):
    """The report source cannot be used; the message says what to pass instead.

    A HistoryError, so callers that already handle unreadable histories (the CLI) handle this too.
    """


@dataclass
class RunData:
    source: Path
    run_dir: Path | None
    history_path: Path
    history: History
    test: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    results_recomputed: bool = False
    nemesis_log: list[Any] = field(default_factory=list)
    nemesis_log_total: int = 0
    node_files: list[tuple[str, Path, int]] = field(default_factory=list)  # (node, path, bytes)
    warnings: list[str] = field(default_factory=list)
    large: bool = False  # a large history: `history` is empty, the renderer reads the file as columns
    large_ops: int = 0  # the line count from which a history is large


def _read_json(path: Path, warnings: list[str]) -> Any:
    try:
        return read_json(path)
    except StoreError as e:
        warnings.append(f"{path.name} could not be read ({e}); the report goes on without it")
        return None


def load_run(source: str | os.PathLike, *, large_ops: int | None = None) -> RunData:
    """Reads a run directory or a history file; raises ReportSourceError when neither is usable.

    A JSON Lines history of at least `large_ops` lines (default `prozess.report.large.LARGE_OPS`)
    is not read as op objects: `large` is set, `history` stays empty, and the checkers (when
    results.json is missing) read the file as columns; the renderer scans it once the
    ops that anomaly examples cite are known (prozess.report.large)."""
    source = Path(source)
    if not source.exists():
        raise ReportSourceError(f"{source}: no such file or directory; pass a run directory (results/<test>/<time>) or a .jsonl/.edn history")
    warnings: list[str] = []
    run_dir: Path | None = None
    if source.is_dir():
        run_dir = source
        run = Run(source)
        history_path = history_file(source)
        if not history_path.exists():
            if not (run.results_path.exists() or run.test_path.exists()):
                raise ReportSourceError(f"{source}: this directory has no {run.history_path.name}; pass a run directory (results/<test>/<time>) or a history file")
            # a run that ended before its first op: report what there is (spec, verdict, error)
            warnings.append(f"{run.history_path.name} is missing: the run recorded no ops")
    else:
        if source.suffix not in (".jsonl", ".edn", ".json"):
            raise ReportSourceError(f"{source}: not a history; pass a run directory or a .jsonl/.edn history file")
        history_path = source
    if history_path.exists() and not history_path.is_file():
        raise ReportSourceError(f"{history_path}: not a regular file; a history is a plain .jsonl or .edn file")
    try:

        large = history_path.exists() and is_large(history_path, large_ops)
        if large:
            history = History([])
        elif run_dir is not None and history_path.exists() and _blank(history_path):
            # a run that stopped before its first op leaves an empty history: report what there is
            warnings.append(f"{history_path.name} is empty: the run recorded no ops")
            history = History([])
        else:
            history = read_history(history_path, warnings=warnings) if history_path.exists() else History([])
    except HistoryError as e:
        raise ReportSourceError(f"cannot read the history: {e}") from None
    data = RunData(source=source, run_dir=run_dir, history_path=history_path, history=history, warnings=warnings)
    data.large = bool(large)
    data.large_ops = large_ops if large_ops is not None else LARGE_OPS
    if run_dir is not None:
        run = Run(run_dir)
        test_path = run.test_path
        if test_path.exists():
            test = _read_json(test_path, warnings)
            data.test = test if isinstance(test, dict) else {}
            if test is not None and not isinstance(test, dict):
                warnings.append(f"{test_path.name} holds a JSON {type(test).__name__}, not the test's spec; it is ignored")
        else:
            warnings.append(f"{test_path.name} is missing: the test's spec, seed and versions are unknown")
        results_path = run.results_path
        if results_path.exists():
            results = _read_json(results_path, warnings)
            if isinstance(results, dict) and plausible_results(results):
                data.results = results
            elif results is not None:
                warnings.append(f"{results_path.name} is not a checker result (unexpected shape); it is ignored")
        nemesis_path = run.nemesis_path
        if nemesis_path.exists() and not nemesis_path.is_file():
            warnings.append(f"{nemesis_path.name} is not a regular file; skipped")
        elif nemesis_path.exists():
            data.nemesis_log, data.nemesis_log_total = _read_nemesis_log(nemesis_path, warnings)
        nodes = run.nodes_dir
        if nodes.is_dir() and not nodes.is_symlink():
            data.node_files = _node_files(nodes)
    if not data.results:
        from prozess.checking import check_history

        # a checker that crashes makes the verdict unknown, it does not stop the report
        if large:
            data.results = check_history(history_path, data.test or None, warnings=warnings).result
        else:
            data.results = check_history(history, data.test or None).result
        data.results_recomputed = True
        if run_dir is not None:
            warnings.append(f"{Run(run_dir).results_path.name} is missing or unreadable: the history was checked again for this report")
    return data


def _blank(path: Path) -> bool:
    """True for a regular file holding nothing but whitespace (read only when it is small)."""
    try:
        return path.is_file() and path.stat().st_size < 4096 and not path.read_bytes().strip()
    except OSError:
        return False


def plausible_results(results: dict[str, Any]) -> bool:
    """Whether a results.json has the shape of a checker result, so the report can rely on it."""

    def names(x: Any) -> bool:
        return x is None or (isinstance(x, list) and all(isinstance(n, str) for n in x))

    def one(r: Any) -> bool:
        return isinstance(r, dict) and names(r.get("anomaly-types")) and isinstance(r.get("anomalies", {}), dict)

    checkers = results.get("checkers")
    if checkers is not None and not (isinstance(checkers, dict) and all(one(r) for r in checkers.values())):
        return False
    return results.get("valid", "unknown") in (True, False, "unknown") and one(results)


def _read_nemesis_log(path: Path, warnings: list[str]) -> tuple[list[Any], int]:
    entries: list[Any] = []
    total = 0
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            total += 1
            if len(entries) >= MAX_NEMESIS_ENTRIES:
                continue
            try:
                entries.append(json.loads(line))
            except (ValueError, RecursionError):
                warnings.append(f"{path.name} line {n} is not valid JSON; skipped")
    return entries, total


def _node_files(nodes: Path) -> list[tuple[str, Path, int]]:
    out: list[tuple[str, Path, int]] = []
    for node_dir in sorted(p for p in nodes.iterdir() if p.is_dir() and not p.is_symlink()):
        for path in sorted(node_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out.append((node_dir.name, path, path.stat().st_size))
                if len(out) >= MAX_NODE_FILES:
                    return out
    return out
