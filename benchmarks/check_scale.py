"""How checking scales: wall time and peak memory of checking 1M and 10M ops, old path and columnar path.

For each size it makes (once, cached under benchmarks/out/) a correct Kafka queue history:
`prozess.simulate` writes a 1M-op chunk (20 keys, 10 processes, info ops, transactions of up
to 4 micro-ops), and larger sizes are that chunk repeated with its keys, processes, indices
and times shifted per copy (disjoint keys, so the whole stays correct), streamed to disk one
line at a time. Then it runs, each in a fresh subprocess, side by side:

- scan:  orjson on every line, nothing kept (the floor of any reader);
- parse: `prozess.history.read_history` and nothing else (the bare cost of op objects; like old, only
         up to --old-max ops: it needs ~1.5 GB per million ops);
- old:   `prozess.checkers.check(read_history(...))`, the op-object path (~2 GB per million ops);
- new:   `prozess check --json FILE`, which checks JSON Lines through numpy columns
         (`prozess.columnar_check`), reading a large file in two halves at once;
- 1pass: the same check with the file read in one pass (`prozess.columnar.SPLIT_BYTES` out of reach),
         the reading before it was split over two processes.

It prints wall time, CPU time and peak RSS (the child's own rusage) of each, the ratios new/scan
and old/new (wall and CPU), whether old and new verdicts agree, and 10M/1M growth. The machine may be shared: compare
within one run (ratios), not absolute seconds across runs.

Targets on a 2-core machine: 1M ops <= 8 s and <= 1 GiB; 10M ops <= 90 s and <= 2 GiB; 40M ops linear in
size (40M / 10M <= 4.5x) and <= 2 GiB. At the end it prints that table: the target, the figures before the
columnar check's passes were cut into chunks and batches (`BEFORE`, measured the same way and written in
docs/architecture.md), this run's figures and the bare scan of the same file in this run.

With `--memory-limit-gib 2` (root) each size's columnar check runs inside a memory cgroup of that size, and the
script prints whether it finished there and the group's peak charge: the proof that a check needs no more
than that, since the page cache its memory-mapped tables use is charged to the group too.

    .venv/bin/python benchmarks/check_scale.py [--sizes 1000000,10000000] [--old-max 1000000] [--memory-limit-gib 2]
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

OUT = Path(__file__).resolve().parent / "out"
CHUNK = 1_000_000
_PREEXEC = None  # set by main(): the children's address-space cap
PARSE = "import sys; from prozess.history import read_history; h = read_history(sys.argv[1]); print(len(h))"
# The floor of any reader: orjson on every line, nothing kept.
SCAN = ("import sys, orjson; n = 0\nfor line in open(sys.argv[1], 'rb'):\n    orjson.loads(line); n += 1\nprint(n)")
ONE_PASS = ("import sys, prozess.columnar as c; c.SPLIT_BYTES = 1 << 62; "
            "sys.argv = ['prozess', 'check', '--json', sys.argv[1]]; from prozess.cli import main; main()")
OLD = ("import sys, json; from prozess.history import read_history; from prozess.checkers import check; "
       "r = check(read_history(sys.argv[1])); print(json.dumps({'valid': r['valid'], 'anomaly-types': r['anomaly-types']}))")


# (wall s, CPU s, peak MiB) of `prozess check` with the facts as arrays, before the passes ran in chunks and batches
# (docs/architecture.md, "Histories at scale").
BEFORE = {1_000_000: (42.83, 9.35, 542), 10_000_000: (411.81, 99.62, 4026)}
TARGETS = {1_000_000: ("<= 8 s", 8.0, 1024), 10_000_000: ("<= 90 s", 90.0, 2048), 40_000_000: ("linear (x4.5 of 10M)", None, 2048)}


class MemoryCgroup:
    """A memory cgroup of `limit` bytes that a child joins before it runs (root, and cgroup v2 or v1's memory
    controller): a check that finishes inside it needed no more memory than that, the page cache it used
    included, because the kernel must reclaim or kill to keep the group under its limit. Swap is not
    counted: the machines this runs on have none."""

    def __init__(self, limit: int):
        v2 = Path("/sys/fs/cgroup")
        name = f"prozess-check-scale-{os.getpid()}-{time.monotonic_ns()}"
        if "memory" in _read(v2 / "cgroup.controllers").split():
            self.dir, limit_file, self.peak_file = v2 / name, "memory.max", "memory.peak"
        elif (v2 / "memory" / "memory.limit_in_bytes").exists():
            self.dir, limit_file, self.peak_file = v2 / "memory" / name, "memory.limit_in_bytes", "memory.max_usage_in_bytes"
        else:
            raise SystemExit("--memory-limit-gib needs a memory cgroup (v2, or v1's memory controller) under /sys/fs/cgroup")
        try:
            self.dir.mkdir()
            (self.dir / limit_file).write_text(str(limit))
        except OSError as e:
            raise SystemExit(f"--memory-limit-gib: cannot make a memory cgroup at {self.dir} ({e}); run as root") from None

    def enter(self) -> None:
        """Moves the calling process (the child, before exec) into the group."""
        (self.dir / "cgroup.procs").write_text(str(os.getpid()))

    def peak(self) -> int:
        """The group's highest charge in bytes (memory and page cache), 0 when the kernel does not say."""
        text = _read(self.dir / self.peak_file).strip()
        return int(text) if text.isdigit() else 0

    def close(self) -> None:
        try:
            self.dir.rmdir()
        except OSError:
            pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def run(argv: list[str], group: MemoryCgroup | None = None) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS bytes, stdout, CPU seconds) of one child process (its own rusage, via wait4),
    inside memory cgroup `group` if given (a child the kernel kills there for memory gives a result that says so)."""
    def preexec() -> None:
        if _PREEXEC is not None:
            _PREEXEC()
        if group is not None:
            group.enter()

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=preexec)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode()
        if code not in (0, 1, 3):
            if group is not None and code == -9:
                return wall, usage.ru_maxrss * 1024, '{"valid": "killed at the memory limit", "anomaly-types": []}', usage.ru_utime + usage.ru_stime
            if b"MemoryError" in err.read()[-4000:]:
                return wall, usage.ru_maxrss * 1024, '{"valid": "out of memory", "anomaly-types": []}', usage.ru_utime + usage.ru_stime
            err.seek(0)
            raise SystemExit(f"{argv[:3]} failed ({code}): {err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, stdout, usage.ru_utime + usage.ru_stime


def history(n: int, seed: int) -> Path:
    """The cached history of about n ops (chunks of CHUNK ops with disjoint keys), made on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"history-{n}-s{seed}-p.jsonl"  # -p: process ids never collide across copies
    if path.exists():
        return path
    chunk = OUT / f"chunk-{min(n, CHUNK)}-s{seed}.jsonl"
    if not chunk.exists():
        from prozess.history import write_jsonl
        from prozess.simulate import simulate

        write_jsonl(simulate(min(n, CHUNK), keys=20, processes=10, seed=seed, txn=True, info_rate=0.01), chunk)
    if n <= CHUNK:
        return chunk
    import orjson

    key = re.compile(rb'"(\d+)"')
    # Each copy's process ids move past every id of the chunk (a crashed process gets a new id, so a chunk
    # holds thousands): no id of one copy reappears in another, as no process of a real run comes back.
    stride = process_stride(chunk)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        index = 0
        t_base = 0
        for copy in range((n + CHUNK - 1) // CHUNK):
            last_time = 0
            with open(chunk, "rb") as fh:
                for line in fh:
                    d = orjson.loads(key.sub(b'"c%d-\\1"' % copy, line) if copy else line)
                    d["index"] = index
                    index += 1
                    last_time = d["time"]
                    d["time"] += t_base
                    if isinstance(d["process"], int):
                        d["process"] += copy * stride
                    out.write(orjson.dumps(d) + b"\n")
            t_base += last_time + 1_000_000
    tmp.rename(path)
    return path


def process_stride(chunk: Path) -> int:
    """The shift of process ids per copy of `chunk`: a power of ten above its highest client process id."""
    import orjson

    top = 0
    with open(chunk, "rb") as fh:
        for line in fh:
            p = orjson.loads(line)["process"]
            if isinstance(p, int) and p > top:
                top = p
    return 10 ** len(str(top + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--old-max", type=int, default=1_000_000, help="run the op-object path only up to this size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--one-pass", action="store_true", help="also run the columnar check reading the file in one pass")
    ap.add_argument("--max-rss-gib", type=float, default=12.0,
                    help="address-space cap of each child (a shared machine must survive a path that does not scale)")
    ap.add_argument("--memory-limit-gib", type=float, default=None,
                    help="run the columnar check of each size inside a memory cgroup of this size (root): "
                         "a check that finishes there needed no more, page cache included")
    args = ap.parse_args()
    exe = shutil.which("prozess") or str(Path(sys.executable).with_name("prozess"))
    import resource

    cap = int(args.max_rss_gib * 2**30)

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    global _PREEXEC
    _PREEXEC = capped
    print(f"{'ops':>10} {'MB':>6} | {'scan s':>6} {'cpu':>6} | {'parse s':>7} {'cpu':>6} {'MiB':>6} | {'old s':>7} {'cpu':>6} {'MiB':>6} | "
          f"{'new s':>7} {'cpu':>6} {'MiB':>6} | {'new/scan':>8} {'old/new':>7} {'cpu':>5}  verdicts")
    rows = {}
    one_pass: dict[int, tuple] = {}
    limited: dict[int, int] = {}  # size -> the memory cgroup's peak charge (bytes) of its columnar check
    for n in [int(s) for s in args.sizes.split(",")]:
        path = history(n, args.seed)
        lines = sum(1 for _ in open(path, "rb"))
        sw, _, _, sc = run([sys.executable, "-c", SCAN, str(path)])
        if n <= args.old_max:
            pw, pm, _, pc = run([sys.executable, "-c", PARSE, str(path)])
            ow, om, oout, oc = run([sys.executable, "-c", OLD, str(path)])
            old = json.loads(oout.strip().splitlines()[-1])
        else:
            pw = pm = pc = ow = om = oc = 0
            old = None
        group = MemoryCgroup(int(args.memory_limit_gib * 2**30)) if args.memory_limit_gib else None
        try:
            nw, nm, nout, nc = run([exe, "check", "--json", str(path)], group)
            if group is not None:
                limited[n] = group.peak()
        finally:
            if group is not None:
                group.close()
        if args.one_pass:
            one = run([sys.executable, "-c", ONE_PASS, str(path)])
            same = "same verdict" if json.loads(one[2])["valid"] == json.loads(nout)["valid"] else "VERDICTS DIFFER"
            one_pass[n] = (one[0], one[3], one[1], same)
        new = json.loads(nout) if nout.strip() else {"valid": "failed (no result)", "anomaly-types": []}
        new_v = {"valid": new["valid"], "anomaly-types": new["anomaly-types"]}
        agree = "n/a (old not run)" if old is None else ("same" if old == new_v else f"DIFFER old={old}")
        rows[n] = (nw, nm, nc, sw, sc, new["valid"])
        dash = f"{'-':>7} {'-':>6} {'-':>6}"
        p = f"{pw:>7.2f} {pc:>6.2f} {pm / 2**20:>6.0f}" if old is not None else dash
        o = f"{ow:>7.2f} {oc:>6.2f} {om / 2**20:>6.0f}" if old is not None else dash
        print(f"{lines:>10} {path.stat().st_size / 1e6:>6.0f} | {sw:>6.2f} {sc:>6.2f} | {p} | {o} | "
              f"{nw:>7.2f} {nc:>6.2f} {nm / 2**20:>6.0f} | {nw / sw:>8.2f} {(ow / nw if old else 0):>7.2f} "
              f"{(oc / nc if old else 0):>5.2f}  valid={new['valid']} {agree}", flush=True)
    for n, (w, c, m, same) in sorted(one_pass.items()):
        print(f"{n:>10} ops, read in one pass: {w:.2f} s wall, {c:.2f} s CPU, {m / 2**20:.0f} MiB; "
              f"two halves: {rows[n][0]:.2f} s wall, {rows[n][2]:.2f} s CPU, {rows[n][1] / 2**20:.0f} MiB ({same})")
    for n, peak in sorted(limited.items()):
        print(f"{n:>10} ops, columnar check in a {args.memory_limit_gib:g} GiB memory cgroup: valid={rows[n][5]}, "
              f"the group's peak charge {peak / 2**20:.0f} MiB (page cache included), the process's peak RSS "
              f"{rows[n][1] / 2**20:.0f} MiB")
    ns = sorted(rows)
    if len(ns) > 1:
        a, b = ns[0], ns[-1]
        print(f"{b // a}x ops: new check time x{rows[b][0] / rows[a][0]:.2f} (CPU x{rows[b][2] / rows[a][2]:.2f}), "
              f"peak x{rows[b][1] / rows[a][1]:.2f}")
    print()
    print("| history | target wall | target peak | before: wall / CPU s / MiB | now: wall / CPU s / MiB | scan: wall / CPU s | met |")
    print("|---|---|---|---|---|---|---|")
    for n in ns:
        nw, nm, nc, sw, sc, valid = rows[n]
        label, wall_max, mib_max = TARGETS.get(n, ("-", None, None))
        before = BEFORE.get(n)
        b = f"{before[0]:.1f} / {before[1]:.1f} / {before[2]}" if before else "-"
        if wall_max is None and 10_000_000 in rows and n > 10_000_000:  # linear in size against the 10M run
            ratio = nw / rows[10_000_000][0]
            wall_ok = ratio <= 4.5 * n / 40_000_000
            # the bare scan's own growth over the same files in this run: how much of the ratio is the machine's
            label = (f"{label}: x{ratio:.2f} wall, x{nc / rows[10_000_000][2]:.2f} CPU "
                     f"(bare scan x{sw / rows[10_000_000][3]:.2f})")
        else:
            wall_ok = wall_max is None or nw <= wall_max
        # memory: the process's peak, or the limit of the memory cgroup it finished in (see MemoryCgroup)
        in_group = n in limited and mib_max is not None and args.memory_limit_gib * 1024 <= mib_max
        mem_ok = mib_max is None or nm / 2**20 <= mib_max or in_group
        met = ("yes" if wall_ok and mem_ok else "no") if n in TARGETS else "-"
        if in_group and met == "yes":
            met = f"yes (finished in a {args.memory_limit_gib:g} GiB memory cgroup)"
        if valid not in (True, False):  # e.g. the Analysis ran out of memory under the cap: the check did not finish
            met = f"no (the check did not finish: valid={valid})"
        print(f"| {n / 1e6:g}M ops | {label} | {f'<= {mib_max} MiB' if mib_max else '-'} | {b} | "
              f"{nw:.1f} / {nc:.1f} / {nm / 2**20:.0f} | {sw:.1f} / {sc:.1f} | {met} |")


if __name__ == "__main__":
    main()
