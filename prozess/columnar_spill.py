"""Fact columns on disk: the send and read tables of a long history live in files, not in the process's memory.

A history's send and read rows outnumber its ops (about 92M rows for 40M ops) and are its
largest columns. While it reads a large file (`SPILL_BYTES`), the reader (`prozess.columnar`)
appends every `SPILL_ROWS` of them to a `SpilledColumn`: an unlinked temporary file per
column, so nothing is left behind whatever ends the process. When reading is done each
column becomes a read-only memory map of its file (`finish`), which the checks read like
any numpy array. Its pages are the kernel's page cache: clean, shared and given back under
memory pressure, unlike the process's own (anonymous) memory; `drop_pages`, run between the
check's passes (`release_free_memory`), also unmaps them from the process, so its resident
size does not keep every page a pass once read. The files are written once, in order, and
never changed.

The files go to the system's temporary directory (`TMPDIR`); on a machine whose temporary
directory is memory (tmpfs), point `TMPDIR` at a disk.
"""

from __future__ import annotations

import mmap
import tempfile
import weakref
from array import array
from typing import Any, Callable

import numpy as np

SPILL_BYTES = 1 << 30  # histories of at least this many bytes (about 6M ops) keep their fact rows on disk
SPILL_ROWS = 1 << 20   # rows of a column held in memory before they are appended to its file
_DTYPE = {"b": np.dtype(np.int8), "h": np.dtype(np.int16), "i": np.dtype(np.int32), "q": np.dtype(np.int64)}
_CODE = {dt.itemsize: code for code, dt in _DTYPE.items()}  # a signed integer width -> its typecode
_MAPS: "weakref.WeakSet[mmap.mmap]" = weakref.WeakSet()  # every live map, for `drop_pages`


class SpilledColumn:
    """An append-only signed integer column in an unlinked temporary file, written in chunks of 1- to 8-byte
    rows (a builder array widens when a value does not fit, so a column's chunks may differ in width)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="prozess-spill-")
        self.chunks: list[tuple[str, int]] = []  # (typecode, rows) of each chunk, in file order
        self.rows = 0

    def append(self, col: array | np.ndarray) -> None:
        """Appends the rows of a builder array (or a numpy array of signed integers)."""
        if not len(col):
            return
        if isinstance(col, array):
            code = col.typecode
        else:
            if col.dtype.kind != "i":
                raise TypeError(f"a spilled column holds signed integers, not {col.dtype}")
            code = _CODE[col.dtype.itemsize]
        col.tofile(self.file)
        if self.chunks and self.chunks[-1][0] == code:
            self.chunks[-1] = (code, self.chunks[-1][1] + len(col))
        else:
            self.chunks.append((code, len(col)))
        self.rows += len(col)

    @property
    def typecode(self) -> str:
        """The widest width of its chunks ("i" when empty)."""
        return max((code for code, _ in self.chunks), key=lambda c: _DTYPE[c].itemsize, default="i")

    def pieces(self, rows: int | None = None) -> Any:
        """The column's rows in file order, `rows` (`SPILL_ROWS`) at a time, each piece in its chunk's own width."""
        rows = rows or SPILL_ROWS
        self.file.flush()
        at = 0
        for code, n in self.chunks:
            dt = _DTYPE[code]
            for lo in range(0, n, rows):
                k = min(rows, n - lo)
                piece = np.empty(k, dt)
                self.file.seek(at)
                if self.file.readinto(memoryview(piece).cast("B")) != piece.nbytes:
                    raise OSError("a spilled column is shorter than written")
                at += piece.nbytes
                yield piece
        self.file.seek(0, 2)

    def close(self) -> None:
        self.file.close()


def finish(col: SpilledColumn, narrow: Callable[[int, int], bool] | None = None,
           convert: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The column as a read-only memory map of one width: as written when its chunks share a width and nothing is
    asked; else rewritten a chunk at a time into a new file, through `convert` (each piece in the widest width
    when the chunks differ) or, when `narrow(min, max)` says an 8-byte column's values fit, as int32."""
    code = col.typecode
    if code == "q" and narrow is not None and col.rows:
        lo = hi = None
        for piece in col.pieces():
            a, b = int(piece.min()), int(piece.max())
            lo, hi = (a, b) if lo is None else (min(lo, a), max(hi, b))
        if narrow(lo, hi):
            convert = convert or (lambda x: x.astype(np.int32))
    if convert is None and len(col.chunks) <= 1:
        return _map(col.file, _DTYPE[code], col.rows)
    out = SpilledColumn()
    for piece in col.pieces():
        out.append((convert or (lambda x: x))(piece.astype(_DTYPE[code], copy=False)))
    col.close()
    if len(out.chunks) > 1:  # a convert that gave chunks of two widths: one width, the widest
        return finish(out)
    return _map(out.file, _DTYPE[out.typecode], out.rows)


