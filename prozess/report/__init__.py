"""HTML reports of runs and a browser for the run store.

- `write_report(source, out_dir=None)`: report.html (+ plots/) for a run directory
  or a bare .jsonl/.edn history (which is checked first).
- `build_index(results_dir)`: the HTML index of every run under a results dir.
- `serve(results_dir, port=8000, host="127.0.0.1")`: serves that index and the
  runs on loopback, building missing reports on first view.

Heavy imports (jinja2, matplotlib, numpy) happen inside these functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["write_report", "build_index", "serve", "list_runs", "ReportSourceError"]

from prozess.report.run import ReportSourceError


def write_report(source: str | os.PathLike, out_dir: str | os.PathLike | None = None, *, large_ops: int | None = None) -> Path:
    """Writes report.html (and plots/) for a run directory or a history file; returns its path.

    From `large_ops` lines of history (default 200,000) the report is the large-history
    one: downsampled timeline, table paged from side files in history-pages/."""
    from prozess.report.render import write_report as _write

    return _write(source, out_dir, large_ops=large_ops)


def build_index(results_dir: str | os.PathLike) -> str:
    """The HTML index of all runs in `results_dir`, newest first, filterable by verdict."""
    from prozess.report.index import build_index as _build

    return _build(results_dir)


def list_runs(results_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """One summary dict per run under `results_dir`, newest first."""
    from prozess.report.index import list_runs as _list

    return _list(results_dir)


def serve(results_dir: str | os.PathLike, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serves `results_dir` with its run index on a loopback address until interrupted."""
    from prozess.report.server import serve as _serve

    _serve(results_dir, port=port, host=host)
