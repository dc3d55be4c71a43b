"""Faults of a mirror campaign: cut MirrorMaker 2 from one cluster, kill it, pause it.

A mirror campaign's cluster (`prozess.cluster.mirror.MirrorCluster`) has the
source's nodes n1..nN, the target's t1..tM and the MM2 node ``mm2``, which alone
joins both clusters' networks: the clusters meet only through it, so cutting it
from one side is the partition between the clusters.

The mirror fault package (`PACKAGE`, at the end), not in "all" (it needs a mirror
campaign; the probe says so on any other cluster):

- ``mirror-partition`` (``start-mirror-partition`` / ``stop-mirror-partition``):
  the side (``source`` or ``target``) drawn when the schedule is made; the MM2
  node drops traffic from and to every node of that side (its PROZESS-PART
  chain, so the partition package's heal flushes it like any partition);
- ``mirror-kill`` (``kill-mirror`` / ``start-mirror``): SIGKILL to MM2, and
  start it again;
- ``mirror-pause`` (``pause-mirror`` / ``resume-mirror``): SIGSTOP / SIGCONT.

Heal-all needs nothing of its own: the partition package's fragment flushes the
MM2 node's chain and the process package's steps SIGCONT and start MM2 there
(process control on ``mm2`` acts on MirrorMaker 2).
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from prozess.nemesis import process
from prozess.nemesis.executor import Executor, NemesisError
from prozess.nemesis.package import FaultContext, FaultPackage
from prozess.nemesis.partition import apply_partition, heal_partition

__all__ = ["KINDS", "MM2", "PACKAGE", "SIDES"]

MM2 = "mm2"
SIDES = ("source", "target")
PAIRS = {
    "mirror-partition": ("start-mirror-partition", "stop-mirror-partition"),
    "mirror-kill": ("kill-mirror", "start-mirror"),
    "mirror-pause": ("pause-mirror", "resume-mirror"),
}
KINDS = tuple(PAIRS)


def _mirror(nem: FaultContext) -> Any:
    cluster = nem.cluster
    if MM2 not in getattr(cluster, "nodes", ()) or not hasattr(cluster, "side_addresses"):
        raise NemesisError("mirror faults need a mirror campaign (--workload mirror), whose MM2 node they act on")
    return cluster


def start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """The start step: for a partition, the side MM2 is cut from, drawn now so a replay cuts the same one."""
    if kind == "mirror-partition":
        return [("start-mirror-partition", {"side": rng.choice(SIDES)})]
    return [(PAIRS[kind][0], {"nodes": [MM2]})]


def start_partition(nem: FaultContext, value: dict) -> dict:
    side = value.get("side")
    if side not in SIDES:
        raise NemesisError(f"mirror partition side {side!r}; use one of {', '.join(SIDES)}")
    peers = _mirror(nem).side_addresses(side)
    apply_partition(nem.ex, {MM2: sorted(peers.values())}, [MM2])
    # The grudge in the partition package's shape (node -> peers it drops), so the report reads it alike.
    return {**value, "nodes": [MM2], "drops": {MM2: sorted(peers)}}


def stop_partition(nem: FaultContext, value: dict) -> dict:
    _mirror(nem)
    heal_partition(nem.ex, [MM2])
    return {**value, "healed": [MM2]}


def kill_mirror(nem: FaultContext, value: dict) -> dict:
    _mirror(nem)
    process.kill(nem.ex, MM2, value.get("signal", "KILL"))
    nem.killed.add(MM2)
    return {**value, "nodes": [MM2]}


def start_mirror(nem: FaultContext, value: dict) -> dict:
    _mirror(nem)
    started = process.start(nem.ex, MM2)
    nem.killed.discard(MM2)
    return {**value, "started": [MM2] if started else []}


def pause_mirror(nem: FaultContext, value: dict) -> dict:
    _mirror(nem)
    process.pause(nem.ex, MM2)
    nem.paused.add(MM2)
    return {**value, "nodes": [MM2]}


def resume_mirror(nem: FaultContext, value: dict) -> dict:
    _mirror(nem)
    process.resume(nem.ex, MM2)
    nem.paused.discard(MM2)
    return {**value, "resumed": [MM2]}


def probe(ex: Executor, nodes: Sequence[str], kinds: set[str]) -> dict[str, str]:
    """Every requested mirror kind is unavailable on a cluster without an MM2 node."""
    if MM2 in nodes and hasattr(ex.cluster, "side_addresses"):
        return {}
    why = "needs a mirror campaign (--workload mirror): this cluster has no MirrorMaker 2 node"
    return {k: why for k in kinds if k in PAIRS}


PACKAGE = FaultPackage(
    name="mirror",
    pairs=PAIRS,
    actions={
        "start-mirror-partition": start_partition, "stop-mirror-partition": stop_partition,
        "kill-mirror": kill_mirror, "start-mirror": start_mirror,
        "pause-mirror": pause_mirror, "resume-mirror": resume_mirror,
    },
    start_steps=start_steps,
    in_all=False,
    probe=probe,
)
