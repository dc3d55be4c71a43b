"""The report of a large history: numpy columns, a downsampled timeline and the table in side files.

Above `LARGE_OPS` lines of history.jsonl, a report that embeds every op would
outgrow what a browser opens quickly (and building it would hold one Python object
per op). Instead:

- `scan(path, cited)` makes one streaming pass (orjson per line) into numpy
  columns — time, type, process, f, index — and keeps as op objects only the
  nemesis ops, the ops anomaly examples cite, and the first and last op; it pairs
  invocations with completions with numpy (one stable sort by process);
- `pairs(scan)` gives the plots' client op pairs (the same arrays as
  `prozess.report.plots.op_pairs`), so plots are binned from columns;
- `timeline(scan, ...)` packs processes into worker lanes (as the page's script
  does for a small history) and counts invocations per (lane, time bucket,
  outcome); nemesis actions and cited ops are listed individually;
- `write_pages(path, scan, out_dir, keep)` makes a second streaming pass and
  writes the table as `history-pages/NNNN.js`, `CHUNK` ops each, in the same
  column encoding as a small report (`prozess.report.encode`) plus each op's
  partner and the lane of each process; a file is a script calling
  `window.prozessChunk(n, {...})`, so a page opened from disk loads it with a
  `<script src>` tag (browsers refuse `fetch()` of `file://` URLs).

Memory is the columns (about 30 bytes per op) plus one chunk of op objects at a time.
"""

from __future__ import annotations

import itertools
import shutil
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from prozess.history import _NODE_TYPES, INT64, MAX_DEPTH, NEMESIS, HistoryError, Op, extra_fields, op_from_dict
from prozess.history_model import jsonl_lines, line_too_deep

__all__ = ["LARGE_OPS", "CHUNK", "PAGES_DIR", "count_lines", "is_large", "Scan", "scan", "pairs", "timeline", "write_pages"]

LARGE_OPS = 200_000  # lines of history.jsonl from which a report goes large (see docs/architecture.md, Report)
CHUNK = 50_000  # ops per side file
PAGES_DIR = "history-pages"
TIME_BUCKETS = 1500  # columns of the downsampled timeline
MAX_CELLS = 3_000_000  # lanes x buckets x outcomes embedded at most: many lanes get fewer, wider buckets
TYPES = ("invoke", "ok", "fail", "info")
_TYPE_CODE = {t: i for i, t in enumerate(TYPES)}


def count_lines(path: Path) -> int:
    """Non-empty-ish line count of a file (newlines, plus a last line without one), reading 16 MB at a time."""
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 24)
            if not block:
                break
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def is_large(path: Path, threshold: int | None = None) -> bool:
    """Whether the history at `path` gets a large-history report (JSON Lines with at least `threshold` lines)."""
    threshold = LARGE_OPS if threshold is None else threshold
    try:
        return path.suffix == ".jsonl" and path.is_file() and count_lines(path) >= threshold
    except OSError:
        return False


@dataclass
class Scan:
    """The columns of one history (row = position in the file) and the few ops kept whole."""

    index: Any  # int64 op indices
    time: Any  # int64 ns
    type: Any  # int8 codes into TYPES
    proc: Any  # int32 codes into `procs`
    f: Any  # int16 codes into `fs`
    partner: Any  # int64 position of the paired op, -1 if none
    procs: list[Any]
    fs: list[str]
    nemesis_code: int  # code of "nemesis" in `procs`, -1 if none
    kept: dict[int, Op] = field(default_factory=dict)  # position -> op (nemesis, cited, first, last)
    by_index: dict[int, int] = field(default_factory=dict)  # op index -> position of the kept ops
    counts: dict[str, int] = field(default_factory=dict)  # client ops per type
    nemesis_ops: int = 0
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)