def _map(file: Any, dtype: np.dtype, rows: int) -> np.ndarray:
    """A read-only numpy view of `rows` rows of `file` (an empty array for none)."""
    file.flush()
    if not rows:
        file.close()
        return np.zeros(0, dtype)
    m = mmap.mmap(file.fileno(), rows * dtype.itemsize, access=mmap.ACCESS_READ)
    file.close()  # the map keeps the (unlinked) file alive until it is gone
    _MAPS.add(m)
    out = np.frombuffer(m, dtype, rows)
    return out


def count_equal(x: np.ndarray, value: int, rows: int | None = None) -> int:
    """How many rows of `x` equal `value`, `rows` (`SPILL_ROWS`) at a time (no mask over every row)."""
    rows = rows or SPILL_ROWS
    return sum(int(np.count_nonzero(x[lo:lo + rows] == value)) for lo in range(0, len(x), rows))


def drop_pages() -> None:
    """Unmaps the pages of every spilled column from this process (they stay in the page cache and come back
    when read): its resident size then holds what the passes keep, not every page they once read."""
    for m in list(_MAPS):
        try:
            m.madvise(mmap.MADV_DONTNEED)
        except (ValueError, OSError):  # closed, or a platform without it
            pass


def on_disk(x: np.ndarray) -> bool:
    """Whether `x` is (a view of) the memory map of a spilled column."""
    base = x
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap) and base.obj in _MAPS


def to_disk(x: np.ndarray) -> np.ndarray:
    """Array `x` as a read-only memory map of an unlinked file holding a copy of it: for the arrays a check of a
    spilled history builds once and keeps to the end (its op columns, the Analysis's tables), which are then
    page cache as the fact columns are. An empty array, or one already on disk, stays as it is."""
    if not len(x) or on_disk(x):
        return x
    out = tempfile.TemporaryFile(prefix="prozess-spill-")
    np.ascontiguousarray(x).tofile(out)
    return _map(out, x.dtype, len(x))


class SpilledParts:
    """The parts a pass makes, one tuple of integer arrays per chunk, kept to be joined into columns at the end
    (`columns`): as the list of tuples in memory, or, for a spilled history, appended to one `SpilledColumn`
    per column as they come, so the parts and their join never stand in memory (the read scan's rw pairs and
    the log arrays are among the largest tables a check keeps)."""

    def __init__(self, spilled: bool):
        self.spilled = spilled
        self.parts: list[tuple] = []
        self.files: list[SpilledColumn] | None = None

    def append(self, part: tuple) -> None:
        if not self.spilled:
            self.parts.append(part)
            return
        if self.files is None:
            self.files = [SpilledColumn() for _ in part]
        for file, x in zip(self.files, part):
            file.append(np.asarray(x))

    def columns(self, empty: list[np.ndarray]) -> list[np.ndarray]:
        """The columns, each its parts laid end to end (`empty[j]` for a column with no rows); memory maps when
        spilled. Empties the parts."""
        if not self.spilled:
            parts, self.parts = self.parts, []
            if not parts:
                return empty
            chunks = [list(x) for x in zip(*parts)]
            parts.clear()
            out = []
            for j in range(len(chunks)):  # one column at a time, its chunks dropped before the next is made
                out.append(np.concatenate(chunks[j]))
                chunks[j] = None  # type: ignore[call-overload]
            return out
        files, self.files = self.files, None
        if files is None:
            return empty
        out = []
        for file, e in zip(files, empty):
            if not file.rows:
                file.close()
            out.append(finish(file) if file.rows else e)
        return out
