"""`prozess heal [CLUSTER]`: clear every fault on every node of a running cluster.

Works from a fresh process (the cluster is attached from its persisted state), so it
cleans up after a runner that was killed mid-fault. With --check it changes nothing
and lists what is left (exit 1 when anything is).
"""

from __future__ import annotations

import json
from typing import Optional

import typer

__all__ = ["heal"]


def _pick_cluster(name: Optional[str]) -> str:
    if name:
        return name
    from prozess.cluster import list_clusters

    clusters = [c for c in list_clusters() if not (isinstance(c, dict) and c.get("mirror_of"))]  # a mirror target heals with its source
    names = [c if isinstance(c, str) else getattr(c, "name", None) or c.get("name") for c in clusters]
    if len(names) == 1:
        return names[0]
    if not names:
        raise ValueError("no cluster is running; start one with `prozess cluster up` or name it")
    raise ValueError(f"more than one cluster runs ({', '.join(sorted(names))}); name the one to heal")


def heal(
    name: Optional[str] = typer.Argument(None, metavar="[CLUSTER]", help="The cluster to heal (default: the only one running)."),
    check: bool = typer.Option(False, "--check", help="Change nothing; list faults left on the nodes (exit 1 if any)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done / found as JSON."),
) -> None:
    """Clear every fault on every node: iptables chain, qdiscs, paused and killed brokers, clock skew."""
    from prozess.nemesis.executor import Executor
    from prozess.nemesis.heal import heal_all, leftovers

    try:
        cluster_name = _pick_cluster(name)
        from prozess.cluster import attach_cluster

        cluster = attach_cluster(cluster_name)
    except Exception as e:
        typer.echo(f"prozess: error: {e}", err=True)
        raise typer.Exit(2)
    ex = Executor(cluster)
    if check:
        left = leftovers(ex)
        if as_json:
            typer.echo(json.dumps({"cluster": cluster_name, "leftovers": left}, indent=2))
        elif left:
            for node, items in left.items():
                for item in items:
                    typer.echo(f"{node}: {item}")
        else:
            typer.echo(f"{cluster_name}: no faults left on any node.")
        raise typer.Exit(1 if left else 0)
    report = heal_all(ex)
    left = leftovers(ex, require_running=False)
    if as_json:
        typer.echo(json.dumps({"cluster": cluster_name, **report, "leftovers": left}, indent=2))
    else:
        for node, r in report["nodes"].items():
            typer.echo(f"{node}: {', '.join(r['done']) or 'nothing to do'}")
        for p in report["problems"]:
            typer.echo(f"problem: {p}", err=True)
        for node, items in left.items():
            for item in items:
                typer.echo(f"still there: {node}: {item}", err=True)
    raise typer.Exit(1 if report["problems"] or left else 0)
