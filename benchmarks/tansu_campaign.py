"""Tansu campaigns: fault kinds x workloads x seeds, and the results table docs/results-tansu.md.

Runs `prozess run --system tansu` (or against a running Tansu cluster with --cluster
NAME) for every cell, one after another, each bounded by --time-limit plus a fixed
allowance; collects each run's verdict and anomaly types into docs/results-tansu.json
and renders docs/results-tansu.md from it. Run it under the shared cluster lock:

    .venv/bin/python benchmarks/tansu_campaign.py --seeds 1,2

`--render` only re-renders the table from the json. `--from-dir DIR` adds the
results of `prozess run ... --json > DIR/<cell>-s<seed>.json` files made by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JSON = ROOT / "docs" / "results-tansu.json"
MD = ROOT / "docs" / "results-tansu.md"
FAULTS = ["none", "partition", "kill", "pause", "clock", "partition+kill", "client-partition"]
#: fault cells that need nemesis options only a spec file carries
FAULT_SPECS = {"client-partition": ROOT / "benchmarks" / "tansu-client-partition.toml"}
#: workload cells: name -> extra `prozess run` flags
WORKLOADS = {
    "queue (idempotent)": ["--workload", "queue", "--idempotence"],
    "queue (no idempotence)": ["--workload", "queue", "--no-idempotence"],
    "group": ["--workload", "group"],
    "eos": ["--workload", "eos"],
}
SLUG = {"queue (idempotent)": "queue-idem", "queue (no idempotence)": "queue-noidem", "group": "group-idem", "eos": "eos"}


def verdict(results: dict) -> str:
    if results.get("unavailable"):
        return "unavailable"
    v = results.get("valid")
    return "valid" if v is True else "invalid" if v is False else "unknown"


def run_cell(workload: str, fault: str, seed: int, args) -> dict:
    argv = [str(ROOT / ".venv" / "bin" / "prozess"), "run", *WORKLOADS[workload], "--time-limit", str(args.time_limit),
            "--seed", str(seed), "--results-dir", args.results_dir, "--no-progress", "--json",
            "--name", f"tansu-{SLUG[workload]}-{fault}"]
    argv += ["--cluster", args.cluster] if args.cluster else ["--system", "tansu", "--backend", args.backend]
    if fault in FAULT_SPECS:
        argv += ["--spec", str(FAULT_SPECS[fault])]
    elif fault != "none":
        argv += ["--faults", fault]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=args.time_limit + 300)
        results = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {"valid": "unknown", "error": r.stderr[-300:]}
    except subprocess.TimeoutExpired:
        results = {"valid": "unknown", "error": "timed out"}
    return {"workload": workload, "fault": fault, "seed": seed, "verdict": verdict(results),
            "anomaly-types": results.get("anomaly-types", []), "unavailable": results.get("unavailable")}


def render(cells: list[dict]) -> str:
    lines = [
        "# Tansu results",
        "",
        "Verdicts of `benchmarks/tansu_campaign.py` campaigns on Tansu 0.6.0: 3 brokers on PostgreSQL 15",
        "(own node, fsync and synchronous commit on), confluent-kafka client with safe settings (acks=all,",
        "read_committed). Each cell: valid / invalid / unknown counts over its seeds, with the anomaly types",
        "seen; `unavailable` where the brokers lack an API the workload needs (ApiVersions). Generated from",
        "docs/results-tansu.json; findings with replayable histories are in docs/findings/.",
        "",
        "Measured 2026-11-30 on one machine (2 cores): 30 s runs on the netns backend against one Tansu",
        "cluster kept up across runs (`--cluster`; fresh topics and group per run), plus one",
        "`prozess run --system tansu --faults partition+kill` on docker (its own cluster, seed 2: valid).",
        "`unknown` cells: a run that produced nothing to check (see docs/findings/tansu-0.6.0-one-node-id.md)",
        "or whose harness process died (one `group` run under `kill`: a segmentation fault in the client).",
        "Four runs made while the storage node could not restart (a start-script bug since fixed: a killed",
        "postmaster left as a zombie blocked its restart) are left out and were run again where time allowed.",
        "",
        "| workload | " + " | ".join(FAULTS) + " |",
        "|---|" + "---|" * len(FAULTS),
    ]
    for w in WORKLOADS:
        row = []
        for f in FAULTS:
            runs = [c for c in cells if c["workload"] == w and c["fault"] == f]
            if not runs:
                row.append("—")
                continue
            if all(c["verdict"] == "unavailable" for c in runs):
                missing = sorted({a for c in runs for apis in (c.get("unavailable") or {}).values() for a in apis})
                row.append(f"unavailable ({', '.join(missing)})")
                continue
            counts = {k: sum(1 for c in runs if c["verdict"] == k) for k in ("valid", "invalid", "unknown")}
            text = " / ".join(f"{n} {k}" for k, n in counts.items() if n)
            types = sorted({t for c in runs for t in c["anomaly-types"]})
            row.append(text + (f": {', '.join(types)}" if types else ""))
        lines.append(f"| {w} | " + " | ".join(row) + " |")
    seeds = sorted({c["seed"] for c in cells})
    lines += ["", f"Seeds: {', '.join(map(str, seeds))} (not every cell ran every seed: the counts say how many ran)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1", help="comma-separated seeds")
    p.add_argument("--faults", default=",".join(FAULTS), help="fault cells (none, partition, kill, ...)")
    p.add_argument("--workloads", default=",".join(SLUG.values()), help="workload cells: " + ", ".join(SLUG.values()))
    p.add_argument("--time-limit", type=float, default=30)
    p.add_argument("--cluster", help="a running Tansu cluster (`prozess cluster up --system tansu`) instead of one per run")
    p.add_argument("--backend", default="docker")
    p.add_argument("--results-dir", default=str(ROOT / "results"))
    p.add_argument("--render", action="store_true", help="only render docs/results-tansu.md from the json")
    p.add_argument("--from-dir", help="add `prozess run --json` outputs named <cell>-s<seed>.json from this folder")
    args = p.parse_args()
    cells = json.loads(JSON.read_text()) if JSON.exists() else []
    by_slug = {v: k for k, v in SLUG.items()}
    if args.from_dir:
        for f in sorted(Path(args.from_dir).glob("tansu-*-s*.json")):
            stem, _, seed = f.stem.rpartition("-s")
            rest = stem.removeprefix("tansu-")
            slug = next((s for s in by_slug if rest.startswith(s + "-")), None)
            if slug is None:
                continue
            text = f.read_text().strip()
            results = json.loads(text) if text.startswith("{") else {"valid": "unknown", "error": "no results: the run died"}
            cells = [c for c in cells if not (c["workload"] == by_slug[slug] and c["fault"] == rest[len(slug) + 1:] and c["seed"] == int(seed))]
            cells.append({"workload": by_slug[slug], "fault": rest[len(slug) + 1:], "seed": int(seed), "verdict": verdict(results),
                          "anomaly-types": results.get("anomaly-types", []), "unavailable": results.get("unavailable")})
    elif not args.render:
        for w in [by_slug[s] for s in args.workloads.split(",")]:
            for f in args.faults.split(","):
                for seed in [int(s) for s in args.seeds.split(",")]:
                    cell = run_cell(w, f, seed, args)
                    print(json.dumps(cell), flush=True)
                    cells = [c for c in cells if (c["workload"], c["fault"], c["seed"]) != (w, f, seed)] + [cell]
                    JSON.write_text(json.dumps(cells, indent=1) + "\n")
    JSON.write_text(json.dumps(sorted(cells, key=lambda c: (c["workload"], c["fault"], c["seed"])), indent=1) + "\n")
    MD.write_text(render(cells))
    print(f"wrote {MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
