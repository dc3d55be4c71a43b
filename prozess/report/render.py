"""report.html: verdict first, then anomalies explained, timeline, plots and the history.

`write_report` gathers a run (prozess.report.run), works out fault windows,
latency and throughput (prozess.report.plots), encodes the history compactly
(prozess.report.encode) and renders the jinja2 template with the CSS and script
inlined, so the file opens from disk with no network.
"""

from __future__ import annotations

import base64
import os
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prozess.history import NEMESIS, HistoryError, Op, gc_paused
from prozess.report.encode import encode_history, script_json, value_text
from prozess.report.faults import FaultWindow, failed_actions, fault_windows, windows_at
from prozess.report.run import ReportSourceError, RunData, load_run
from prozess.store import PLOTS, REPORT, Run, atomic_write

__all__ = ["write_report", "render_report", "verdict_of", "anomaly_sections"]

MAX_EXAMPLES = 20  # per anomaly type and checker; the rest stay in results.json
SHOWN_EXAMPLES = 4  # shown open; the others fold under "more examples"
MAX_EXAMPLE_ROWS = 12
MAX_EXAMPLE_VALUE = 600

VERDICTS = {True: ("valid", "VALID"), False: ("invalid", "INVALID")}


def verdict_of(results: dict[str, Any]) -> tuple[str, str]:
    """(css class, label) of a checker result's verdict."""
    v = results.get("valid", "unknown")
    if v is True or v is False:
        return VERDICTS[v]
    return ("unknown", "UNKNOWN")


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("prozess.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    return (Path(__file__).parent / "templates" / name).read_text()


def _definitions() -> dict[str, str]:
    from prozess.checkers import DEFINITIONS

    return dict(DEFINITIONS)


def _checker_results(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{checker name: result}, for a composite result or a single checker's."""
    checkers = results.get("checkers")
    if isinstance(checkers, dict):
        return {k: v for k, v in checkers.items() if isinstance(v, dict)}
    if "anomalies" in results:
        return {"result": results}
    return {}


def _fmt_s(ns: int) -> str:
    return f"{ns / 1e9:.3f}"


def _fault_short(w: FaultWindow) -> str:
    """The fault kind and, when its value names them, the nodes it hit: "pause n1"; a cut from one
    cluster of a mirror campaign says which: "mirror-partition mm2 from source"."""
    nodes = w.value.get("nodes") if isinstance(w.value, dict) else None
    side = w.value.get("side") if isinstance(w.value, dict) else None
    cut = f" from {side}" if isinstance(side, str) else ""
    if isinstance(nodes, list) and nodes and all(isinstance(n, str) for n in nodes):
        return f"{w.kind} {','.join(nodes[:6])}{'…' if len(nodes) > 6 else ''}{cut}"
    return f"{w.kind}{cut}"


def _fault_label(w: FaultWindow) -> str:
    end = f"{w.end / 1e9:.1f}\u00a0s" if w.healed else "never\u00a0healed"
    return f"{w.kind} ({w.start / 1e9:.1f}–{end})"


def _focus(value: Any, key: Any) -> Any:
    """The micro-ops of `value` that touch `key` (polls narrowed to it), or None if none do."""
    if not isinstance(value, list) or not isinstance(key, str):
        return None
    out = []
    for m in value:
        if not isinstance(m, list) or not m:
            return None
        if m[0] == "send" and len(m) > 1 and m[1] == key:
            out.append(m)
        elif m[0] == "poll" and len(m) > 1 and isinstance(m[1], dict) and key in m[1]:
            out.append(["poll", {key: m[1][key]}])
    return out or None


def _op_row(op: Op, windows: list[FaultWindow], key: Any = None, pos: int | None = None) -> dict[str, Any]:
    focused = _focus(op.value, key) if key is not None else None
    text = value_text(op.f, focused if focused is not None else op.value)
    if focused is not None and focused != op.value:
        text += f"   (key {key} only)"
    if len(text) > MAX_EXAMPLE_VALUE:
        text = text[:MAX_EXAMPLE_VALUE] + f" … (+{len(text) - MAX_EXAMPLE_VALUE} chars)"
    return {
        "index": op.index,
        "pos": op.index if pos is None else pos,
        "time": _fmt_s(op.time),
        "process": op.process,
        "type": op.type,
        "f": op.f,
        "value": text,
        "node": op.node or "",
        "error": "" if op.error is None else str(op.error),
        "faults": ", ".join(_fault_label(w) for w in windows_at(windows, op.time)) or "none",
    }


def anomaly_sections(results: dict[str, Any], ops: list[Op], windows: list[FaultWindow]) -> list[dict[str, Any]]:
    """One section per anomaly type: definition, total count and explained examples per checker."""
    definitions = _definitions()
    invalidating = set(results.get("anomaly-types") or [])
    sections: dict[str, dict[str, Any]] = {}
    n = len(ops)
    # Results name ops by index; the page's rows and anchors go by position (the same unless indices have gaps).
    dense = not ops or (ops[0].index == 0 and ops[-1].index == n - 1)
    where = None if dense else _positions(ops)
    for checker, result in _checker_results(results).items():
        invalidating |= set(result.get("anomaly-types") or [])
        anomalies = result.get("anomalies") if isinstance(result.get("anomalies"), dict) else {}
        informational = result.get("informational") if isinstance(result.get("informational"), dict) else {}
        for kind, a in [*anomalies.items(), *((k, v) for k, v in informational.items() if k not in anomalies)]:
            if not isinstance(a, dict):
                a = {"count": a}
            sec = sections.setdefault(
                kind, {"type": kind, "definition": "", "count": 0, "count_known": True, "by": [], "invalidating": False}
            )
            sec["definition"] = sec["definition"] or a.get("definition") or definitions.get(kind, "")
            count = a.get("count")
            if isinstance(count, int):
                sec["count"] += count
            else:
                sec["count_known"] = False
            examples = []
            raw = a.get("examples") or []
            for ex in raw[:MAX_EXAMPLES]:
                if not isinstance(ex, dict):
                    ex = {"explanation": str(ex)}
                cited = [i for i in (ex.get("ops") or []) if isinstance(i, int) and not isinstance(i, bool)]
                idxs = cited if where is None else [where.get(i, -1) for i in cited]
                rows = [_op_row(ops[i], windows, ex.get("key"), i) for i in idxs[:MAX_EXAMPLE_ROWS] if 0 <= i < n]
                extra = {k: v for k, v in ex.items() if k not in ("explanation", "ops")}
                extra_text = script_json(extra).replace("\\u003c", "<") if extra else ""
                if len(extra_text) > 3000:
                    extra_text = extra_text[:3000] + " …"
                examples.append(
                    {
                        "explanation": ex.get("explanation") or "(no explanation given)",
                        "ops": [i for i in idxs if 0 <= i < n],
                        "labels": [ops[i].index for i in idxs if 0 <= i < n],
                        "missing_ops": [c for c, i in zip(cited, idxs) if not 0 <= i < n],
                        "rows": rows,
                        "more_rows": max(0, len(idxs) - MAX_EXAMPLE_ROWS),
                        "extra": extra_text,
                    }
                )
            sec["by"].append(
                {
                    "checker": checker,
                    "count": count,
                    "examples": examples[:SHOWN_EXAMPLES],
                    "folded": examples[SHOWN_EXAMPLES:],
                    "more": max(0, len(raw) - MAX_EXAMPLES),
                }
            )
    for kind in invalidating:
        sections.setdefault(kind, {"type": kind, "definition": definitions.get(kind, ""), "count": 0, "count_known": False, "by": [], "invalidating": True})
    for kind, sec in sections.items():
        sec["invalidating"] = kind in invalidating
    return sorted(sections.values(), key=lambda s: (not s["invalidating"], s["type"]))


def _positions(ops: Any) -> dict[int, int]:
    """{op index: position}; a large history's op view knows it for the ops it keeps."""
    positions = getattr(ops, "positions", None)
    return positions() if positions is not None else {op.index: i for i, op in enumerate(ops)}


class _KeptOps:
    """A large history's ops as the anomaly sections index them: only the ops the scan kept are there."""

    def __init__(self, scan: Any):
        self._scan = scan

    def __len__(self) -> int:
        return len(self._scan)

    def __getitem__(self, i: int) -> Op:
        n = len(self._scan)
        if i < 0:
            i += n
        op = self._scan.kept.get(i)
        if op is None:
            raise IndexError(i)
        return op

    def positions(self) -> dict[int, int]:
        return self._scan.by_index


def _cited_indices(results: dict[str, Any]) -> set[int]:
    """Op indices the anomaly examples shown in the report cite (as `anomaly_sections` reads them)."""
    out: set[int] = set()
    for result in _checker_results(results).values():
        for group in ("anomalies", "informational"):
            anomalies = result.get(group) if isinstance(result.get(group), dict) else {}
            for a in anomalies.values():
                if not isinstance(a, dict):
                    continue
                for ex in (a.get("examples") or [])[:MAX_EXAMPLES]:
                    if isinstance(ex, dict):
                        out.update(i for i in (ex.get("ops") or []) if isinstance(i, int) and not isinstance(i, bool))
    return out


def _cited_ops(sections: list[dict[str, Any]]) -> set[int]:
    return {i for s in sections for b in s["by"] for ex in b["examples"] + b["folded"] for i in ex["ops"]}


def _cluster_text(cluster: Any) -> str:
    if not isinstance(cluster, dict):
        return "" if cluster is None else str(cluster)
    parts = []
    if "nodes" in cluster:
        nodes = cluster["nodes"]
        parts.append(f"{len(nodes) if isinstance(nodes, list) else nodes} nodes")
    if cluster.get("metadata") == "zookeeper":
        parts.append(f"ZooKeeper ensemble of {cluster.get('zookeeper_count', 3)}, controller elected among the brokers")
    elif cluster.get("controllers"):
        c = f"{cluster['controllers']} controllers"
        if cluster.get("controllers") == "dedicated" and cluster.get("controller_count"):
            c += f" ({cluster['controller_count']})"
        parts.append(c)
    if "replication_factor" in cluster:
        parts.append(f"RF {cluster['replication_factor']}")
    if "min_insync_replicas" in cluster:
        parts.append(f"min ISR {cluster['min_insync_replicas']}")
    if "unclean_leader_election" in cluster:
        parts.append("unclean leader election " + ("ON" if cluster["unclean_leader_election"] else "off"))
    overrides = cluster.get("broker_overrides") or {}
    if isinstance(overrides, dict) and overrides:
        parts.append("overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
    known = {"nodes", "controllers", "controller_count", "replication_factor", "min_insync_replicas", "unclean_leader_election", "broker_overrides", "kafka_version", "metadata", "zookeeper_count", "heap", "system", "tansu_version"}
    for k, v in cluster.items():
        if k not in known and v not in (None, "", [], {}):
            parts.append(f"{k}={v}")
    return ", ".join(parts)


def _mapping_text(x: Any) -> str:
    if isinstance(x, dict):
        return ", ".join(f"{k}={v}" for k, v in x.items() if v not in (None, "", [], {}))
    if isinstance(x, list):
        return ", ".join(_mapping_text(i) if isinstance(i, (dict, list)) else str(i) for i in x) or "none"
    return "" if x is None else str(x)


def _run_time(data: RunData) -> str:
    started = data.test.get("started")
    if started:
        return str(started)
    if data.run_dir is not None:
        try:
            t = datetime.strptime(data.run_dir.name, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            return t.isoformat()
        except ValueError:
            pass
    return datetime.fromtimestamp(data.history_path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _commands(data: RunData) -> list[tuple[str, str]]:
    target = shlex.quote(str(data.run_dir if data.run_dir is not None else data.history_path))
    cmds = [("re-check the saved history", f"prozess check {target}")]
    if data.run_dir is not None:
        cmds.append(("run the same spec, seed and fault schedule again", f"prozess replay {target}"))
    cmds.append(("rebuild this report", f"prozess report {target}"))
    return cmds


def _tally(ops: list[Op]) -> tuple[dict[str, int], int]:
    """(client ops per type, nemesis ops) of a history."""
    counts = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
    nemesis = 0
    for op in ops:
        if op.process == NEMESIS:
            nemesis += 1
        else:
            counts[op.type] += 1
    return counts, nemesis


def _header(data: RunData, n_ops: int, tally: tuple[dict[str, int], int], duration_ns: int) -> list[tuple[str, str]]:
    test = data.test
    versions = test.get("versions") if isinstance(test.get("versions"), dict) else {}
    cluster = test.get("cluster")
    topics = test.get("topics") if isinstance(test.get("topics"), dict) else {}
    if isinstance(cluster, dict):  # the run's topics' replication settings, where the run recorded them, over the cluster's
        cluster = {**cluster, **{k: topics[k] for k in ("replication_factor", "min_insync_replicas", "unclean_leader_election") if k in topics}}
    kafka = versions.get("kafka") or (cluster.get("kafka_version") if isinstance(cluster, dict) else None)
    mode = cluster.get("metadata") if isinstance(cluster, dict) else None
    if kafka and mode:
        kafka = f"{kafka} ({'ZooKeeper' if mode == 'zookeeper' else 'KRaft'} mode)"
    if isinstance(cluster, dict) and cluster.get("system") == "tansu":   # another broker speaking the Kafka API
        kafka = f"Tansu {cluster.get('tansu_version') or 'unknown'} (Kafka API)"
    counts, nemesis = tally
    rows = [
        ("test", str(test.get("name") or (data.run_dir.parent.name if data.run_dir else data.history_path.stem))),
        ("time", _run_time(data)),
        ("seed", str(test.get("seed", "unknown"))),
        ("workload", str(test.get("workload", "unknown")) + "".join(
            f", {label} {test[k]}" for k, label in (("concurrency", "concurrency"), ("rate", "rate/s")) if test.get(k)
        )),
        ("Kafka", str(kafka or "unknown")),
        ("cluster", ", ".join(p for p in (
            f"preset {test['preset']}" if test.get("preset") else "",
            f"{test['backend']} backend" if test.get("backend") else "",
            _cluster_text(cluster),
        ) if p) or "unknown"),
        ("client", _mapping_text(test.get("client")) or "unknown"),
        ("faults", _mapping_text(test.get("faults")) if "faults" in test else "unknown"),
        ("duration", f"{duration_ns / 1e9:.1f} s" + (f" (time limit {test['time_limit']} s)" if test.get("time_limit") else "")),
        ("ops", f"{n_ops} records: {counts['invoke']} invocations; {counts['ok']} ok, {counts['fail']} fail, {counts['info']} info; {nemesis} nemesis"),
    ]
    mirror = test.get("mirror")
    if isinstance(mirror, dict):  # a mirror campaign: the source above, and where MM2 copied to
        rows.insert(-4, ("mirror", f"MirrorMaker 2 {mirror.get('mm2_version', '?')} on node {mirror.get('mm2_node', 'mm2')} "
                                   f"copies the source (nodes n1..) into target {mirror.get('target', '?')} (nodes "
                                   f"{', '.join(mirror.get('target_nodes') or [])})"))
    other = {k: v for k, v in versions.items() if k != "kafka" and v}
    if other:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in other.items())))
    rows.append(("history", str(data.history_path) + ("" if data.history_path.exists() else " (missing)")))
    run = data.results.get("run") if isinstance(data.results.get("run"), dict) else {}
    if run.get("error") or run.get("interrupted"):
        rows.insert(0, ("run", ("interrupted; " if run.get("interrupted") else "") + str(run.get("error") or "")))
    return rows


def _checkers_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, r in _checker_results(results).items():
        cls, label = verdict_of(r)
        rows.append({"name": name, "cls": cls, "label": label, "types": ", ".join(r.get("anomaly-types") or []), "error": r.get("error") or ""})
    return rows


def _fault_counts(saved: dict[str, Any], windows: list[FaultWindow], failed: list[Any]) -> list[dict[str, Any]]:
    """The "Faults" table: per kind, scheduled / applied / failed (results.json's accounting, else the history's)."""
    kinds = saved.get("kinds") if isinstance(saved.get("kinds"), dict) else None
    if kinds:
        rows = []
        for kind, e in kinds.items():
            reasons = [f.get("reason") for f in e.get("failures") or [] if f.get("reason")]
            rows.append({"kind": kind, "scheduled": e.get("scheduled", 0), "applied": e.get("applied", 0),
                         "failed": e.get("failed", 0) + e.get("unavailable", 0), "not_reached": e.get("not-reached", 0),
                         "windows": len(e.get("windows") or []), "reason": reasons[0] if reasons else e.get("unavailable-reason", "")})
        return rows
    counts: dict[str, dict[str, Any]] = {}
    for w in windows:
        counts.setdefault(w.kind, {"kind": w.kind, "scheduled": None, "applied": 0, "failed": 0, "not_reached": 0, "windows": 0, "reason": ""})
        counts[w.kind]["applied"] += 1
        counts[w.kind]["windows"] += 1
    for a in failed:
        row = counts.setdefault(a.kind, {"kind": a.kind, "scheduled": None, "applied": 0, "failed": 0, "not_reached": 0, "windows": 0, "reason": ""})
        row["failed"] += 1
        row["reason"] = row["reason"] or a.reason
    return [counts[k] for k in sorted(counts)]


def _client_log(data: RunData, out_dir: Path) -> dict[str, Any] | None:
    """The run's client log (librdkafka / kafka-python lines), linked from the report when present."""
    run_dir = getattr(data, "run_dir", None)
    if run_dir is None:
        return None
    path = Run(Path(run_dir)).client_log_path
    if not path.exists():
        return None
    counts = (data.results.get("run") or {}).get("client_log") or {}
    return {"href": _rel(path, out_dir), "size": path.stat().st_size, "warnings": counts.get("warnings"), "errors": counts.get("errors")}


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _write_plot(plots_dir: Path, name: str, svg: str) -> None:
    """Writes one plot through a unique temporary file, never through a planted symlink."""
    if plots_dir.is_symlink():
        raise ReportSourceError(f"{plots_dir}: is a symlink; remove it so the plots are written into the run itself")
    plots_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(plots_dir / name, lambda tmp: tmp.write_text(svg))


def render_report(data: RunData, out_dir: Path, *, plots_dir: Path | None = None) -> str:
    """The report's HTML; writes the plot SVGs into `plots_dir` when given."""
    from prozess.report.plots import fault_colours, latency_summary, op_pairs, render_plots

    results = data.results
    large = None
    if data.large:
        from prozess.report import large as large_mode

        try:
            scan = large_mode.scan(data.history_path, _cited_indices(results))
        except HistoryError as e:
            raise ReportSourceError(f"cannot read the history: {e}") from None
        data.warnings.extend(scan.warnings)
        ops: Any = _KeptOps(scan)
        end, start = int(scan.time.max()), int(scan.time.min())
        nemesis_ops = [op for _, op in sorted(scan.kept.items()) if op.process == NEMESIS]
        tally = (scan.counts, scan.nemesis_ops)
    else:
        history = data.history
        ops = history.ops
        end = max((op.time for op in ops), default=0)
        start = min((op.time for op in ops), default=0)
        nemesis_ops = [op for op in ops if op.process == NEMESIS]
        tally = _tally(ops)
    duration = max(0, end - start)
    saved_faults = results.get("faults") if isinstance(results.get("faults"), dict) else {}
    edges = saved_faults.get("edges") if isinstance(saved_faults.get("edges"), dict) else None
    windows = fault_windows(nemesis_ops, end, edges)
    failed = failed_actions(nemesis_ops, edges)
    colours = fault_colours(windows)
    sections = anomaly_sections(results, ops, windows)
    pairs = large_mode.pairs(scan) if data.large else op_pairs(history)
    summary = latency_summary(pairs)
    svgs = render_plots(pairs, windows, colours, end / 1e9)
    plots = []
    for name, svg in svgs.items():
        if plots_dir is not None:
            _write_plot(plots_dir, f"{name}.svg", svg)
        plots.append({"name": name, "src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
                      "file": _rel(plots_dir / f"{name}.svg", out_dir) if plots_dir is not None else None})
    markers = sorted({(i, s["type"]) for s in sections for b in s["by"] for ex in b["examples"] + b["folded"] for i in ex["ops"]})
    faults = [dict(w.to_dict(), colour=colours[w.kind], label=_fault_label(w), short=_fault_short(w)) for w in windows]
    failed_meta = [a.to_dict() for a in failed]
    if len(ops) and (ops[0].index != 0 or ops[-1].index != len(ops) - 1):  # indices with gaps: anchors go by position
        where = _positions(ops)
        for fw in faults:
            fw["start_label"], fw["end_label"] = fw.get("start_op"), fw.get("end_op")
            fw["start_op"] = where.get(fw.get("start_op"), fw.get("start_op"))
            if fw.get("end_op") is not None:
                fw["end_op"] = where.get(fw["end_op"], fw["end_op"])
        for a in failed_meta:
            a["op"] = where.get(a.get("op"), a.get("op"))
    meta = {
        "faults": faults,
        "markers": [[i, t] for i, t in markers],
        "failed": failed_meta,
    }
    if data.large:
        lane_of = large_mode.lanes(scan)
        side = large_mode.write_pages(data.history_path, scan, out_dir, _cited_ops(sections), lane_of)
        large = {
            "n": len(scan), "chunk": large_mode.CHUNK, "dir": large_mode.PAGES_DIR, "files": side["files"],
            "bytes": side["bytes"], "fs": scan.fs, "labels": large_mode.lane_labels(scan, lane_of),
            "timeline": large_mode.timeline(scan, lane_of, [i for i, _ in markers]),
        }
        columns = {"cut": side["cut"], "limit": side["limit"]}
        del scan, ops
    else:
        columns = encode_history(ops, keep=_cited_ops(sections))
    cls, label = verdict_of(results)
    header = _header(data, large["n"] if large else len(ops), tally, duration)
    node_logs = [{"node": node, "href": _rel(path, out_dir), "name": path.name, "size": size} for node, path, size in data.node_files]
    nemesis_log = [script_json(e).replace("\\u003c", "<") for e in data.nemesis_log]
    return _env().get_template("report.html.j2").render(
        title=dict(header).get("test", "run"),
        verdict_cls=cls,
        verdict=label,
        verdict_error=results.get("error") or "",
        anomaly_types=results.get("anomaly-types") or [],
        header=header,
        commands=_commands(data),
        sections=sections,
        checkers=_checkers_table(results),
        results_recomputed=data.results_recomputed,
        summary=summary,
        plots=plots,
        faults=meta["faults"],
        failed_faults=meta["failed"],
        fault_not_applied=bool(results.get("faults-not-applied")) and results.get("valid") not in (True, False),
        fault_counts=_fault_counts(saved_faults, windows, failed),
        client_log=_client_log(data, out_dir),
        node_logs=node_logs,
        nemesis_log=nemesis_log,
        nemesis_log_total=data.nemesis_log_total,
        warnings=data.warnings,
        n_ops=large["n"] if large else len(ops),
        value_cut=columns["cut"],
        value_limit=columns["limit"],
        large=large,
        large_ops=data.large_ops,
        history_json="" if large else script_json(columns),
        large_json=script_json(large) if large else "",
        meta_json=script_json(meta),
        css=_asset("report.css"),
        js=_asset("timeline.js") + _asset("report-large.js" if large else "report.js"),
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def write_report(source: str | os.PathLike, out_dir: str | os.PathLike | None = None, *, large_ops: int | None = None) -> Path:
    """Writes report.html (and plots/) for a run directory or a history file; returns the report's path.

    `out_dir` defaults to the run directory, or the folder holding the history file.
    A JSON Lines history of `large_ops` lines or more (default
    `prozess.report.large.LARGE_OPS`) gets the large-history report: a downsampled
    timeline, plots binned from columns and the table in side files (history-pages/).
    """
    # Reading and encoding a big history allocates millions of small objects and no
    # cycles; the cyclic GC would rescan them all again and again (2-3x the CPU).
    with gc_paused():
        return _write_report(source, out_dir, large_ops)


def _write_report(source: str | os.PathLike, out_dir: str | os.PathLike | None, large_ops: int | None = None) -> Path:
    data = load_run(source, large_ops=large_ops)
    if out_dir is None:
        out = data.run_dir if data.run_dir is not None else data.history_path.parent
    else:
        out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = render_report(data, out, plots_dir=out / PLOTS)
    path = out / REPORT

    atomic_write(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return path