def _lines(path: Path, warnings: list[str], ops: bool = True) -> Iterator[tuple[int, Any]]:
    """(line number, op) of every op line; a torn last line is skipped with a warning, as the readers do.

    Well-formed lines take the readers' fast path (`prozess.history.read_jsonl`'s checks
    inline); anything else goes through `op_from_dict` for its exact complaint. With
    `ops=False` the checked JSON object comes instead of an op (no object made per line)."""
    for n, line, d in jsonl_lines(path, warnings, exact_fallback=True):
        try:
            index, time, typ, process, f = d["index"], d["time"], d["type"], d["process"], d["f"]
        except (KeyError, TypeError, IndexError):
            index = None
        if (type(index) is int and index >= 0 and type(time) is int and type(typ) is str and typ in _TYPE_CODE
                and -INT64 <= time < INT64 and ((type(process) is int and -INT64 <= process < INT64) or process == NEMESIS)
                and type(f) is str and f and type(d.get("node")) in _NODE_TYPES
                and (line.count(b"[") + line.count(b"{") <= MAX_DEPTH or not line_too_deep(line))):
            if not ops:
                yield n, d
                continue
            yield n, Op(index, time, typ, process, f, d.get("value"), d.get("node"), d.get("error"),
                        None if len(d) <= 5 or (len(d) == 6 and "value" in d) else extra_fields(d))
            continue
        try:
            op = op_from_dict(d)
        except HistoryError as e:
            raise HistoryError(e.problem, path=path, line=n) from None
        yield n, op if ops else op.to_dict()


def scan(path: Path, cited: set[int] = frozenset()) -> Scan:
    """One streaming pass over a JSON Lines history into columns; keeps nemesis ops and the ops indexed in `cited`."""
    import numpy as np

    warnings: list[str] = []
    index, time, typ, proc, fcol = array("q"), array("q"), array("b"), array("i"), array("h")
    procs: dict[Any, int] = {}
    fs: dict[str, int] = {}
    kept: dict[int, Op] = {}
    pos = -1
    last: Any = None
    for n, d in _lines(path, warnings, ops=False):
        pos += 1
        i, process, f = d["index"], d["process"], d["f"]
        if index and i <= index[-1]:
            raise HistoryError(f"op has index {i}, below or equal to the index {index[-1]} of the op before it; "
                               "indices must strictly increase (gaps are fine)", path=path, line=n)
        index.append(i)
        time.append(d["time"])
        typ.append(_TYPE_CODE[d["type"]])
        p = procs.get(process)
        if p is None:
            p = procs[process] = len(procs)
        proc.append(p)
        c = fs.get(f)
        if c is None:
            c = fs[f] = len(fs)
        fcol.append(c)
        if pos == 0 or process == NEMESIS or i in cited:
            kept[pos] = op_from_dict(d)
        last = d
    if last is None:
        raise HistoryError("holds no ops; a history to report needs at least one", path=path)
    kept[pos] = op_from_dict(last)
    a = lambda x, dt: np.frombuffer(x, dtype=dt)  # noqa: E731  (shares the array's memory: no second copy at the peak)
    s = Scan(index=a(index, np.int64), time=a(time, np.int64), type=a(typ, np.int8), proc=a(proc, np.int32),
             f=a(fcol, np.int16), partner=None, procs=list(procs), fs=list(fs), nemesis_code=procs.get(NEMESIS, -1),
             kept=kept, warnings=warnings)
    del index, time, typ, proc, fcol
    s.partner = _pair(s)
    s.by_index = {op.index: p for p, op in kept.items()}
    client = s.proc != s.nemesis_code
    tc = np.bincount(s.type[client].astype(np.int64), minlength=4)
    s.counts = {t: int(tc[i]) for i, t in enumerate(TYPES)}
    s.nemesis_ops = int(len(s) - client.sum())
    return s


def _pair(s: Scan) -> Any:
    """Each op's partner position, as prozess.history pairs them (and the page's script does).

    A client process alternates invocation and completion, so after a stable sort by
    process an invocation's partner is the next row if it belongs to the same process and
    is a completion. The nemesis pairs an action with the next non-invoke op of the same f."""
    import numpy as np

    n = len(s)
    partner = np.full(n, -1, dtype=np.int64)
    order = np.argsort(s.proc, kind="stable")
    a, b = order[:-1], order[1:]
    m = (s.proc[a] == s.proc[b]) & (s.type[a] == 0) & (s.type[b] != 0)
    if s.nemesis_code >= 0:
        m &= s.proc[a] != s.nemesis_code
    partner[a[m]] = b[m]
    partner[b[m]] = a[m]
    del order, a, b, m
    if s.nemesis_code >= 0:
        open_at = -1
        for p in np.nonzero(s.proc == s.nemesis_code)[0].tolist():
            if open_at >= 0 and s.type[p] != 0 and s.f[open_at] == s.f[p]:
                partner[open_at], partner[p] = p, open_at
                open_at = -1
            else:
                open_at = p
    return partner


