"""Heal-all: every fault prozess can leave on a node, cleared; and a check that lists leftovers.

`heal_all` is idempotent and works from any process (the runner on every exit path,
or `prozess heal CLUSTER` after the runner was killed): on each node it runs the
heal of every fault package (prozess.nemesis.packages, in heal order): it stops a
clock strobe and writes "+0" into the faketime file, flushes prozess's iptables
chains, deletes prozess's root qdiscs (one exec for these three), remounts a dead
disk layer and frees a full one, sends SIGCONT to Kafka, and starts Kafka
where it does not run. Each step is tried on every node even when another fails;
failures are reported, not raised.

`leftovers` lists what is still there (rules, qdiscs, stopped or missing
processes, clock skew), so tests and `prozess heal --check` can prove a clean node.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prozess.nemesis import clock, disk, link, partition
from prozess.nemesis.executor import Executor, text
from prozess.nemesis.packages import HEAL_ORDER

__all__ = ["heal_all", "heal_argv", "heal_node", "leftovers", "node_leftovers"]


def _faketime_path(ex: Executor) -> str | None:
    return getattr(ex.cluster, "faketime_path", None) or None


# One constant script (arguments are positional, never interpolated) so a heal costs one
# exec per node, made of the fault packages' fragments in heal order (stop a strobe and
# reset the clock, flush prozess's chains, delete prozess's root qdiscs). Each fragment
# runs even when another fails; failures go to stderr and set rc. $1 is the strobe's
# pid file and $2 the faketime file (empty when the brokers run without libfaketime).
_SH_PACKAGES = tuple(p for p in HEAL_ORDER if p.heal_sh)
_HEAL = "\nset -f\npidfile=$1 clock=$2 rc=0\n" + "".join(p.heal_sh for p in _SH_PACKAGES) + "exit $rc\n"
_HEAL_NAME = ", ".join(p.heal_name for p in _SH_PACKAGES)


def heal_argv(faketime_path: str | None) -> list[str]:
    """argv of the one-exec node heal (strobe, clock, iptables chains, qdiscs)."""
    return ["sh", "-c", _HEAL, "prozess-heal", clock.STROBE_PIDFILE, faketime_path or ""]


def heal_node(ex: Executor, node: str, *, start_killed: bool = True) -> dict[str, Any]:
    """Clears every prozess fault on one node; returns {"done": [...], "problems": [...]}."""
    done: list[str] = []
    problems: list[str] = []

    def step(name: str, fn) -> None:
        try:
            fn()
            done.append(name)
        except Exception as e:
            problems.append(f"{node}: {name}: {e}")

    step(_HEAL_NAME, lambda: ex.run(node, heal_argv(_faketime_path(ex)), timeout=60))
    for package in HEAL_ORDER:
        for heal in package.heal_steps:
            if start_killed or not heal.restarts:
                step(heal.name, lambda heal=heal: heal.run(ex, node))
    return {"done": done, "problems": problems}


def heal_all(ex: Executor, *, start_killed: bool = True) -> dict[str, Any]:
    """heal_node on every node at once; returns {"nodes": {node: {...}}, "problems": [...]}."""
    nodes = list(ex.cluster.nodes)
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        results = list(pool.map(lambda n: heal_node(ex, n, start_killed=start_killed), nodes))
    report = {"nodes": dict(zip(nodes, results)), "problems": [p for r in results for p in r["problems"]]}
    ex.note(f="heal-all", problems=report["problems"])
    return report


def _state_of(ex: Executor, node: str, pid: int) -> str:
    res = ex.run(node, ["cat", f"/proc/{int(pid)}/stat"], check=False)
    if res is None or res.returncode != 0:
        return "?"
    # "pid (comm) S ..." - the state follows the last ')'.
    stat = text(res.stdout)
    return stat[stat.rfind(")") + 2 :].split(" ", 1)[0] if ")" in stat else "?"


def node_leftovers(ex: Executor, node: str, *, require_running: bool = True) -> list[str]:
    """What prozess faults are still visible on `node` (empty when clean)."""
    found: list[str] = []
    found += [f"iptables: {r}" for r in partition.list_rules(ex, node)]
    found += [f"qdisc: {line}" for _, line in link.prozess_qdiscs(ex, node)]
    found += disk.node_leftovers(ex, node)
    c = ex.cluster
    pid = None
    try:
        pid = c.kafka_pid(node)
    except Exception as e:
        found.append(f"kafka: cannot tell its pid: {e}")
    if pid is not None:
        state = _state_of(ex, node, pid)
        if state in ("T", "t"):
            found.append(f"kafka: process {pid} is stopped (state {state})")
    elif require_running:
        found.append("kafka: not running")
    path = _faketime_path(ex)
    if path:
        res = ex.run(node, ["cat", path], check=False)
        content = text(res.stdout).strip() if res is not None and res.returncode == 0 else ""
        if content not in ("", "+0", "0", "+0s", "-0"):
            found.append(f"clock: {path} holds {content!r}")
        res = ex.run(node, ["sh", "-c", '[ -f "$1" ] && cat "$1"; true', "prozess-check", clock.STROBE_PIDFILE], check=False)
        if res is not None and text(res.stdout).strip():
            found.append(f"clock: a strobe loop runs (pid {text(res.stdout).strip()})")
    return found


def leftovers(ex: Executor, *, require_running: bool = True) -> dict[str, list[str]]:
    """node -> leftovers, for every node that has any."""
    out = {}
    for node in ex.cluster.nodes:
        found = node_leftovers(ex, node, require_running=require_running)
        if found:
            out[node] = found
    return out
