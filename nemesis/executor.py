"""Runs nemesis commands on nodes and records every one of them.

Every command a fault applies (an argv run inside a node, or a cluster action such
as killing a broker) goes through `Executor`, which appends one JSON object per
command to the run's `nemesis.jsonl` (or hands it to a callable the runner gives),
so a run shows exactly what was done to which node and what the node answered.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["Executor", "NemesisError", "JsonlLog", "make_log", "text"]

Log = Callable[[dict], None]


class NemesisError(RuntimeError):
    """A fault command failed; the message names the node, the command and what it said."""


class JsonlLog:
    """Appends one JSON object per line to a file, flushed at once (a crash keeps every line)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def __call__(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def make_log(log: Log | str | os.PathLike | None) -> Log:
    """A log callable from a callable, a path to nemesis.jsonl, or None (discard)."""
    if log is None:
        return lambda entry: None
    if callable(log):
        return log
    return JsonlLog(log)


def text(b: Any) -> str:
    """Command output as str, whether the backend returned bytes or str."""
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _text(b: Any, limit: int = 2000) -> str:
    if b is None:
        return ""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    b = str(b)
    return b if len(b) <= limit else b[:limit] + "...[truncated]"


class Executor:
    """Wraps a cluster: `run` an argv on a node, or `act` through a cluster method, logging both."""

    def __init__(self, cluster: Any, log: Log | str | os.PathLike | None = None, *, clock: Callable[[], float] = time.time):
        self.cluster = cluster
        self.log = make_log(log)
        self._clock = clock
        self.context: dict[str, Any] = {}

    def step(self, f: str, value: dict[str, Any], apply: Callable[[dict[str, Any]], Any]) -> tuple[str, Any]:
        """Runs one nemesis step, its commands logged under `f`; a failed fault is recorded in the value, never raised."""
        self.context = {"f": f}
        try:
            return "info", apply(value)
        except Exception as e:  # a fault that failed is recorded, never fatal to the run
            return "info", {**value, "error": f"{type(e).__name__}: {e}"}
        finally:
            self.context = {}

    def _record(self, entry: dict) -> None:
        entry = {"time": round(self._clock(), 6), **self.context, **entry}
        try:
            self.log(entry)
        except Exception:  # the log must never stop a heal
            pass

    def run(self, node: str, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 30, check: bool = True, ok_codes: Sequence[int] = (0,)):
        """Runs argv inside `node` as root; raises NemesisError on an unexpected exit code when `check`."""
        argv = [str(a) for a in argv]
        started = time.monotonic()
        try:
            res = self.cluster.exec(node, argv, timeout=timeout, input=input)
        except Exception as e:
            self._record({"node": node, "argv": argv, "error": f"{type(e).__name__}: {e}"})
            if check:
                raise NemesisError(f"{node}: {argv[0]} could not run: {e}") from e
            return None
        entry = {"node": node, "argv": argv, "returncode": res.returncode, "seconds": round(time.monotonic() - started, 3)}
        if input is not None:
            entry["input"] = _text(input)
        if res.returncode not in ok_codes or res.stderr:
            entry["stderr"] = _text(res.stderr)
        self._record(entry)
        if check and res.returncode not in ok_codes:
            raise NemesisError(f"{node}: `{' '.join(argv[:4])}...` exited {res.returncode}: {_text(res.stderr, 400).strip() or _text(res.stdout, 400).strip()}")
        return res

    def act(self, node: str, action: str, fn: Callable[[], Any], **details: Any) -> Any:
        """Calls a cluster method (kill_kafka, start_kafka, ...) for `node` and records it."""
        started = time.monotonic()
        try:
            out = fn()
        except Exception as e:
            self._record({"node": node, "action": action, **details, "error": f"{type(e).__name__}: {e}"})
            raise
        self._record({"node": node, "action": action, **details, "result": out if isinstance(out, (int, str, bool, type(None))) else str(out), "seconds": round(time.monotonic() - started, 3)})
        return out

    def note(self, **entry: Any) -> None:
        """Records something that is not a command (a probe result, an unavailable fault)."""
        self._record(entry)