def pairs(s: Scan) -> dict[str, Any]:
    """Client op pairs for the plots, as `prozess.report.plots.op_pairs` gives them for a History."""
    import numpy as np

    inv = np.nonzero((s.type == 0) & (s.proc != s.nemesis_code))[0]
    j = s.partner[inv]
    done = j >= 0
    end = int(s.time[-1]) if len(s) else 0
    used = np.unique(s.f[inv]) if inv.size else np.zeros(0, np.int16)
    # f codes in order of first invocation, as op_pairs numbers them
    first = {int(c): int(np.argmax(s.f[inv] == c)) for c in used.tolist()}
    order = sorted(first, key=first.get)
    remap = np.full(len(s.fs) or 1, -1, dtype=np.int32)
    for new, old in enumerate(order):
        remap[old] = new
    outcome = np.where(done, s.type[np.where(done, j, 0)], 3).astype(np.int8)
    return {
        "fs": [s.fs[c] for c in order],
        "f": remap[s.f[inv]] if inv.size else np.zeros(0, np.int32),
        "t0": s.time[inv].astype(np.float64) / 1e9,
        "t1": np.where(done, s.time[np.where(done, j, 0)], end).astype(np.float64) / 1e9,
        "outcome": outcome,
    }


def lanes(s: Scan) -> Any:
    """Lane per process code: nemesis first, then processes packed greedily by first appearance (the page's rule)."""
    import numpy as np

    np_ = len(s.procs)
    first = np.full(np_, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(np_, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, s.proc, s.time)
    np.maximum.at(last, s.proc, s.time)

    def sort_key(c: int) -> tuple:
        p = s.procs[c]
        return (int(first[c]), 0 if isinstance(p, int) else 1, p if isinstance(p, int) else str(p))

    lane_of = np.zeros(np_, dtype=np.int32)
    base = 1 if s.nemesis_code >= 0 else 0
    lane_end: list[int] = []
    for c in sorted((c for c in range(np_) if c != s.nemesis_code), key=sort_key):
        lane = next((q for q, e in enumerate(lane_end) if e < first[c]), -1)
        if lane < 0:
            lane = len(lane_end)
            lane_end.append(0)
        lane_end[lane] = int(last[c])
        lane_of[c] = lane + base
    return lane_of


def timeline(s: Scan, lane_of: Any, cited: list[int], buckets: int = TIME_BUCKETS) -> dict[str, Any]:
    """The downsampled timeline: invocations per (lane, time bucket, outcome), nemesis bars and cited ops."""
    import numpy as np

    def t_us(at: Any) -> Any:  # µs of some rows (never a second full-length column)
        return s.time[at] // 1000

    tmax = max(int(s.time.max()) // 1000, 1)
    n_lanes = int(lane_of.max()) + 1 if len(lane_of) else 1
    buckets = max(1, min(buckets, MAX_CELLS // (3 * n_lanes)))
    width = max(1, -(-tmax // buckets))
    nb = tmax // width + 1
    inv = np.nonzero((s.type == 0) & (s.proc != s.nemesis_code))[0]
    j = s.partner[inv]
    outcome = np.where(j >= 0, s.type[np.where(j >= 0, j, 0)], 3).astype(np.int64) - 1  # 0 ok, 1 fail, 2 info
    cell = lane_of[s.proc[inv]].astype(np.int64)
    cell *= nb
    cell += np.clip(t_us(inv), 0, tmax) // width  # times before 0 go first
    cell *= 3
    cell += outcome
    del j, outcome
    counts = np.bincount(cell, minlength=n_lanes * nb * 3)
    nem = []
    if s.nemesis_code >= 0:
        for p in np.nonzero(s.proc == s.nemesis_code)[0].tolist():
            q = int(s.partner[p])
            if 0 <= q < p:
                continue
            nem.append([p, int(t_us(p)), int(t_us(q)) if q >= 0 else tmax])
    marks = [[p, int(t_us(p)), int(lane_of[s.proc[p]])] for p in cited if 0 <= p < len(s)]
    # where each side file starts, and the span of time its ops cover (bars included)
    chunks = []
    for c0 in range(0, len(s), CHUNK):
        c1 = min(len(s), c0 + CHUNK)
        end = s.partner[c0:c1]
        ends = t_us(np.where(end >= 0, end, np.arange(c0, c1)))
        own = t_us(slice(c0, c1))
        chunks.append([c0, int(own.min()), int(max(int(own.max()), int(ends.max())))])
    return {"width": width, "buckets": nb, "lanes": n_lanes, "counts": counts.tolist(), "tmax": tmax,
            "nemesis": nem, "marks": marks, "chunks": chunks}


def lane_labels(s: Scan, lane_of: Any) -> list[str]:
    """A label per lane: its first process and how many more ran in it."""
    n = int(lane_of.max()) + 1 if len(lane_of) else 0
    members: list[list[Any]] = [[] for _ in range(n)]
    for c, p in enumerate(s.procs):
        members[int(lane_of[c])].append(p)
    out = []
    for m in members:
        if not m:
            out.append("")
        elif m[0] == NEMESIS:
            out.append("nemesis")
        else:
            label = str(m[0])
            label = label if len(label) <= 8 else label[:7] + "…"
            out.append("p " + label + (f" +{len(m) - 1}" if len(m) > 1 else ""))
    return out


def write_pages(path: Path, s: Scan, out_dir: Path, keep: set[int], lane_of: Any) -> dict[str, Any]:
    """Writes the table's side files into out_dir/history-pages; returns {"files", "bytes", "cut", "limit"}."""
    import numpy as np

    from prozess.report.encode import encode_history, script_json

    pages = out_dir / PAGES_DIR
    if pages.is_symlink():
        raise HistoryError(f"{pages}: is a symlink; remove it so the side files are written into the run itself")
    tmp = out_dir / (PAGES_DIR + ".new")
    if tmp.exists() or tmp.is_symlink():
        shutil.rmtree(tmp) if tmp.is_dir() and not tmp.is_symlink() else tmp.unlink()
    tmp.mkdir()
    total = cut = files = 0
    limit = None
    codes = {p: c for c, p in enumerate(s.procs)}

    def flush(c0: int, ops: Iterator[Op]) -> None:
        nonlocal total, cut, files, limit
        # ops stream through the encoder one at a time: a chunk of final catch-up polls
        # (each holding every message of a key) must not be held as op objects at once
        data = encode_history(ops, keep={p - c0 for p in keep if c0 <= p < c0 + CHUNK})
        c1 = c0 + data["n"]
        part = s.partner[c0:c1]
        has = part >= 0
        data["base"] = c0
        data["pr"] = np.where(has, part - np.arange(c0, c1), 0).tolist()  # partner - position; 0 for none
        data["pe"] = np.where(has, s.time[np.where(has, part, 0)] // 1000 - s.time[c0:c1] // 1000, 0).tolist()  # partner's time - own, µs
        data["pt"] = np.where(has, s.type[np.where(has, part, 0)], -1).tolist()  # partner's type
        data["pl"] = [int(lane_of[codes[p]]) for p in data["procs"]]
        body = f"window.prozessChunk({c0 // CHUNK}, {script_json(data)});\n"
        name = f"{c0 // CHUNK:04d}.js"
        (tmp / name).write_text(body, encoding="utf-8")
        total += len(body.encode())
        cut += data["cut"]
        limit = data["limit"] if limit is None else min(limit, data["limit"])
        files += 1

    ops = (op for _, op in _lines(path, []))
    for c0 in range(0, len(s), CHUNK):
        flush(c0, itertools.islice(ops, min(CHUNK, len(s) - c0)))
    old = out_dir / (PAGES_DIR + ".old")
    if old.exists():
        shutil.rmtree(old)
    if pages.exists():
        pages.rename(old)
    tmp.rename(pages)
    shutil.rmtree(old, ignore_errors=True)
    return {"files": files, "bytes": total, "cut": cut, "limit": limit}
