"""Read-only views that answer like the `Analysis`'s lists, dicts and sets but keep numpy arrays underneath.

The dict-based `Analysis` holds one Python object per fact: each key's writers, the values
read ok, each key's version order. On a history of ten million ops those objects alone
take gigabytes. The columnar `Analysis` (`prozess.columnar_analysis`) hands the checkers
these views instead: a lookup is a binary search in a sorted code array (code = key id *
number of values + value id; 4 bytes while every code fits), and Python objects are made
only for what a checker actually looks at (the cases it reports, a few thousand graph
vertices).

- `IntList`: a sequence of Python ints over an int64 array (op positions, offsets).
- `ValueList`: a sequence of values over an array of value ids.
- `KeyedCodes`: key -> `CodeMap` (value -> int, e.g. writer_of) or `CodeSet` (e.g. read_ok).
- `ArrayOrder`: a `VersionOrder` whose offsets, values and value -> index map are views
  (used for a key whose log has no conflicting or repeated value; other keys keep dicts).
- `Membership`: `x in is_node` over a boolean mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any, Callable, Iterator

import numpy as np

from prozess.checkers.analysis import VersionOrder
from prozess.columnar import take

__all__ = ["ArrayOrder", "CodeMap", "CodeSet", "IntList", "KeyedCodes", "Membership", "ValueList"]

_BATCH = 1 << 16


class IntList(Sequence):
    """Python ints over an int array (int64, or int32 for op positions); slices are lists."""

    def __init__(self, arr: np.ndarray):
        self.array = arr

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self.array[i].tolist()
        return int(self.array[i])

    def __iter__(self) -> Iterator[int]:
        for lo in range(0, len(self.array), _BATCH):
            yield from self.array[lo:lo + _BATCH].tolist()

    def __add__(self, other: Any) -> list:
        return self.array.tolist() + list(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class PairList(Sequence):
    """(int, int) tuples over two int arrays: `ReadScan.wr_windows` of a long history, which has millions of
    them (a tuple of two ints is about 100 bytes; here 8 or 16). `arrays()` gives the two arrays."""

    def __init__(self, first: np.ndarray, second: np.ndarray):
        self._first, self._second = first, second

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._first, self._second

    def __len__(self) -> int:
        return len(self._first)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(zip(self._first[i].tolist(), self._second[i].tolist()))
        return int(self._first[i]), int(self._second[i])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for lo in range(0, len(self._first), _BATCH):
            yield from zip(self._first[lo:lo + _BATCH].tolist(), self._second[lo:lo + _BATCH].tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class ValueList(Sequence):
    """Values over an array of value ids into `values` (the columns' table); slices are lists."""

    def __init__(self, ids: np.ndarray, values: Any):
        self._ids, self._values = ids, values

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return take(self._values, self._ids[i])
        return self._values[int(self._ids[i])]

    def __iter__(self) -> Iterator[Any]:
        for lo in range(0, len(self._ids), _BATCH):
            yield from take(self._values, self._ids[lo:lo + _BATCH])


class _Codes:
    """The codes of one key in a sorted code array: [lo, hi), values are code - base."""

    __slots__ = ("_codes", "_lo", "_hi", "_base", "_value_id", "_values")

    def __init__(self, codes: np.ndarray, lo: int, hi: int, base: int, value_id: Callable[[Any], int | None], values: Any):
        self._codes, self._lo, self._hi, self._base = codes, lo, hi, base
        self._value_id, self._values = value_id, values

    def _find(self, v: Any) -> int:
        """Position of value v's code in the code array, or -1."""
        vid = self._value_id(v)
        if vid is None:
            return -1
        code = self._base + vid
        j = self._lo + int(self._codes[self._lo:self._hi].searchsorted(code))
        return j if j < self._hi and self._codes[j] == code else -1

    def __len__(self) -> int:
        return self._hi - self._lo

    def __iter__(self) -> Iterator[Any]:
        for lo in range(self._lo, self._hi, _BATCH):
            yield from take(self._values, self._codes[lo:min(lo + _BATCH, self._hi)] - self._base)


class CodeSet(_Codes, Set):
    """The set of values of one key (`read_ok[k]`, `failed[k]`); set operations give plain sets."""

    __slots__ = ()

    def __contains__(self, v: object) -> bool:
        return self._find(v) >= 0

    @classmethod
    def _from_iterable(cls, it: Any) -> set:
        return set(it)


class CodeMap(_Codes, Mapping):
    """value -> int of one key (`writer_of[k]`), the int from a result array parallel to the codes."""

    __slots__ = ("_result",)

    def __init__(self, codes: np.ndarray, lo: int, hi: int, base: int, value_id: Callable[[Any], int | None], values: Any,
                 result: np.ndarray):
        super().__init__(codes, lo, hi, base, value_id, values)
        self._result = result

    def __getitem__(self, v: Any) -> int:
        j = self._find(v)
        if j < 0:
            raise KeyError(v)
        return int(self._result[j])

    def __contains__(self, v: object) -> bool:
        return self._find(v) >= 0


class KeyedCodes(Mapping):
    """key -> `CodeSet` (no result array) or `CodeMap` of that key's codes, for keys that have any."""

    def __init__(self, codes: np.ndarray, nv: int, keys: list, value_id: Callable[[Any], int | None], values: Any,
                 result: np.ndarray | None = None):
        self._codes, self._nv, self._result = codes, nv, result
        self._value_id, self._values = value_id, values
        bounds = np.arange(len(keys) + 1, dtype=np.int64) * nv
        # 4-byte codes: search as their type (numpy would copy them all to 8 bytes); every code is below the max
        if codes.dtype.kind == "i" and codes.dtype.itemsize < 8:
            bounds = np.minimum(bounds, np.iinfo(codes.dtype).max).astype(codes.dtype)
        cut = np.searchsorted(codes, bounds).tolist()
        self._range = {keys[k]: (k, cut[k], cut[k + 1]) for k in range(len(keys)) if cut[k] < cut[k + 1]}

    def __getitem__(self, key: Any) -> Any:
        k, lo, hi = self._range[key]
        if self._result is None:
            return CodeSet(self._codes, lo, hi, k * self._nv, self._value_id, self._values)
        return CodeMap(self._codes, lo, hi, k * self._nv, self._value_id, self._values, self._result)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._range)

    def __len__(self) -> int:
        return len(self._range)


class ArrayOrder(VersionOrder):
    """A key's `VersionOrder` over the log arrays, for a log whose values are distinct and unconflicted
    (`extra` empty, `first_offset` None: the offset of a value is the offset at its dense index)."""

    __slots__ = ()

    @classmethod
    def of(cls, offsets: np.ndarray, ids: np.ndarray, values: Any, by_value: CodeMap) -> "ArrayOrder":
        vo = cls.__new__(cls)
        vo.offsets = IntList(offsets)
        vo.by_index = ValueList(ids, values)
        vo.by_value = by_value
        vo.extra = {}
        vo.first_offset = None
        return vo


class Membership:
    """`x in m` for op positions, over a boolean mask (the txn graph's vertex set)."""

    def __init__(self, mask: np.ndarray):
        self._mask = mask

    def __contains__(self, i: object) -> bool:
        return isinstance(i, (int, np.integer)) and 0 <= i < len(self._mask) and bool(self._mask[i])

    def __len__(self) -> int:
        return int(self._mask.sum())
