"""Reading a large JSON Lines history into columns on two cores: the second half in a child process.

`read_split(path, cut)` reads bytes [0, cut) itself and has a child process read [cut, end)
at the same time, each into its own `_Builder` (`prozess.columnar`); `cut` is a line start.
The child writes its arrays to a temporary file (each `array` as its bytes, no pickling of
rows) and sends the small rest (interned keys and fs, the per-position dicts, its open
invocations and the completions it could not pair) through a pipe. The parent then appends
the child's arrays to its own a chunk at a time — positions shifted, key and f ids mapped
to its tables — so the merge holds the columns once plus one chunk, and pairs across the
cut what the child left open:

- a completion whose invocation lies in the first half (the child keeps it as an orphan) is
  paired with the invocation the first half left open for that process;
- the nemesis's pairing (an op closes the open one of the same f) is replayed over the
  child's nemesis ops when the first half ends with one open;
- the invocations still open at the end are the first half's not closed by the child plus
  the child's, and `complete()` ends them as one pass would.

Anything the merge cannot prove equal to one pass — a line the child refused, a value that
is not a 64-bit integer in either half (the interned table's ids depend on file order), an
index not above the first half's last, a completion with no matching open invocation, a
process invoking while its op from the first half is open — makes the parent read the
second half itself, on from where it stopped: the one-pass result and the one-pass error
(same message, same line), at one-pass speed. So the split never changes what a history
reads as; it only makes a clean large one faster.

The child is forked when this process runs no other thread (cheap: nothing to import). Otherwise
(forking a threaded process can deadlock the child) it is a fresh interpreter running this module
(`python -m prozess.columnar_split`), which sends its result on its standard output; not
multiprocessing's spawn, which would import the caller's main module again in the child.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from array import array
from pathlib import Path
from typing import Any, Callable

import numpy as np

from prozess.columnar import INVOKE, NEMESIS_P, _Builder, read_lines
from prozess.history import NEMESIS, gc_paused
from prozess.history_model import LinesRead, jsonl_lines, torn_line_warning

# The builder's arrays in the order the child writes them, and how the merge shifts or maps each.
_SHIFT = ("pair", "s_op", "r_op", "pollers")  # positions: + the first half's op count (-1 stays -1 in pair)
_KEY = ("s_key", "r_key")                     # key ids: through the map to the first half's key table
_COLUMNS = ("index", "time", "type", "process", "f", "pair", "s_op", "s_key", "s_val", "s_off",
            "r_op", "r_key", "r_val", "r_off", "pollers")
MERGE_ROWS = 1 << 22  # rows of one column appended at a time (bounds the merge's temporaries)
START_METHOD: str | None = None  # "fork" or "exec" to force one (tests); None: fork unless other threads run


def read_split(path: Path, cut: int, *, warnings: list[str] | None = None,
               progress: Callable[[int, int], None] | None = None) -> _Builder:
    """The builder of the whole file, read as bytes [0, cut) here and [cut, end) in a child process at once."""
    fd, tmp = tempfile.mkstemp(prefix="prozess-columns-", suffix=".bin")
    os.close(fd)
    child = _Child(_start_method(), str(path), cut, tmp)
    total = os.stat(path).st_size
    half_progress = None
    if progress is not None:  # the first half's bytes stand for both halves' (they are read at the same pace)
        def half_progress(done: int, _total: int) -> None:
            progress(min(total, done * total // max(cut, 1)), total)
    try:
        child.start()
        b = _Builder()
        count = LinesRead()
        read_lines(b, jsonl_lines(path, warnings, progress=half_progress, stop=cut, count=count), path)
        outcome = child.result()
        if outcome[0] == "done" and _mergeable(b, outcome[1]):
            meta = outcome[1]
            _merge(b, meta, tmp)
            if meta["torn"] is not None and warnings is not None:
                warnings.append(torn_line_warning(path, meta["torn"] + count.lines))
            return b
        read_lines(b, jsonl_lines(path, warnings, progress=progress, start=cut, first_line=count.lines + 1), path)
        return b
    finally:
        child.stop()
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _start_method() -> str:
    if START_METHOD is not None:
        return START_METHOD
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "exec"


class _Child:
    """The reader of the second half: a forked process answering through a pipe, or a fresh interpreter
    (`python -m prozess.columnar_split PATH START OUT`) answering on its standard output."""

    def __init__(self, method: str, path: str, start: int, out: str):
        self.method, self.args = method, (path, start, out)
        self.process: Any = None
        self.receive: Any = None

    def start(self) -> None:
        if self.method == "fork":
            ctx = multiprocessing.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=_read_part, args=(*self.args, send), daemon=True, name="prozess-read-half")
            self.process.start()
            send.close()
        else:
            import subprocess
            import sys

            self.process = subprocess.Popen([sys.executable, "-m", "prozess.columnar_split", *map(str, self.args)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)

    def result(self) -> tuple[str, Any]:
        """("done", what the child sent) or ("again", why not); waits for the child."""
        import pickle

        try:
            if self.method == "fork":
                outcome = self.receive.recv()
                self.process.join()
                return outcome
            data = self.process.stdout.read()
            self.process.wait()
            return pickle.loads(data) if self.process.returncode == 0 else ("again", f"exit {self.process.returncode}")
        except (EOFError, OSError, pickle.UnpicklingError):  # the child died (killed, out of memory)
            return ("again", "the second half's reader ended without a result")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.method == "fork":
            if self.process.is_alive():
                self.process.terminate()
                self.process.join()
            self.receive.close()
        else:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()


class _Stdout:
    """`send` as a pickle on the standard output, for the child run as `python -m prozess.columnar_split`."""

    def send(self, obj: Any) -> None:
        import pickle
        import sys

        sys.stdout.buffer.write(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        sys.stdout.buffer.flush()

    def close(self) -> None:
        pass


def _read_part(path: str, start: int, out: str, conn: Any) -> None:
    """The child: reads bytes [start, end) of `path` into a builder, writes its arrays to `out` and sends
    ("done", the rest) — or ("again", why) when the parent must read this half itself."""
    try:
        with gc_paused():
            b = _Builder(part=True)
            count = LinesRead()
            read_lines(b, jsonl_lines(path, [], start=start, count=count), Path(path))
            if not b.raw:
                conn.send(("again", "a value that is not a 64-bit integer"))
                return
            with open(out, "wb") as fh:
                for name in _COLUMNS:
                    getattr(b, name).tofile(fh)
            process = np.frombuffer(b.process, np.int64) if len(b.process) else np.zeros(0, np.int64)
            kind = np.frombuffer(b.type, np.int8) if len(b.type) else np.zeros(0, np.int8)
            client = np.nonzero(process != NEMESIS_P)[0]
            ps, first = np.unique(process[client], return_index=True)
            nemesis = np.nonzero(process == NEMESIS_P)[0]
            fs = list(b.fs)
            conn.send(("done", {
                "lengths": {name: len(getattr(b, name)) for name in _COLUMNS},
                "fs": fs, "keys": list(b.keys),
                "first_index": b.index[0] if b.index else None,
                # processes whose first op in this half is an invocation (one still open before it is an error)
                "first_invokes": ps[kind[client[first]] == INVOKE].tolist(),
                "orphans": b.orphans, "open": b.open,
                "nemesis": [(int(i), int(kind[i]), fs[b.f[i]]) for i in nemesis.tolist()],
                "subs": b.subs, "extra": b.extra, "final_reads": b.final_reads,
                "torn": count.torn,
            }))
    except BaseException as e:  # noqa: BLE001 — whatever it was, the parent reads this half itself and says it
        try:
            conn.send(("again", f"{type(e).__name__}: {e}"))
        except Exception:  # noqa: BLE001 — the pipe is gone; the parent sees EOF
            pass
    finally:
        conn.close()


def _mergeable(b: _Builder, meta: dict) -> bool:
    """Whether the child's half joins the first half's builder `b` exactly as one pass would have read on."""
    if not b.raw:
        return False
    if b.index and meta["first_index"] is not None and meta["first_index"] <= b.index[-1]:
        return False
    open_client = {p for p in b.open if p != NEMESIS}
    if open_client.intersection(meta["first_invokes"]):
        return False
    claimed = set()
    for _, p, f in meta["orphans"]:
        j = b.open.get(p) if p != NEMESIS else None
        if j is None or j[1] != f or p in claimed:
            return False
        claimed.add(p)
    return True


def _merge(b: _Builder, meta: dict, path: str) -> None:
    """Appends the child's half (`meta` and the arrays in file `path`) to the first half's builder `b`."""
    n = len(b.index)
    fmap = np.array([_intern(b.fs, f) for f in meta["fs"]] or [0], np.int16)
    kmap = np.array([b.key_id(k) for k in meta["keys"]] or [0], np.int32)
    lengths = meta["lengths"]
    with open(path, "rb") as fh:
        for name in _COLUMNS:
            col: array = getattr(b, name)
            rows = lengths[name]
            for lo in range(0, rows, MERGE_ROWS):
                chunk = np.empty(min(MERGE_ROWS, rows - lo), np.dtype(col.typecode))
                if fh.readinto(memoryview(chunk).cast("B")) != chunk.nbytes:
                    raise OSError(f"{path}: the second half's columns are shorter than written")
                if name == "f":
                    chunk = fmap[chunk]
                elif name in _KEY:
                    chunk = kmap[chunk]
                elif name == "pair":
                    chunk[chunk >= 0] += n
                elif name in _SHIFT:
                    chunk += n
                col.frombytes(memoryview(chunk).cast("B"))
    b.subs.update((pos + n, v) for pos, v in meta["subs"].items())
    b.extra.update((pos + n, v) for pos, v in meta["extra"].items())
    b.final_reads.update((pos + n, kmap[keys].tolist() if keys else []) for pos, keys in meta["final_reads"].items())
    for pos, p, _ in meta["orphans"]:  # completions of invocations the first half left open
        j = b.open.pop(p)[0]
        b.pair[j] = pos + n
        b.pair[pos + n] = j
    child_open = {p: (pos + n, f, value, index) for p, (pos, f, value, index) in meta["open"].items()}
    if NEMESIS in b.open:  # replay the nemesis's pairing over the child's nemesis ops from the open one
        state = b.open.pop(NEMESIS)
        child_open.pop(NEMESIS, None)
        for pos, _, _ in meta["nemesis"]:
            b.pair[pos + n] = -1
        for pos, t, f in meta["nemesis"]:
            if state is not None and t != INVOKE and state[1] == f:
                b.pair[state[0]] = pos + n
                b.pair[pos + n] = state[0]
                state = None
            else:
                state = (pos + n, f, None, b.index[pos + n])
        if state is not None:
            child_open[NEMESIS] = state
    b.open.update(child_open)


def _intern(table: dict[str, int], name: str) -> int:
    i = table.get(name)
    if i is None:
        i = table[name] = len(table)
    return i


if __name__ == "__main__":
    import sys

    _read_part(sys.argv[1], int(sys.argv[2]), sys.argv[3], _Stdout())
