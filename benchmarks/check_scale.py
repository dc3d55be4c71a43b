"""How checking scales: wall time and peak memory of `prozess check` on 10k, 100k and 1M ops.

For each size it simulates a correct Kafka queue history (20 keys, 10 processes,
some info ops, transactions of up to 4 micro-ops; `prozess.simulate`), writes it
as JSON Lines, then runs, each in a fresh subprocess:

- parse: read the history (`prozess.history.read_history`) and nothing else;
- check: `prozess check --json FILE` when the console script has a `check`
  command, else `python -c` reading and checking it;
- check with the cyclic GC paused while parsing too (in brackets): what
  `prozess check` costs once the history reader pauses the GC.

It prints wall time, CPU time and peak RSS (the child's own rusage) of both,
the ratio check/parse (wall), and the growth of check time from 100k to 1M ops.
CPU time is the steadier figure on a busy machine.

Targets on a 2-core machine: 1M ops in under 15 s and 2 GiB; 1M/100k time under 12.

    .venv/bin/python benchmarks/check_scale.py [--sizes 10000,100000,1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARSE = "import sys; from prozess.history import read_history; h = read_history(sys.argv[1]); print(len(h))"
# The same check in-process, with the cyclic GC paused while the history is parsed too:
# what `prozess check` costs once `read_history` pauses the GC (parsing a million ops
# otherwise spends most of its time rescanning the objects it has just built).
CHECK_NOGC = ("import sys, gc, json; gc.disable(); from prozess.history import read_history; "
              "from prozess.checkers import check; h = read_history(sys.argv[1]); gc.enable(); r = check(h); "
              "print(json.dumps({'valid': r['valid'], 'types': r['anomaly-types']}))")
CHECK = ("import sys, json; from prozess.history import read_history; from prozess.checkers import check; "
         "r = check(read_history(sys.argv[1])); print(json.dumps({'valid': r['valid'], 'types': r['anomaly-types']}))")


def run(argv: list[str]) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS bytes, stdout, CPU seconds) of one child process (its own rusage, via wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode()
        if p.returncode not in (0, 1, 3):
            raise SystemExit(f"{argv[:3]} failed ({p.returncode}): {err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, stdout, usage.ru_utime + usage.ru_stime


def prozess_has_check() -> list[str] | None:
    exe = shutil.which("prozess") or str(Path(sys.executable).with_name("prozess"))
    if not os.path.exists(exe):
        return None
    p = subprocess.run([exe, "check", "--help"], capture_output=True, text=True)
    return [exe, "check", "--json"] if p.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--keep", default=None, help="write histories here and keep them")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from prozess.history import write_jsonl
    from prozess.simulate import simulate

    sizes = [int(s) for s in args.sizes.split(",")]
    out_dir = Path(args.keep or tempfile.mkdtemp(prefix="check-scale-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    cli = prozess_has_check()
    print(f"checker command: {' '.join(Path(a).name for a in cli) if cli else 'python -c check(...)'}")
    print(f"{'ops':>9} {'lines':>9} {'MB':>7} {'parse s':>8} {'cpu s':>7} {'parse MiB':>9} "
          f"{'check s':>8} {'cpu s':>7} {'check MiB':>9} {'ratio':>6}  verdict")
    rows = []
    try:
        for n in sizes:
            path = out_dir / f"history-{n}.jsonl"
            if not path.exists():
                ops = simulate(n, keys=20, processes=10, seed=args.seed, txn=True, info_rate=0.01)
                write_jsonl(ops, path)
                del ops
            lines = sum(1 for _ in open(path, "rb"))
            pw, pm, _, pc = run([sys.executable, "-c", PARSE, str(path)])
            if cli:
                cw, cm, out, cc = run(cli + [str(path)])
                verdict = json.loads(out).get("valid") if out.strip() else "?"
            else:
                cw, cm, out, cc = run([sys.executable, "-c", CHECK, str(path)])
                verdict = json.loads(out.strip().splitlines()[-1]).get("valid")
            gw, gm, _, gc_cpu = run([sys.executable, "-c", CHECK_NOGC, str(path)])
            rows.append((n, cw, cm))
            print(f"{n:>9} {lines:>9} {path.stat().st_size / 1e6:>7.1f} {pw:>8.2f} {pc:>7.2f} {pm / 2**20:>9.0f} "
                  f"{cw:>8.2f} {cc:>7.2f} {cm / 2**20:>9.0f} {cw / pw:>6.2f}  {verdict}   "
                  f"[gc paused: {gw:.2f} s, {gc_cpu:.2f} s cpu, {gm / 2**20:.0f} MiB]", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)
    by = {n: (w, m) for n, w, m in rows}
    if 100_000 in by and 1_000_000 in by:
        growth = by[1_000_000][0] / by[100_000][0]
        w, m = by[1_000_000]
        print(f"1M/100k check time ratio: {growth:.2f} (target < 12)")
        print(f"1M ops: {w:.2f} s (target < 15 s), peak {m / 2**30:.2f} GiB (target < 2 GiB)")


if __name__ == "__main__":
    main()
