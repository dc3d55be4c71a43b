"""Persisted cluster state: one JSON file per cluster, so another process can attach.

The file is written before anything is created and updated after every resource a
backend makes, so `down` (from this process or another) can remove exactly what `up`
made, even after a crash half-way. A lock file serialises subnet choice and the
last-cluster check that removes the pool's blackhole route.
"""

from __future__ import annotations

import fcntl
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from prozess.cluster.paths import state_dir

__all__ = ["StateError", "valid_name", "state_path", "load_state", "save_state", "delete_state", "all_states", "state_lock"]

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


class StateError(RuntimeError):
    """No such cluster, or a cluster name that cannot be used."""


def valid_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StateError(
            f"cluster name {name!r} is not usable: use 1-24 characters of lowercase letters, digits and '-', starting with a letter"
        )
    return name


def state_path(name: str) -> Path:
    return state_dir() / f"{valid_name(name)}.json"


def load_state(name: str) -> dict[str, Any]:
    path = state_path(name)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        known = ", ".join(sorted(s["name"] for s in all_states())) or "none"
        raise StateError(f"no prozess cluster named {name!r} (known: {known}); start one with `prozess cluster up`") from None
    except ValueError as e:
        raise StateError(f"cluster state file {path} is corrupt ({e}); remove its resources by hand and delete the file") from None


def save_state(state: dict[str, Any]) -> None:
    path = state_path(state["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    from prozess.store import atomic_write

    text = json.dumps(state, indent=2, sort_keys=True)
    atomic_write(path, lambda tmp: tmp.write_text(text))  # a unique temporary name, never a planted symlink


def delete_state(name: str) -> None:
    try:
        state_path(name).unlink()
    except FileNotFoundError:
        pass


def all_states() -> list[dict[str, Any]]:
    out = []
    d = state_dir()
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    return out


@contextmanager
def state_lock() -> Iterator[None]:
    d = state_dir()
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
