"""Latency and throughput over time, per f, with fault windows shaded (matplotlib SVG).

Static SVGs keep the report light and offline: they are written into `plots/`
and also embedded in report.html, so the page alone is complete. Quantiles are
nearest-rank per time bucket over ok completions; throughput counts
completions per second by outcome. numpy does the arithmetic in a few vectorised
passes, so a million-op history costs a second or two.
"""

from __future__ import annotations

import io
from typing import Any

from prozess.history import NEMESIS, History
from prozess.report.faults import FaultWindow

__all__ = ["FAULT_COLOURS", "fault_colours", "op_pairs", "latency_summary", "render_plots"]

FAULT_COLOURS = ["#3b5bdb", "#9c36b5", "#0b7285", "#8d5524", "#495057", "#c2255c", "#1c3d73"]  # none near ok/fail/info
OUTCOME_COLOURS = {"ok": "#2e9e4f", "fail": "#d64545", "info": "#e0a100"}
QUANTILE_COLOURS = {"p50": "#3b7dd8", "p95": "#e08a00", "p99": "#c0392b"}
TEXT = "#888888"
MAX_FS = 8
MAX_BUCKETS = 2000  # per plot, whatever the span: a history's times must not decide how much memory a plot takes
_NICE = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600]


def _printable(name: Any) -> str:
    """An op's f or a fault kind as a plot label: characters no font draws (controls) shown as escapes."""
    text = str(name)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def fault_colours(windows: list[FaultWindow]) -> dict[str, str]:
    """One colour per fault kind, in order of first appearance (shared by plots and timeline)."""
    out: dict[str, str] = {}
    for w in windows:
        if w.kind not in out:
            out[w.kind] = FAULT_COLOURS[len(out) % len(FAULT_COLOURS)]
    return out


def op_pairs(history: History) -> dict[str, Any]:
    """Client op pairs as numpy arrays: f code, invoke/complete time (s), outcome code (1 ok, 2 fail, 3 info)."""
    import numpy as np

    ops = history.ops
    comp = history.pairing.completion
    fs: dict[str, int] = {}
    f_code, t0, t1, outcome = [], [], [], []
    codes = {"ok": 1, "fail": 2, "info": 3}
    end = ops[-1].time if ops else 0
    for i, op in enumerate(ops):
        if op.type != "invoke" or op.process == NEMESIS:
            continue
        j = comp[i]
        c = fs.get(op.f)
        if c is None:
            c = fs[op.f] = len(fs)
        f_code.append(c)
        t0.append(op.time)
        if j >= 0:
            t1.append(ops[j].time)
            outcome.append(codes[ops[j].type])
        else:
            t1.append(end)
            outcome.append(3)
    return {
        "fs": list(fs),
        "f": np.asarray(f_code, dtype=np.int32),
        "t0": np.asarray(t0, dtype=np.float64) / 1e9,
        "t1": np.asarray(t1, dtype=np.float64) / 1e9,
        "outcome": np.asarray(outcome, dtype=np.int8),
    }


