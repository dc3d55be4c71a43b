"""Which checkers check a workload's history by default: data both sides of the map may read.

The workload registry (`prozess.workloads.registry`) names, for each workload, the
checkers its histories get; the checkers need the same table to check a saved run
whose test.json lists no checkers. Checkers must not import workloads (they know
only the history model and shared data models), so the table lives here, as plain
data with no import, and the registry takes each workload's row from it
(`tests/unit/test_workload_registry.py` holds the two to the same names).
"""

from __future__ import annotations

__all__ = ["DEFAULT_CHECKERS", "QUEUE_CHECKERS"]

#: Every queue-shaped history: Jepsen's taxonomy, the txn graph (also without transactions: a poll
#: that sees a send invoked after the poll finished is a wr + real-time cycle), offsets, stats, perf.
QUEUE_CHECKERS: tuple[str, ...] = ("queue", "txn", "offsets", "stats", "perf")

#: workload name -> the checkers its histories get unless the test names its own.
DEFAULT_CHECKERS: dict[str, tuple[str, ...]] = {
    "queue": QUEUE_CHECKERS,
    "eos": ("eos", "stats", "perf"),
    "group": ("group", "stats", "perf"),
    "compaction": ("compaction", "stats", "perf"),
    "mirror": ("mirror", "stats", "perf"),
}
