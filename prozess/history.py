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
"""

from __future__ import annotations

import gc
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, NamedTuple

import json as _stdjson
import re

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

TYPES = frozenset({"invoke", "ok", "fail", "info"})
COMPLETIONS = frozenset({"ok", "fail", "info"})
NEMESIS = "nemesis"
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
REQUIRED = ("index", "time", "type", "process", "f")
INT64 = 2**63  # times, processes and indices are 64-bit signed integers, as in Jepsen and numpy
MAX_DEPTH = 64  # deepest nesting of an op's value or error; real ones are 5 or 6 deep
KNOWN = frozenset(REQUIRED + ("value", "node", "error"))
_NODE_TYPES = frozenset({type(None), str, int})  # a node names a host: a string (an integer in some hand-written files)


def extra_fields(d: dict) -> dict[str, Any] | None:
    """The fields of an op record beyond the known ones, or None when there are none."""
    if len(d) <= 5 or d.keys() <= KNOWN:
        return None
    return {k: v for k, v in d.items() if k not in KNOWN} or None


class HistoryError(ValueError):
    """A history that cannot be used as it is; the message names file, line and problem."""

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)
        self.problem = message


class Op(NamedTuple):
    """One operation record. Immutable; `value` must be treated as read-only."""

    index: int
    time: int
    type: str
    process: int | str
    f: str
    value: Any = None
    node: str | None = None
    error: Any = None
    extra: dict[str, Any] | None = None  # every other field of the record (Jepsen's :rebalance-log, ...), kept as given

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.extra:
            d.update(self.extra)
        d.update({
            "index": self.index,
            "time": self.time,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
        })
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        return d

    @property
    def is_invoke(self) -> bool:
        return self.type == "invoke"

    @property
    def is_nemesis(self) -> bool:
        return self.process == NEMESIS


def op_from_dict(d: Any, *, position: int | None = None) -> Op:
    """Builds an `Op` from a decoded JSON object, raising HistoryError on bad shape.

    `position` fills a missing index (EDN histories often carry none).
    """
    if not isinstance(d, dict):
        raise HistoryError(f"expected a JSON object, got {type(d).__name__}")
    for field in REQUIRED:
        if field not in d:
            if field == "index" and position is not None:
                continue
            if field == "time" and position is not None:
                continue
            raise HistoryError(f"missing field {field!r}")
    typ = d["type"]
    if not isinstance(typ, str) or typ not in TYPES:
        raise HistoryError(f"field 'type' is {_short(typ)}; it must be one of invoke, ok, fail, info")
    process = d["process"]
    if not (isinstance(process, int) and not isinstance(process, bool) and -INT64 <= process < INT64) and process != NEMESIS:
        raise HistoryError(f"field 'process' is {_short(process)}; it must be a 64-bit integer or \"nemesis\"")
    f = d["f"]
    if not isinstance(f, str) or not f:
        raise HistoryError(f"field 'f' is {_short(f)}; it must be a non-empty string")
    index = d.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < INT64:
        raise HistoryError(f"field 'index' is {_short(index)}; it must be a non-negative 64-bit integer")
    time = d.get("time", 0 if position is not None else None)
    if not isinstance(time, int) or isinstance(time, bool) or not -INT64 <= time < INT64:
        raise HistoryError(f"field 'time' is {_short(time)}; it must be a 64-bit integer (ns since the run started)")
    node = d.get("node")
    if node is not None and (type(node) not in (str, int) or isinstance(node, bool)):
        raise HistoryError(f"field 'node' is {_short(node)}; it must be a node name (a string) or absent")
    for field in ("value", "error"):
        if nesting_depth(d.get(field), MAX_DEPTH) > MAX_DEPTH:
            raise HistoryError(f"field {field!r} is nested more than {MAX_DEPTH} deep; no Kafka op value is, so the file is damaged or not a history")
    return Op(index, time, typ, process, f, d.get("value"), d.get("node"), d.get("error"), extra_fields(d))


def _short(x: Any) -> str:
    """repr of a field value for an error message, cut so a huge value cannot flood the terminal."""
    r = repr(x)
    return r if len(r) <= 80 else r[:77] + "..."


def nesting_depth(x: Any, limit: int) -> int:
    """How deep lists and dicts nest in `x` (a scalar is 0), counting no further than `limit + 1`.

    Iterative, so a value nested thousands deep costs no Python recursion.
    """
    deepest = 0
    stack = [(x, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, (list, tuple)):
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((v, depth + 1) for v in item if isinstance(v, (list, tuple, dict)))
    return deepest


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = bytes.maketrans(b"[]{}", b"()()")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def json_line_depth(line: bytes, limit: int) -> int:
    """How deep arrays and objects nest in one line of valid JSON, counting no further than `limit + 1`.

    All in C-speed byte operations (strings cut out, brackets kept, innermost
    pairs removed once per level), so a poll of thousands of records costs
    microseconds, not a walk over every record.
    """
    brackets = _JSON_STRING.sub(b"", line).translate(_BRACKETS, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        brackets = brackets.replace(b"()", b"")
        depth += 1
    return depth


def open_regular_file(path: str | os.PathLike, *, what: str = "history") -> IO[bytes]:
    """`path` opened for buffered binary reading; it must be a regular file (not a directory, FIFO or device).

    Opened non-blocking and checked again after opening, so a FIFO named as a
    history is refused at once instead of hanging the reader.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HistoryError(f"no such file; pass a {what} file or a run directory", path=path) from None
    except OSError as e:
        raise HistoryError(f"cannot be read ({e.strerror or e})", path=path) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise HistoryError(f"is {kind}; a {what} must be a regular file", path=path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise HistoryError(f"cannot be read ({e.strerror or e})", path=path) from None
    fh = open(fd, "rb", buffering=1 << 20)
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise HistoryError(f"is not a regular file; a {what} must be one", path=path)
    return fh


def read_regular_file(path: str | os.PathLike, *, what: str = "history") -> bytes:
    """The bytes of `path`, which must be a regular file (see `open_regular_file`)."""
    with open_regular_file(path, what=what) as fh:
        try:
            return fh.read()
        except OSError as e:
            raise HistoryError(f"cannot be read ({e.strerror or e})", path=path) from None


def check_not_blank(data: bytes, path: str | os.PathLike) -> None:
    """Refuses inputs that are plainly another kind of file than a text history."""
    if data[:2] == b"\x1f\x8b":
        raise HistoryError("is gzip-compressed; decompress it first (gunzip -k FILE) and pass the result", path=path)
    if b"\x00" in data[:4096]:
        raise HistoryError("holds binary data (NUL bytes); pass a text history (.jsonl or .edn)", path=path)


@dataclass(frozen=True, slots=True)
class Pairing:
    """Invocation <-> completion links, by position in the history (-1: none)."""

    completion: list[int]  # for an invocation: position of its completion
    invocation: list[int]  # for a completion: position of its invocation


class History:
    """An ordered list of ops with invocation/completion pairing.

    Construction validates the pairing rules (house rule 1): a process may not
    invoke while it has an op in flight, and a completion needs an invocation by
    the same process with the same `f`. `complete()` returns a history in which
    invocations that never completed end as `info`, as Jepsen does.
    """

    __slots__ = ("ops", "_pairing", "source")

    def __init__(self, ops: Iterable[Op], *, source: str | None = None, validate: bool = True):
        self.ops: list[Op] = list(ops)
        self.source = source
        self._pairing: Pairing | None = None
        if validate:
            self._pairing = self._pair(strict=True)

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __getitem__(self, i: int) -> Op:
        return self.ops[i]

    @property
    def pairing(self) -> Pairing:
        if self._pairing is None:
            self._pairing = self._pair(strict=True)
        return self._pairing

    def completion_of(self, position: int) -> Op | None:
        """The completion of the invocation at `position`, or None if it never completed."""
        j = self.pairing.completion[position]
        return self.ops[j] if j >= 0 else None

    def invocation_of(self, position: int) -> Op | None:
        """The invocation of the completion at `position`."""
        j = self.pairing.invocation[position]
        return self.ops[j] if j >= 0 else None

    def pairs(self) -> Iterator[tuple[Op, Op | None]]:
        """(invocation, completion or None) for every invocation, in invocation order."""
        comp = self.pairing.completion
        ops = self.ops
        for i, op in enumerate(ops):
            if op.type == "invoke" or (op.process == NEMESIS and self.pairing.invocation[i] < 0):
                j = comp[i]
                yield op, (ops[j] if j >= 0 else None)

    def client_ops(self) -> Iterator[Op]:
        return (op for op in self.ops if op.process != NEMESIS)

    def nemesis_ops(self) -> Iterator[Op]:
        return (op for op in self.ops if op.process == NEMESIS)

    def complete(self) -> "History":
        """A copy where every invocation without completion gets an `info` completion at the end."""
        comp = self.pairing.completion
        ops = list(self.ops)
        last_time = ops[-1].time if ops else 0
        next_index = ops[-1].index + 1 if ops else 0
        for i, op in enumerate(self.ops):
            if op.type == "invoke" and comp[i] < 0:
                ops.append(Op(next_index, last_time, "info", op.process, op.f, op.value, op.node,
                              "indeterminate: no completion recorded"))
                next_index += 1
        if len(ops) == len(self.ops):
            return self
        return History(ops, source=self.source)

    def open_invocations(self) -> int:
        """How many invocations never completed (a killed run leaves some)."""
        comp = self.pairing.completion
        return sum(1 for i, op in enumerate(self.ops) if op.type == "invoke" and comp[i] < 0)

    @property
    def dense(self) -> bool:
        """True when every op's index equals its position (0, 1, 2, ...): no gaps."""
        ops = self.ops
        return not ops or (ops[0].index == 0 and ops[-1].index == len(ops) - 1)

    def position_of(self) -> dict[int, int]:
        """op index -> position in `ops` (indices may have gaps; they strictly increase)."""
        return {op.index: i for i, op in enumerate(self.ops)}

    def _pair(self, *, strict: bool) -> Pairing:
        n = len(self.ops)
        completion = [-1] * n
        invocation = [-1] * n
        open_by_process: dict[Any, int] = {}
        last_index = -1
        for i, op in enumerate(self.ops):
            p = op.process
            if op.index <= last_index and strict:
                raise HistoryError(
                    f"op has index {op.index}, {'the same as' if op.index == last_index else 'below'} the index "
                    f"{last_index} of the op before it; indices must strictly increase (gaps are fine)",
                    path=self.source,
                    line=i + 1,
                )
            last_index = op.index
            if p == NEMESIS:
                # Jepsen nemesis ops: an info (or invoke) opens, the next info with the same f closes.
                j = open_by_process.get(p)
                if j is not None and op.type in COMPLETIONS and self.ops[j].f == op.f:
                    completion[j] = i
                    invocation[i] = j
                    del open_by_process[p]
                else:
                    open_by_process[p] = i
                continue
            if op.type == "invoke":
                if p in open_by_process:
                    j = open_by_process[p]
                    raise HistoryError(
                        f"process {p} invokes {op.f!r} while its op at index {self.ops[j].index} ({self.ops[j].f!r}) has not completed; "
                        "a process runs one op at a time — give the new op a new process id",
                        path=self.source,
                        line=i + 1,
                    )
                open_by_process[p] = i
            else:
                j = open_by_process.pop(p, None)
                if j is None:
                    raise HistoryError(
                        f"{op.type} completion of {op.f!r} by process {p} has no invocation before it",
                        path=self.source,
                        line=i + 1,
                    )
                if self.ops[j].f != op.f:
                    raise HistoryError(
                        f"completion f {op.f!r} differs from its invocation's f {self.ops[j].f!r} (index {self.ops[j].index})",
                        path=self.source,
                        line=i + 1,
                    )
                completion[j] = i
                invocation[i] = j
        return Pairing(completion, invocation)


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
