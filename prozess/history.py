"""The operation record and the history: what every other part of prozess speaks.

An `Op` is one line of a history: an invocation (`invoke`) or its completion
(`ok`, `fail`, `info`). Values follow Jepsen's kafka workload so that histories
convert both ways with Jepsen EDN:

    invoke  f=send  value=[["send", "x", 1]]
    ok      f=send  value=[["send", "x", [12, 1]]]          (offset 12; null if unknown)
    invoke  f=poll  value=[["poll"]]
    ok      f=poll  value=[["poll", {"x": [[12, 1], [13, 2]]}]]
    invoke  f=txn   value=[["send", "x", 3], ["poll"]]       (mixed micro-ops)
    invoke  f=assign / subscribe  value=["x", "y"]

Keys are always strings. The nemesis (process "nemesis") follows Jepsen: a fault
is an `info` op that starts it and a second `info` op with the same `f` that
completes it.

A `History` wraps the list of ops and pairs invocations with completions in one
linear pass; `read_jsonl` / `HistoryWriter` are the on-disk form (JSON Lines,
appended and flushed as the run goes, so a crashed run leaves a usable prefix).
The record, the history and the input checks live in `prozess.history_model`
(re-exported here), which the EDN form (`prozess.edn`) builds on too; only
`read_history`, which reads either form, imports `prozess.edn`.
"""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

import json as _stdjson
import re

from prozess.history_model import (  # noqa: F401  (re-exported: prozess.history is the model's public face)
    COMPLETIONS,
    INT64,
    KNOWN,
    MAX_DEPTH,
    NEMESIS,
    REQUIRED,
    TYPES,
    History,
    HistoryError,
    Op,
    Pairing,
    _NODE_TYPES,
    check_not_blank,
    extra_fields,
    json_line_depth,
    nesting_depth,
    nemesis_actions,
    op_from_dict,
    open_regular_file,
    read_regular_file,
)

try:  # orjson is several times faster on million-op histories; json is the fallback.
    import orjson as _orjson

    def _loads(line: bytes) -> Any:
        return _orjson.loads(line)

    def _dumps(obj: Any) -> bytes:
        try:
            return _orjson.dumps(obj)
        except TypeError:  # an integer beyond 64 bits: the standard library writes it exactly
            return _stdjson.dumps(obj, separators=(",", ":")).encode()

    _JSONDecodeError: type[Exception] = _orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a declared dependency
    import json as _json

    def _loads(line: bytes) -> Any:
        return _json.loads(line)

    def _dumps(obj: Any) -> bytes:
        return _json.dumps(obj, separators=(",", ":")).encode()

    _JSONDecodeError = ValueError

__all__ = [
    "COMPLETIONS",
    "History",
    "HistoryError",
    "HistoryWriter",
    "NEMESIS",
    "Op",
    "TYPES",
    "op_from_dict",
    "read_history",
    "read_jsonl",
    "write_jsonl",
]

# 19 or more digits in a row: an integer that may not fit in 64 bits, which orjson would turn into a
# float (two such values would then compare equal). Lines holding one are parsed exactly instead.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_RUN = b"0" * 19


def _has_long_digits(data: bytes, chunk: int = 1 << 23) -> bool:
    """True if `data` holds 19 digits in a row (a C-speed scan: digits to "0", the rest to " ", then find)."""
    step = chunk - len(_RUN)
    for start in range(0, len(data), step):
        if _RUN in data[start:start + chunk].translate(_DIGITS_AS_ZERO):
            return True
    return False


