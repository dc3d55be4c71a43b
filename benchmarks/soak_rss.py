"""Runs a command and samples its resident memory every few seconds: is the runner's RSS flat over a soak?

    .venv/bin/python benchmarks/soak_rss.py --every 5 --csv rss.csv -- prozess run --spec soak --time-limit 1800

Writes `seconds,rss_mib` rows to --csv while the command runs (the command's own process,
read from /proc), then prints the curve in one-minute buckets (max RSS of each) and the growth
from the first full minute of the main phase to the last (--main-until: where the main phase
ends; the check and report after it read the whole history and need more). Exits with the command's exit code.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--csv", type=Path, required=True)
    ap.add_argument("--main-until", type=float, default=None,
                    help="seconds after which the main phase is over (the check and report that follow read the "
                         "whole history and are left out of the growth figure)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("give the command after --")
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    with open(args.csv, "w") as out:
        out.write("seconds,rss_mib\n")
        p = subprocess.Popen(cmd)
        while p.poll() is None:
            r = rss_mib(p.pid)
            if r is not None:
                t = time.monotonic() - t0
                samples.append((t, r))
                out.write(f"{t:.1f},{r:.1f}\n")
                out.flush()
            time.sleep(args.every)
    buckets: dict[int, float] = {}
    for t, r in samples:
        buckets[int(t // 60)] = max(buckets.get(int(t // 60), 0.0), r)
    print("minute  max RSS MiB", file=sys.stderr)
    for m in sorted(buckets):
        print(f"{m:>6}  {buckets[m]:>8.1f}", file=sys.stderr)
    main = buckets
    if args.main_until is not None:
        main = {m: r for m, r in buckets.items() if (m + 1) * 60 <= args.main_until}
    if len(main) >= 3:
        ms = sorted(main)[1:] if args.main_until is not None else sorted(main)[1:-1]  # minute 0 boots the cluster
        print(f"main-phase RSS: {buckets[ms[0]]:.1f} MiB (minute {ms[0]}) -> {buckets[ms[-1]]:.1f} MiB (minute {ms[-1]})",
              file=sys.stderr)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
