"""The differential check of a history file: the columnar check equals the op-object check, to the letter."""

from __future__ import annotations

from pathlib import Path


def old_check(path: Path, test=None) -> dict:
    """The op-object check (`prozess.checkers.check` over `read_history`)."""
    from prozess.checkers import check
    from prozess.history import read_history

    return check(read_history(path), test=test)


def same_check(path: Path, test=None) -> dict:
    """The check through the columns, asserted equal (but for timings) to the op-object check of the same file."""
    from prozess.columnar_check import check_path
    from prozess.history import read_history

    old, (new, n) = old_check(path, test), check_path(path, test)
    assert n == len(read_history(path).complete())
    for r in (old, new):
        r.pop("seconds", None)
        for v in r["checkers"].values():
            v.pop("seconds", None)
    assert new == old
    return new