def read_jsonl(path: str | os.PathLike, *, validate: bool = True, warnings: list[str] | None = None) -> History:
    """Reads a JSON Lines history, checking every line.

    A torn last line (a writer killed mid-write: no trailing newline and not
    valid JSON) is skipped with a warning appended to `warnings`; any other bad
    line raises HistoryError naming file and line.
    """
    path = Path(path)
    # Millions of small, acyclic objects: the cyclic GC would rescan them again and again for nothing.
    with gc_paused():
        return _read_jsonl(path, validate=validate, warnings=warnings)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector (reference counting still frees memory) for bulk loads."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_jsonl(path: Path, *, validate: bool, warnings: list[str] | None) -> History:
    data = read_regular_file(path)
    check_not_blank(data, path)
    # A torn last line is a writer that stopped mid-line after complete ones; a file
    # without any newline never had a complete line, so it is not skipped but refused.
    torn = b"\n" in data and not data.endswith(b"\n")
    long_digits = _has_long_digits(data)
    lines = data.split(b"\n")
    del data
    last = len(lines) - 1
    ops: list[Op] = []
    append = ops.append
    loads = _loads
    for n, line in enumerate(lines):
        if not line or line.isspace():
            continue
        try:
            d = loads(line) if not long_digits or _LONG_DIGITS.search(line) is None else _exact_loads(line)
        except (_JSONDecodeError, ValueError, RecursionError) as e:
            if n == last and torn:
                if warnings is not None:
                    warnings.append(f"{path}:{n + 1}: last line is torn (the writer stopped mid-line); skipped")
                break
            raise HistoryError(f"not valid JSON ({str(e)[:200]})", path=path, line=n + 1) from None
        # Fast path for well-formed ops; anything else goes through op_from_dict for its exact complaint.
        try:
            index, time, typ, process, f = d["index"], d["time"], d["type"], d["process"], d["f"]
        except (KeyError, TypeError, IndexError):
            index = None
        if (
            type(index) is int
            and index >= 0
            and type(time) is int
            and type(typ) is str
            and typ in TYPES
            and -INT64 <= time < INT64
            and ((type(process) is int and -INT64 <= process < INT64) or process == NEMESIS)
            and type(f) is str
            and f
            and type(d.get("node")) in _NODE_TYPES
            and (line.count(b"[") + line.count(b"{") <= MAX_DEPTH or json_line_depth(line, MAX_DEPTH + 1) <= MAX_DEPTH + 1)
        ):
            append(Op(index, time, typ, process, f, d.get("value"), d.get("node"), d.get("error"),
                      None if len(d) <= 5 or (len(d) == 6 and "value" in d) else extra_fields(d)))
            continue
        try:
            append(op_from_dict(d))
        except HistoryError as e:
            raise HistoryError(e.problem, path=path, line=n + 1) from None
    return History(ops, source=str(path), validate=validate)


def _exact_loads(line: bytes) -> Any:
    """Parses one JSON line keeping every integer exact, however large (the standard library's json)."""
    return _stdjson.loads(line)


def read_history(path: str | os.PathLike, *, warnings: list[str] | None = None) -> History:
    """Reads a history from a `.jsonl` or `.edn` file (a run directory's: `prozess.store.read_history`)."""
    path = Path(path)
    if path.suffix == ".edn":
        from prozess.edn import read_edn

        history = read_edn(path)
    else:
        history = read_jsonl(path, warnings=warnings)
    if not history.ops:
        raise HistoryError("holds no ops; a history to check, show, convert or report needs at least one", path=path)
    return history


class HistoryWriter:
    """Appends ops to a JSON Lines file, flushing each line so a crash leaves a usable prefix.

    Assigns `index` and `time` (ns since the writer was opened, monotonic) when
    the caller uses `record`; `write` takes an already-built Op. With `keep_ops=False`
    the ops are only on disk (`ops` stays empty): the runner's memory stays flat.
    """

    def __init__(self, path: str | os.PathLike, *, start_ns: int | None = None, fsync: bool = False,
                 keep_ops: bool = True):
        import time as _time

        self.path = Path(path)
        self._fh: IO[bytes] = open(self.path, "ab")
        self._clock = _time.monotonic_ns
        self.start_ns = start_ns if start_ns is not None else self._clock()
        self._next = 0
        self._fsync = fsync
        self.ops: list[Op] = []
        self._keep = keep_ops  # False: nothing held in memory (a soak writes millions of ops)

    def now(self) -> int:
        return self._clock() - self.start_ns

    def record(self, type: str, process: int | str, f: str, value: Any = None, *, node: str | None = None, error: Any = None,
               time: int | None = None, extra: dict[str, Any] | None = None) -> Op:
        op = Op(self._next, self.now() if time is None else time, type, process, f, value, node, error, extra or None)
        self.write(op)
        return op

    def write(self, op: Op) -> None:
        if op.index != self._next:
            op = op._replace(index=self._next)
        self._next += 1
        if self._keep:
            self.ops.append(op)
        self._fh.write(_dumps(op.to_dict()) + b"\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(history: Iterable[Op], path: str | os.PathLike) -> None:
    """Writes a whole history at once (for exports and tests)."""
    with open(path, "wb") as fh:
        for op in history:
            fh.write(_dumps(op.to_dict()) + b"\n")