def latency_summary(pairs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per f: count of invocations, of ok/fail/info, and ok latency p50/p95/p99/max in ms."""
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for c, f in enumerate(pairs["fs"]):
        sel = pairs["f"] == c
        oc = pairs["outcome"][sel]
        lat = (pairs["t1"][sel] - pairs["t0"][sel])[oc == 1] * 1000.0
        row: dict[str, Any] = {
            "count": int(sel.sum()),
            "ok": int((oc == 1).sum()),
            "fail": int((oc == 2).sum()),
            "info": int((oc == 3).sum()),
        }
        if lat.size:
            p50, p95, p99 = np.quantile(lat, [0.5, 0.95, 0.99])
            row.update(p50=float(p50), p95=float(p95), p99=float(p99), max=float(lat.max()))
        out[f] = row
    return out


def _bucket_width(want: float) -> float:
    """The smallest "nice" width (1, 2, 5 steps) of at least `want` seconds."""
    for w in _NICE:
        if w >= want:
            return w
    return _NICE[-1]


def _quantiles_over_time(t: Any, lat: Any, width: float) -> tuple[Any, dict[str, Any]]:
    import numpy as np

    b = np.floor(t / width).astype(np.int64)
    order = np.lexsort((lat, b))
    bs, ls = b[order], lat[order]
    uniq, starts, counts = np.unique(bs, return_index=True, return_counts=True)
    qs = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        qs[name] = ls[starts + np.floor(q * (counts - 1)).astype(np.int64)]
    return uniq * width, qs


def _steps(ax: Any, starts: Any, ys: Any, width: float, **kw: Any) -> None:
    """A step line where each bucket's value spans the bucket [start, start + width)."""
    import numpy as np

    xs = np.append(starts, starts[-1] + width)
    ax.plot(xs, np.append(ys, ys[-1]), drawstyle="steps-post", **kw)


def _shade(ax: Any, windows: list[FaultWindow], colours: dict[str, str]) -> None:
    for w in windows:
        ax.axvspan(w.start / 1e9, w.end / 1e9, color=colours[w.kind], alpha=0.18, lw=0)


def _style(ax: Any) -> None:
    ax.tick_params(colors=TEXT, labelsize=8)
    for s in ax.spines.values():
        s.set_color(TEXT)
    ax.grid(True, color=TEXT, alpha=0.25, lw=0.5)
    ax.yaxis.label.set_color(TEXT)
    ax.xaxis.label.set_color(TEXT)
    ax.title.set_color(TEXT)


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", transparent=True, bbox_inches="tight")
    return buf.getvalue()


def render_plots(pairs: dict[str, Any], windows: list[FaultWindow], colours: dict[str, str], duration_s: float) -> dict[str, str]:
    """{"latency": svg, "throughput": svg}; empty dict when there are no client ops."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "prozess"
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fs = pairs["fs"]
    if not fs:
        return {}
    by_count = sorted(range(len(fs)), key=lambda c: -int((pairs["f"] == c).sum()))[:MAX_FS]
    # buckets near duration/150, but wide enough that an average one holds ~20 ok ops
    ok_count = int((pairs["outcome"] == 1).sum())
    width = _bucket_width(max(duration_s / 150.0, duration_s * 20.0 / max(ok_count, 1), 1e-3))
    x_max = max(duration_s, float(pairs["t1"].max()) if pairs["t1"].size else 0.0, 1e-3)
    width = max(width, x_max / MAX_BUCKETS)  # past the nicest width (600 s), bound the count instead
    n_buckets = int(x_max / width) + 1
    kinds = [Patch(color=colours[k], alpha=0.35, label=_printable(k)) for k in colours]
    out: dict[str, str] = {}
    for metric in ("latency", "throughput"):
        fig = Figure(figsize=(10, 1.9 * len(by_count) + 0.6))
        axes = fig.subplots(len(by_count), 1, sharex=True, squeeze=False)[:, 0]
        for ax, c in zip(axes, by_count):
            sel = pairs["f"] == c
            _shade(ax, windows, colours)
            if metric == "latency":
                ok = sel & (pairs["outcome"] == 1)
                t0 = pairs["t0"][ok]
                lat = (pairs["t1"][ok] - t0) * 1000.0
                if lat.size:
                    xs, qs = _quantiles_over_time(t0, lat, width)
                    for name in ("p99", "p95", "p50"):  # lower quantiles drawn on top
                        _steps(ax, xs, qs[name], width, color=QUANTILE_COLOURS[name], lw=1.2, label=name)
                    if float(lat.max()) > 0 and float(lat.max()) / max(float(np.median(lat)), 1e-6) > 50:
                        ax.set_yscale("log")
                ax.set_ylabel(f"{_printable(fs[c])}\nlatency ms", fontsize=8)
            else:
                t1 = pairs["t1"]
                for code, name in ((1, "ok"), (2, "fail"), (3, "info")):
                    m = sel & (pairs["outcome"] == code)
                    if not m.any():
                        continue
                    b = np.clip(np.floor(t1[m] / width).astype(np.int64), 0, n_buckets - 1)
                    counts = np.bincount(b, minlength=n_buckets)  # empty buckets are zeros, not gaps
                    _steps(ax, np.arange(counts.size) * width, counts / width, width, color=OUTCOME_COLOURS[name], lw=1.2, label=name)
                ax.set_ylabel(f"{_printable(fs[c])}\nops/s", fontsize=8)
            ax.set_xlim(0, x_max)
            _style(ax)
            handles, labels = ax.get_legend_handles_labels()
            if handles or kinds:
                leg = ax.legend(handles=handles + kinds, fontsize=7, loc="upper right", framealpha=0.0, ncol=min(6, len(handles) + len(kinds)))
                for text in leg.get_texts():
                    text.set_color(TEXT)
        axes[-1].set_xlabel("time since start (s)", fontsize=8)
        title = "Latency of ok ops (p50 / p95 / p99) per f" if metric == "latency" else "Throughput (completions per second) per f"
        axes[0].set_title(title + (f", {width:g} s buckets" if width else ""), fontsize=9, color=TEXT, loc="left")
        out[metric] = _svg(fig)
    return out
