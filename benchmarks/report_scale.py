"""Report at scale: a 1M-op history -> report.html generation time, HTML size, and Chromium's time to first render.

Targets: generation < 60 s, report.html < 50 MB, Chromium renders it (the page's
script marks <body data-ready="1"> after building the table and timeline) without
hanging. Uses prozess.simulate (with an injected lost write and a partition and a kill
added) and the real checkers' results.json, as a run directory has them; report
generation includes reading the history. Run: .venv/bin/python benchmarks/report_scale.py [--ops N] [--out DIR] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def _history(run: Path, n_ops: int) -> str:
    """Writes history.jsonl, test.json and results.json (checked, as the runner does) into `run`."""
    from prozess import simulate
    from prozess.checkers import check
    from prozess.history import History, write_jsonl

    ops = simulate.simulate(n_ops, seed=1)
    ops = simulate.inject(ops, "lost-write", seed=1) or ops
    ops = _with_faults(ops)
    files = Run(run)
    write_jsonl(ops, files.history_path)
    files.test_path.write_text(json.dumps({"name": "scale", "workload": "queue", "seed": 1, "faults": ["partition", "kill"]}))
    t = time.perf_counter()
    results = check(History(ops))
    print(f"  (checkers on the history, not part of report generation: {time.perf_counter() - t:.1f} s, valid={results['valid']})")
    files.results_path.write_text(json.dumps(results, default=str))
    return "prozess.simulate + inject lost-write + checkers"


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
                # one interaction: filter the table by type and move the timeline, to see it stays responsive
                t2 = time.perf_counter()
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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=None, help="keep the run here (default: a temporary dir)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    tmp = None
    run = args.out
    if run is None:
        tmp = tempfile.mkdtemp(prefix="prozess-report-scale-")
        run = Path(tmp) / "run"
    run.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        source = _history(run, args.ops)
        history = Run(run).history_path
        lines = sum(1 for _ in open(history, "rb"))
        print(f"history: {lines} ops from {source} in {time.perf_counter() - t:.1f} s "
              f"({history.stat().st_size / 1e6:.1f} MB jsonl)")
        from prozess.report import write_report

        t, c = time.perf_counter(), time.process_time()
        report = write_report(run)
        gen, cpu = time.perf_counter() - t, time.process_time() - c
        size = report.stat().st_size / 1e6
        print(f"report generation: {gen:.1f} s wall, {cpu:.1f} s CPU (target < 60 s) {'OK' if gen < 60 else 'OVER'}"
              f"{'' if gen < 2 * cpu + 5 else ' (wall >> CPU: the machine is busy with other work)'}")
        print(f"report.html size: {size:.1f} MB (target < 50 MB) {'OK' if size < 50 else 'OVER'}")
        ok = gen < 60 and size < 50
        if not args.no_browser:
            ready = _browser_time(report)
            print(f"chromium time to first render: {ready:.1f} s")
        return 0 if ok else 1
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
