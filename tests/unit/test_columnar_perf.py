"""The columnar perf pass's pieces against their plain definitions (the whole pass is held to the dict-based
perf on every saved and simulated history in test_columnar.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.checkers import stats as old_stats
from prozess.columnar import _per_second, perf, read_columns
from prozess.history import read_history, write_jsonl
from prozess.simulate import simulate


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-2**40, 2**40), max_size=40), st.lists(st.integers(0, 50), max_size=200),
       st.integers(-2**40, 2**40))
def test_per_second_counts_every_second_once_in_order(far, near, base):
    """Seconds close together (the bincount) and far apart (the sort) give [[second, count], ...] ascending."""
    seconds = np.array(far + [base + x for x in near], np.int64)
    want = sorted([s, n] for s, n in Counter(seconds.tolist()).items())
    assert _per_second(seconds) == want
    assert _per_second(seconds[:len(near)]) == sorted([s, n] for s, n in Counter(seconds[:len(near)].tolist()).items())


@pytest.mark.parametrize("seed", [1, 2])
def test_perf_in_chunks_equals_the_dict_based_perf(tmp_path, seed):
    """Chunks of a few rows (an invocation and its completion in different chunks, a second's completions
    counted across chunks) give exactly the dict-based perf: quantiles per f and per (f, type), throughput."""
    ops = simulate(3000, keys=4, processes=5, seed=seed, txn=True, info_rate=0.05)
    path = tmp_path / "h.jsonl"
    write_jsonl(ops, path)
    want = old_stats.perf(read_history(path).complete().ops)
    c = read_columns(path)
    assert len(want["throughput"]) >= 2 and len(want["latency-ms-by-type"]) >= 2
    assert sum(len(v) for v in want["latency-ms-by-type"].values()) > len(want["latency-ms-by-type"])  # ok and info
    for rows in (1, 3, 17, 1000, len(c)):
        assert perf(c, rows) == want
