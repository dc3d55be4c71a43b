"""Where the columnar check's time and memory go: CPU seconds, resident memory after, and the peak of each step.

Runs the check `prozess check` runs on one JSON Lines history, in this process, and prints
a row per step: reading into columns, the Analysis build's parts (the joins and log sort,
the read scan, the process-order pass), then each checker. A step's peak is its own: the
kernel's high-water mark (`VmHWM`) is reset before it (`/proc/self/clear_refs`), so a step
that frees what an earlier one held shows its own top, not the run's. This is the trace
`docs/architecture.md` ("Histories at scale") quotes for each change to the check's memory.

    .venv/bin/python benchmarks/check_steps.py FILE [--one-pass] [--txn]

Linux only (it reads `/proc/self/status`).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from typing import Any, Callable


def _status() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process, in MiB."""
    rss = hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) // 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) // 1024
    return rss, hwm


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


class Trace:
    """Rows of (step, CPU s, RSS before, RSS after, peak MiB), one per `measure` call, in the order they ended.

    Steps nest (the Analysis build holds the joins, the scan and the process pass): resetting the
    high-water mark for an inner step would lose the outer one's peak so far, so every open step
    keeps the highest mark seen before each reset."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int, int, int]] = []
        self.open: list[list[int]] = []  # per open step: [highest mark seen before an inner reset]

    def measure(self, name: str, fn: Callable[[], Any]) -> Any:
        rss_before, hwm = _status()
        for frame in self.open:
            frame[0] = max(frame[0], hwm)
        _reset_peak()
        frame = [0]
        self.open.append(frame)
        t = time.process_time()
        try:
            return fn()
        finally:
            cpu = time.process_time() - t
            self.open.pop()
            rss, hwm = _status()
            self.rows.append(("  " * len(self.open) + name, cpu, rss_before, rss, max(hwm, frame[0])))
            for outer in self.open:
                outer[0] = max(outer[0], frame[0], hwm)

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        fn = getattr(owner, attr)

        def traced(*args: Any, **kwargs: Any) -> Any:
            return self.measure(name, lambda: fn(*args, **kwargs))

        setattr(owner, attr, traced)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--one-pass", action="store_true", help="read the file in one pass (no second process)")
    ap.add_argument("--txn", action="store_true", help="also trace the txn checker's parts (vertices, spans, graphs)")
    args = ap.parse_args()

    import prozess.columnar as columnar
    import prozess.columnar_analysis as ca
    import prozess.columnar_check as cc
    import prozess.checkers as checkers

    if args.one_pass:
        columnar.SPLIT_BYTES = 1 << 62
    tr = Trace()
    tr.wrap(ca, "_Facts", "joins and log sort (_Facts)")
    tr.wrap(ca, "_scan", "read scan")
    tr.wrap(ca, "_process_cases", "process-order pass")
    tr.wrap(cc, "analysis_from_columns", "building the Analysis")
    for name in list(checkers.CHECKERS):
        fn = checkers.CHECKERS[name]
        checkers.CHECKERS[name] = (lambda fn, name: lambda *a: tr.measure(f"checker {name}", lambda: fn(*a)))(fn, name)
    if args.txn:
        import prozess.checkers.txn as txn

        for attr, name in (("Vertices", "txn: vertex arrays"), ("spans", "txn: spans of backward wr edges"),
                           ("select", "txn: members in the spans"), ("compact_graph", "txn: compact graph"),
                           ("components", "txn: cyclic components"), ("dependency_graph", "txn: networkx graph")):
            tr.wrap(txn, attr, name)
    own_stats, own_perf = columnar.stats, columnar.perf
    cc_stats = lambda c: tr.measure("checker stats", lambda: own_stats(c))  # noqa: E731
    cc_perf = lambda c: tr.measure("checker perf", lambda: own_perf(c))  # noqa: E731
    cc.stats, cc.perf = cc_stats, cc_perf

    t0 = time.monotonic()
    c = tr.measure("reading into columns", lambda: columnar.read_columns(args.file))
    entering = _status()[0]
    r = tr.measure("check (Analysis and checkers)", lambda: cc.check_columns(c, None, None))
    wall = time.monotonic() - t0
    print(f"{'step':<44} {'CPU s':>7} {'RSS before':>10} {'RSS after':>9} {'peak':>6}")
    for name, cpu, before, after, peak in tr.rows:
        print(f"{name:<44} {cpu:>7.2f} {before:>10} {after:>9} {peak:>6}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # (the peak is the steps' highest: resetting the mark resets getrusage's ru_maxrss too; a forked
    # reader's CPU is its own, not counted here)
    print(f"RSS after reading {entering} MiB; whole run {wall:.1f} s wall, "
          f"{usage.ru_utime + usage.ru_stime:.1f} s CPU in this process, peak {max(row[4] for row in tr.rows)} MiB; "
          f"valid={r['valid']} {r['anomaly-types']}")


if __name__ == "__main__":
    main()
