"""The history model: the operation record, the history, and the checks every reader applies.

An `Op` is one line of a history: an invocation (`invoke`) or its completion
(`ok`, `fail`, `info`). Values follow Jepsen's kafka workload so that histories
convert both ways with Jepsen EDN (see `prozess.history` for their shapes). A
`History` wraps the list of ops and pairs invocations with completions in one
linear pass.

This module is the base of every history format: the JSON Lines form
(`prozess.history`) and the EDN form (`prozess.edn`) both build on it, so neither
format imports the other, and `prozess.history` re-exports every name here.
It imports nothing else of prozess.
"""

from __future__ import annotations

import io
import os
import re
import stat
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple

__all__ = [
    "COMPLETIONS", "History", "HistoryError", "INT64", "KNOWN", "MAX_DEPTH", "NEMESIS", "Op", "Pairing", "REQUIRED", "TYPES",
    "check_not_blank", "extra_fields", "json_line_depth", "nesting_depth", "nemesis_actions", "op_from_dict",
    "LinesRead", "jsonl_lines", "line_too_deep", "open_regular_file", "read_regular_file", "torn_line_warning",
]


TYPES = frozenset({"invoke", "ok", "fail", "info"})
COMPLETIONS = frozenset({"ok", "fail", "info"})
NEMESIS = "nemesis"

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


def line_too_deep(line: bytes) -> bool:
    """Whether one line of valid JSON nests deeper than an op may (`MAX_DEPTH` below the op object).

    Counting brackets first keeps the usual line (a few dozen) to two C-speed counts."""
    return line.count(b"[") + line.count(b"{") > MAX_DEPTH and json_line_depth(line, MAX_DEPTH + 1) > MAX_DEPTH + 1


@dataclass
class LinesRead:
    """What `jsonl_lines` read, filled in when its loop ends: how many lines (blank ones too) and the
    number of a torn last line it skipped (None when there was none)."""

    lines: int = 0
    torn: int | None = None


def torn_line_warning(path: str | os.PathLike, line: int) -> str:
    """The warning for a torn last line (no newline, not JSON: a writer stopped mid-line), which is skipped."""
    return f"{path}:{line}: last line is torn (the writer stopped mid-line); skipped"


class _ByteRange(io.RawIOBase):
    """Bytes `start` up to `stop` (None: the end) of an open file, read by position (`pread`).

    Under a `BufferedReader` it iterates lines as the file object does, so a reader of part
    of a file pays nothing per line for the range."""

    def __init__(self, fd: int, start: int, stop: int | None):
        self.fd, self.pos, self.stop = fd, start, stop

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf: Any) -> int:
        n = len(buf) if self.stop is None else min(len(buf), self.stop - self.pos)
        if n <= 0:
            return 0
        if hasattr(os, "preadv"):
            got = os.preadv(self.fd, [memoryview(buf)[:n]], self.pos)
        else:
            data = os.pread(self.fd, n, self.pos)
            got = len(data)
            buf[:got] = data
        self.pos += got
        return got


def jsonl_lines(path: str | os.PathLike, warnings: list[str] | None = None, *, exact_fallback: bool = False,
                progress: Callable[[int, int], None] | None = None, start: int = 0, stop: int | None = None,
                first_line: int = 1, count: LinesRead | None = None) -> Iterator[tuple[int, bytes, Any]]:
    """(line number, line, parsed JSON) of each non-blank line of a JSON Lines history, streamed (orjson per line).

    The one line loop of the streaming readers (the columnar check, the large report), so they
    agree on what a history file is: it must be a regular file (`open_regular_file`) and not
    plainly another kind (`check_not_blank`); blank lines are skipped; a torn last line (no
    newline, not JSON, after at least one other line: a writer stopped mid-line) ends the
    lines with a warning appended to `warnings`; any other line that is not JSON raises
    HistoryError naming file and line. With `exact_fallback`, a line orjson refuses is given
    to the standard library's parser first (it reads what orjson cannot, such as integers
    beyond 64 bits in some orjson versions). `progress(bytes_read, total_bytes)` is called
    every million lines. Checking that a line is an op is the caller's.

    `start` and `stop` (byte offsets at line starts) read part of the file, numbering its lines
    from `first_line` (a part that does not begin the file is never its first line, for the
    torn-line rule); `count`, when given, is filled in when the loop ends."""
    import orjson

    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    n = first_line - 1
    with open_regular_file(path) as fh:
        total = os.fstat(fh.fileno()).st_size
        if start == 0:
            check_not_blank(fh.peek(4096)[:4096], path)
        src: IO[bytes] = fh if start == 0 and stop is None else io.BufferedReader(_ByteRange(fh.fileno(), start, stop), 1 << 20)
        for n, line in enumerate(src, first_line):
            if line.isspace():
                continue
            try:
                d = loads(line)
            except decode_error as e:
                if not line.endswith(b"\n") and (n > 1 or start > 0):  # only the last line read can lack its newline
                    if warnings is not None:
                        warnings.append(torn_line_warning(path, n))
                    if count is not None:
                        count.lines, count.torn = n - first_line + 1, n
                    return
                problem = f"not valid JSON ({str(e)[:200]})"
                if not exact_fallback:
                    raise HistoryError(problem, path=path, line=n) from None
                import json

                try:
                    d = json.loads(line)
                except (ValueError, RecursionError):
                    raise HistoryError(problem, path=path, line=n) from None
            yield n, line, d
            if progress is not None and n % 1_000_000 == 0:
                progress(src.tell(), total)
    if count is not None:
        count.lines = n - first_line + 1


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


def nemesis_actions(ops: Iterable[Op]) -> list[tuple[Op, Op | None]]:
    """The nemesis's actions as (opening op, its completion or None), in history order.

    A nemesis op followed by one with the same f that completes it is one action;
    an opening op with no completion (the run ended, or the next nemesis op is
    another f) stands alone. One pairing for the fault accounting and the report,
    which must agree on what each action was.
    """
    actions: list[tuple[Op, Op | None]] = []
    pending: Op | None = None
    for op in ops:
        if op.process != NEMESIS:
            continue
        if pending is not None and op.f == pending.f and op.type in COMPLETIONS:
            actions.append((pending, op))
            pending = None
        else:
            if pending is not None:
                actions.append((pending, None))
            pending = op
    if pending is not None:
        actions.append((pending, None))
    return actions
