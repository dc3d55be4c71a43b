"""Stats and perf: how many ops of each kind ended how, how long they took, how many per second.

Both are always valid (they describe, they do not judge); the report draws its
latency and throughput plots from them. pandas is imported here, inside the
functions, so that `prozess check` starts fast when these checkers are not asked for.
"""

from __future__ import annotations

from typing import Any

from prozess.checkers.analysis import ops_of

TYPES = ("invoke", "ok", "fail", "info")


def stats(history: Any, test: dict | None = None, analysis: Any = None) -> dict:
    """Counts per f and type (client ops), plus totals and nemesis op count."""
    ops = ops_of(history)
    by_f: dict[str, dict[str, int]] = {}
    from collections import Counter

    counter = Counter((f, t) for _, _, t, p, f, *_ in ops if p != "nemesis")
    nemesis = len(ops) - counter.total()
    for (f, t), n in counter.items():
        d = by_f.get(f)
        if d is None:
            d = by_f[f] = {t: 0 for t in TYPES}
        d[t] = d.get(t, 0) + n
    counts = {t: sum(d[t] for d in by_f.values()) for t in TYPES}
    counts["ops"] = len(ops)
    counts["nemesis"] = nemesis
    return {"valid": True, "anomaly-types": [], "anomalies": {},
            "by-f": {f: by_f[f] for f in sorted(by_f)}, "counts": counts}


def _frame(history: Any):
    """One row per completed client op: f, type, latency (ns), completion time (ns)."""
    import pandas as pd

    ops = ops_of(history)
    open_: dict = {}
    fs, types, lat, times = [], [], [], []
    for _, time, typ, p, f, *_ in ops:
        if typ == "invoke":
            open_[p] = time
            continue
        if p == "nemesis":
            continue
        t0 = open_.pop(p, None)
        if t0 is None:
            continue
        fs.append(f)
        types.append(typ)
        lat.append(time - t0)
        times.append(time)
    return pd.DataFrame({"f": fs, "type": types, "latency": lat, "time": times})


def perf(history: Any, test: dict | None = None, analysis: Any = None) -> dict:
    """Latency quantiles (ms) per f and per f/type, and throughput per second per f."""
    df = _frame(history)
    latency: dict[str, dict] = {}
    latency_by_type: dict[str, dict] = {}
    throughput: dict[str, list] = {}
    if len(df):
        ms = df["latency"] / 1e6
        df = df.assign(ms=ms, second=(df["time"] // 1_000_000_000).astype("int64"))
        for f, g in df.groupby("f", sort=True):
            latency[str(f)] = _quantiles(g["ms"])
            latency_by_type[str(f)] = {str(t): _quantiles(gt["ms"]) for t, gt in g.groupby("type", sort=True)}
            counts = g.groupby("second").size()
            throughput[str(f)] = [[int(s), int(n)] for s, n in counts.items()]
    return {"valid": True, "anomaly-types": [], "anomalies": {},
            "latency-ms": latency, "latency-ms-by-type": latency_by_type, "throughput": throughput}


def _quantiles(s) -> dict:
    q = s.quantile([0.5, 0.95, 0.99])
    return {"p50": round(float(q.iloc[0]), 3), "p95": round(float(q.iloc[1]), 3),
            "p99": round(float(q.iloc[2]), 3), "max": round(float(s.max()), 3), "count": int(s.size)}
