"""Report at scale: a history of N ops -> report.html: generation wall/CPU/peak memory, page and side-file sizes,
and Chromium's time to ready.

Targets: report.html <= 60 MB and Chromium ready (the page's script marks
<body data-ready="1"> once the table's first page and the timeline are drawn) in <= 5 s,
for 10M ops; generation within ~2 GiB peak. Up to 1M ops the history is
prozess.simulate's (an injected lost write, a partition and a kill added) with the real
checkers' results.json, as a run directory has them. Larger histories repeat that 1M-op
run with keys, processes, indices and times shifted per copy (streamed to disk one line at
a time); results.json is the first copy's (the cited ops lie in it). Report generation runs
in a child process (its own rusage: wall, CPU, peak RSS) and includes reading the history.

    .venv/bin/python benchmarks/report_scale.py [--ops N] [--history PATH] [--out DIR] [--no-browser]

`--history` reuses a run directory (or a history.jsonl inside one) made by an earlier
`--out DIR` run, since making a 10M-op history takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prozess.report.large import PAGES_DIR
from prozess.store import Run


def _with_faults(ops: list) -> list:
    """Adds a partition and a kill (Jepsen-style nemesis info op pairs) at fixed fractions, re-indexed."""
    from prozess.history import Op

    marks = {int(len(ops) * 0.3): ("start-partition", "halves"), int(len(ops) * 0.5): ("stop-partition", None),
             int(len(ops) * 0.7): ("kill", ["n2"]), int(len(ops) * 0.8): ("start", ["n2"])}
    out = []
    for i, op in enumerate(ops):
        if i in marks:
            f, value = marks[i]
            out += [Op(0, op.time, "info", "nemesis", f, value), Op(0, op.time, "info", "nemesis", f, value)]
        out.append(op)
    return [op._replace(index=i) for i, op in enumerate(out)]


BASE = 1_000_000  # ops simulated at once; larger histories repeat them


def _history(run: Path, n_ops: int) -> str:
    """Writes history.jsonl, test.json and results.json (checked, as the runner does) into `run`."""
    from prozess import simulate
    from prozess.checkers import check
    from prozess.history import History, write_jsonl

    ops = simulate.simulate(min(n_ops, BASE), seed=1)
    ops = simulate.inject(ops, "lost-write", seed=1) or ops
    ops = _with_faults(ops)
    files = Run(run)
    write_jsonl(ops, files.history_path)
    files.test_path.write_text(json.dumps({"name": "scale", "workload": "queue", "seed": 1, "faults": ["partition", "kill"]}))
    t = time.perf_counter()
    results = check(History(ops))
    print(f"  (checkers on the history, not part of report generation: {time.perf_counter() - t:.1f} s, valid={results['valid']})")
    files.results_path.write_text(json.dumps(results, default=str))
    if n_ops > len(ops):
        del ops
        copies = _repeat(files.history_path, n_ops)
        return f"prozess.simulate + inject lost-write + checkers, repeated {copies} times"
    return "prozess.simulate + inject lost-write + checkers"


def _repeat(path: Path, n_ops: int) -> int:
    """Repeats the history at `path` until it holds about n_ops ops: keys, processes, indices and times shifted per copy."""
    import orjson

    key = re.compile(rb'"(\d+)"')
    base = path.with_suffix(".base")
    path.rename(base)
    index = t_base = 0
    copies = 0
    with open(path, "wb") as out:
        while index < n_ops:
            last_time = 0
            with open(base, "rb") as fh:
                for line in fh:
                    d = orjson.loads(key.sub(b'"c%d-\\1"' % copies, line) if copies else line)
                    d["index"] = index
                    index += 1
                    last_time = d["time"]
                    d["time"] += t_base
                    if isinstance(d["process"], int):  # past every id of the copy before (crashes make new ones)
                        d["process"] += copies * 1_000_000
                    out.write(orjson.dumps(d) + b"\n")
            t_base += last_time + 1_000_000
            copies += 1
    base.unlink()
    return copies


# The child's own peak: VmHWM of its address space. (wait4's ru_maxrss would also count the
# memory of this process at fork time, i.e. the simulated history still held here.)
_GENERATE = """
import sys
from prozess.report import write_report
write_report(sys.argv[1], large_ops=int(sys.argv[2]) if sys.argv[2] != "default" else None)
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0])
"""


def _generate(run: Path, large_ops: int | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of `write_report(RUN)` (what `prozess report RUN` calls) in a child process."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", _GENERATE, str(run), "default" if large_ops is None else str(large_ops)],
                         stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the report of {run} failed (exit {os.waitstatus_to_exitcode(status)})")
    return wall, usage.ru_utime + usage.ru_stime, int(out.split()[-1]) / 1024


def _browser_time(report: Path, timeout_s: float = 180.0) -> float:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="prozess-bench-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path=shutil.which("chromium") or "chromium",
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync"],
                viewport={"width": 1366, "height": 900},
            )
            try:
                page = ctx.new_page()
                t = time.perf_counter()
                page.goto(report.resolve().as_uri(), timeout=timeout_s * 1000, wait_until="commit")
                page.wait_for_selector("body[data-ready='1']", timeout=timeout_s * 1000)
                ready = time.perf_counter() - t
                timings = page.evaluate("window.prozessReport.timings")
                print("  in the page (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
                t2 = time.perf_counter()
                if page.evaluate("!!window.prozessReport.large"):
                    # one interaction: the last table page (another side file) and a zoom to single ops
                    page.click("#pg-last")
                    page.wait_for_function("window.prozessReport.loaded().length > 1", timeout=60000)
                    page.evaluate("window.prozessReport.setView(1e6, 2e6)")
                    page.wait_for_function("document.getElementById('timeline-canvas').dataset.mode === 'detail'", timeout=60000)
                    print(f"  last page + zoom to single ops round-trip: {time.perf_counter() - t2:.2f} s")
                else:
                    # one interaction: filter the table by type and move the timeline, to see it stays responsive
                    page.select_option("#flt-type", "info")
                    page.wait_for_function("document.getElementById('match-count').textContent.indexOf(' of ') > 0", timeout=60000)
                    page.evaluate("window.prozessReport.setView(1e6, 5e6)")
                    print(f"  filter + zoom round-trip: {time.perf_counter() - t2:.2f} s")
                return ready
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--history", type=Path, default=None, help="reuse this run directory (or its history.jsonl) instead of making one")
    ap.add_argument("--out", type=Path, default=None, help="keep the run here (default: a temporary dir)")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--large-ops", type=int, default=None,
                    help="lines from which the report is the large-history one (default: prozess.report.large.LARGE_OPS); "
                         "a huge value measures the embedded report")
    args = ap.parse_args()
    tmp = None
    if args.history is not None:
        run = args.history if args.history.is_dir() else args.history.parent
        if not Run(run).history_path.exists():
            print(f"{args.history}: no history.jsonl there; pass a run directory made with --out", file=sys.stderr)
            return 2
    else:
        run = args.out
        if run is None:
            tmp = tempfile.mkdtemp(prefix="prozess-report-scale-")
            run = Path(tmp) / "run"
        run.mkdir(parents=True, exist_ok=True)
    try:
        history = Run(run).history_path
        if args.history is None:
            t = time.perf_counter()
            source = _history(run, args.ops)
            print(f"history from {source} in {time.perf_counter() - t:.1f} s")
        lines = sum(1 for _ in open(history, "rb"))
        print(f"history: {lines} ops, {history.stat().st_size / 1e6:.1f} MB jsonl")
        gen, cpu, peak = _generate(run, args.large_ops)
        report = Run(run).report_path
        size = report.stat().st_size / 1e6
        pages = run / PAGES_DIR
        side = sum(p.stat().st_size for p in pages.iterdir()) / 1e6 if pages.is_dir() else 0.0
        files = len(list(pages.iterdir())) if pages.is_dir() else 0
        print(f"report generation: {gen:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.0f} MiB (target <= 2048 MiB) "
              f"{'OK' if peak <= 2048 else 'OVER'}{'' if gen < 2 * cpu + 5 else ' (wall >> CPU: the machine is busy with other work)'}")
        print(f"report.html size: {size:.1f} MB (target <= 60 MB) {'OK' if size <= 60 else 'OVER'}")
        print(f"side files: {files} in history-pages/, {side:.1f} MB in all")
        ok = size <= 60 and peak <= 2048
        if not args.no_browser:
            ready = _browser_time(report)
            print(f"chromium time to ready: {ready:.1f} s (target <= 5 s) {'OK' if ready <= 5 else 'OVER'}")
            ok = ok and ready <= 5
        return 0 if ok else 1
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
