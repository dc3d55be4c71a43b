"""Check a history and get a verdict, whatever happens: the one way `run`, `check`, `report` and the pytest plugin check.

    from prozess.checking import check_history
    result, n_ops = check_history(path_or_history, test, names)

A JSON Lines file is checked through numpy columns (`prozess.columnar_check`:
one streaming pass, bounded memory after a long soak); an EDN file or a loaded
`History` through `prozess.checkers.check`. Both give the same verdicts.

Nothing raised while checking gets lost as a traceback or a missing
results.json: it becomes `valid: "unknown"` with the reason in `error`, as
Jepsen's checkers do (a checker that raises inside the composite is already
`unknown` on its own, see `prozess.checkers.compose`). Only with `strict=True`
(`prozess check`, `prozess save`: the user handed the input in) does bad input
— an unreadable history, an unknown checker or anomaly name — raise instead,
so the command can say what is wrong and exit 2.

It imports the history model, the checkers and the columnar check, never the
runner, the CLI or the report, so any of those may use it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

__all__ = ["Checked", "check_history", "unknown"]


class Checked(NamedTuple):
    """A checker result and the number of ops it was computed from."""

    result: dict[str, Any]
    ops: int


def unknown(reason: str, **more: Any) -> dict[str, Any]:
    """A result that decides nothing, saying why (the shape of a composite result)."""
    return {"valid": "unknown", "anomaly-types": [], "checkers": {}, "error": reason, **more}


def check_history(source: Any, test: dict[str, Any] | None = None, names: list[str] | None = None, *,
                  strict: bool = False, warnings: list[str] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Checked:
    """Checks `source` (a `History`, or a `.jsonl` / `.edn` / `.json` history file) with `names` (default: the test's).

    Returns `Checked(result, ops)`. Bad input (`ValueError`, `HistoryError` among
    them) raises when `strict`, else is `unknown` with the reason; every other
    failure is `unknown` with the reason. `warnings` collects the reader's
    (a torn last line), `progress(done, total)` the columnar reader's progress.
    """
    from prozess.history import HistoryError

    t0 = time.monotonic()
    n = 0
    try:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.suffix == ".jsonl":
                from prozess.columnar_check import check_path

                result, n = check_path(path, test, names, progress=progress, warnings=warnings)
                return Checked(result, n)
            from prozess.history import read_history

            source = read_history(path, warnings=warnings)
        from prozess.checkers import check

        n = len(source)
        return Checked(check(source, test=test, names=names), n)
    except HistoryError as e:
        if strict:
            raise
        return Checked(unknown(f"history unreadable: {e}"), n)
    except ValueError as e:
        if strict:
            raise
        return Checked(unknown(f"cannot check: {e}"), n)
    except Exception as e:
        return Checked(unknown(f"checker raised {type(e).__name__}: {e}", seconds=round(time.monotonic() - t0, 3)), n)
