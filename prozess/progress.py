"""Live progress of a run: elapsed/limit, ops ok/fail/info, ops/s, active faults.

`RunStats` is the thread-safe tally the runner's workers and nemesis update;
`ProgressDisplay` renders it with rich a few times a second while the run
goes (only on a terminal, or when forced), and prints one summary line at the
end either way.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["ProgressDisplay", "RunStats"]


class RunStats:
    """Counters shared by all threads of a run."""

    def __init__(self, time_limit: float | None = None):
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.time_limit = time_limit
        self.phase = "setup"
        self.counts = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        self.faults: dict[str, Any] = {}
        self.faults_failed: dict[str, int] = {}
        self.faults_applied = 0
        self._window: list[tuple[float, int]] = []

    def op(self, typ: str) -> None:
        with self.lock:
            self.counts[typ] = self.counts.get(typ, 0) + 1

    def fault_started(self, f: str, value: Any = None) -> None:
        with self.lock:
            self.faults[f] = value
            self.faults_applied += 1

    def fault_failed(self, kind: str) -> None:
        with self.lock:
            self.faults_failed[kind] = self.faults_failed.get(kind, 0) + 1

    def fault_ended(self, f: str) -> None:
        with self.lock:
            self.faults.pop(f, None)

    def set_phase(self, phase: str) -> None:
        with self.lock:
            self.phase = phase

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        with self.lock:
            done = self.counts["ok"] + self.counts["fail"] + self.counts["info"]
            self._window.append((now, done))
            while len(self._window) > 2 and now - self._window[0][0] > 5.0:
                self._window.pop(0)
            t0, d0 = self._window[0]
            rate = (done - d0) / (now - t0) if now > t0 else 0.0
            return {
                "elapsed": now - self.started,
                "time_limit": self.time_limit,
                "phase": self.phase,
                "counts": dict(self.counts),
                "rate": rate,
                "average": done / (now - self.started) if now > self.started else 0.0,
                "faults": sorted(self.faults),
                "faults_failed": sum(self.faults_failed.values()),
                "faults_applied": self.faults_applied,
            }


def render_line(s: dict[str, Any], *, final: bool = False) -> str:
    """One line of progress; `final`: the run's summary, whose rate is the average over the whole run (the
    live rate is the last 5 seconds', which in teardown has no workload ops)."""
    c = s["counts"]
    limit = f"/{s['time_limit']:.0f}s" if s.get("time_limit") else "s"
    faults = ", ".join(s["faults"]) or "none"
    if s.get("faults_applied") or s.get("faults_failed"):
        faults += f" ({s.get('faults_applied', 0)} applied, {s.get('faults_failed', 0)} failed{'' if final else ' so far'})"
    return (
        f"[{s['phase']}] {s['elapsed']:.0f}{limit}  ops ok {c['ok']}  fail {c['fail']}  info {c['info']}"
        + (f"  {s['average']:.0f} ops/s on average" if final else f"  {s['rate']:.0f} ops/s")
        + f"  faults: {faults}"
    )


class ProgressDisplay:
    """Renders `RunStats` live with rich while in the `with` block."""

    def __init__(self, stats: RunStats, *, enabled: bool | None = None, console: Any = None):
        from rich.console import Console

        self.stats = stats
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self._live: Any = None

    def __rich__(self) -> Any:
        from rich.table import Table

        s = self.stats.snapshot()
        c = s["counts"]
        t = Table.grid(padding=(0, 2))
        limit = f" / {s['time_limit']:.0f} s" if s.get("time_limit") else " s"
        t.add_row("phase", s["phase"], "elapsed", f"{s['elapsed']:.0f}{limit}")
        t.add_row("ok", f"[green]{c['ok']}[/]", "fail", f"[yellow]{c['fail']}[/]")
        t.add_row("info", f"[red]{c['info']}[/]", "ops/s", f"{s['rate']:.0f}")
        failed = f"[yellow]{s['faults_failed']}[/]" if s.get("faults_failed") else "0"
        t.add_row("faults", ", ".join(s["faults"]) or "none", "applied", str(s.get("faults_applied", 0)))
        t.add_row("", "", "failed", failed)
        return t

    def __enter__(self) -> "ProgressDisplay":
        if self.enabled:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        self.console.print(render_line(self.stats.snapshot(), final=True), markup=False, highlight=False, soft_wrap=True)  # "[main]" is text, not markup
