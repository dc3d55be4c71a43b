"""Process faults on the Kafka process of a node: kill -9, pause (SIGSTOP) / resume, restart.

Targets (as the spec spells them): ``one``, ``minority``, ``majority``, ``all``
(chosen with the seeded rng when the schedule is made, so a replay hits the same
nodes), and ``leader`` (of a topic partition), ``controller`` (the active KRaft
controller, or in ZooKeeper mode the controller broker) or ``zookeeper-leader`` (the
ensemble's leader), which are looked up in the live cluster when the fault starts.

The process fault package (`PACKAGE`, at the end): kinds ``kill`` (``kill`` /
``start``) and ``pause`` (``pause`` / ``resume``), plus ``restart`` (a rolling
graceful restart that opens no window); their schedule entries (targets drawn
from the options); and their part of heal-all (SIGCONT, then start every broker
that does not run).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Sequence

from prozess.nemesis.executor import Executor, NemesisError
from prozess.nemesis.package import FaultContext, FaultPackage, HealStep, each

__all__ = [
    "LIVE_TARGETS",
    "PACKAGE",
    "TARGETS",
    "choose_targets",
    "kill",
    "pause",
    "restart",
    "resume",
    "start",
]

TARGETS = ("one", "minority", "majority", "all", "leader", "controller", "zookeeper-leader")
LIVE_TARGETS = ("leader", "controller", "zookeeper-leader")


def choose_targets(kind: str, nodes: Sequence[str], rng: random.Random) -> list[str]:
    """Seeded choice of nodes for `one`, `minority`, `majority`, `all` (sorted as in `nodes`)."""
    nodes = list(nodes)
    n = len(nodes)
    if n == 0:
        raise NemesisError("no nodes to choose targets from")
    sizes = {"one": 1, "minority": max(1, (n - 1) // 2), "majority": n // 2 + 1, "all": n}
    if kind not in sizes:
        raise NemesisError(f"unknown target {kind!r}; use one of {', '.join(TARGETS)} or a list of node names")
    picked = set(rng.sample(nodes, sizes[kind]))
    return [x for x in nodes if x in picked]


def _wait(pred: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def kill(ex: Executor, node: str, sig: str = "KILL") -> None:
    """Signals the node's Kafka process (SIGKILL by default) and waits until it is gone."""
    c = ex.cluster
    ex.act(node, "kill_kafka", lambda: c.kill_kafka(node, sig=sig), sig=sig)
    if not _wait(lambda: not c.kafka_running(node), 30):
        raise NemesisError(f"{node}: Kafka still runs 30 s after SIG{sig}")


def start(ex: Executor, node: str) -> bool:
    """Starts the node's Kafka process when it does not run; returns whether it had to."""
    c = ex.cluster
    if c.kafka_running(node):
        return False
    ex.act(node, "start_kafka", lambda: c.start_kafka(node))
    return True


def pause(ex: Executor, node: str) -> None:
    c = ex.cluster
    ex.act(node, "pause_kafka", lambda: c.pause_kafka(node))


def resume(ex: Executor, node: str) -> None:
    """SIGCONT to the node's Kafka process; a process that is not there is fine."""
    c = ex.cluster
    if c.kafka_pid(node) is None:
        return
    ex.act(node, "resume_kafka", lambda: c.resume_kafka(node))


def restart(ex: Executor, node: str, *, timeout: float = 60) -> None:
    """Graceful stop (SIGTERM, SIGKILL after `timeout`), then start."""
    c = ex.cluster
    ex.act(node, "kill_kafka", lambda: c.kill_kafka(node, sig="TERM"), sig="TERM")
    if not _wait(lambda: not c.kafka_running(node), timeout):
        kill(ex, node, "KILL")
    start(ex, node)


def live_target(cluster: Any, kind: str, topic: str | None, partition: int) -> str:
    """The node that is now the leader of (topic, partition) or the active controller."""
    if kind == "controller":
        node = cluster.active_controller()
        if node is None:
            raise NemesisError("no active controller is known now")
        return node
    if kind == "zookeeper-leader":
        leader_of = getattr(cluster, "zookeeper_leader", None)
        node = leader_of() if leader_of else None
        if node is None:
            raise NemesisError("no ZooKeeper leader is known now (is the cluster in ZooKeeper mode?)")
        return node
    if kind == "leader":
        if not topic:
            raise NemesisError("target `leader` needs a topic (nemesis option `topic`)")
        node = cluster.leader(topic, partition)
        if node is None:
            raise NemesisError(f"no leader is known now for {topic}-{partition}")
        return node
    raise NemesisError(f"not a live target: {kind!r}")


# ------------------------------------------------------------------ the process fault package
PAIRS = {"kill": ("kill", "start"), "pause": ("pause", "resume")}


def start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """The start step of a kill or pause: its targets drawn now (live ones are looked up when it starts)."""
    kind_targets = opts.targets if kind == "kill" else opts.pause_targets
    t = rng.choice(list(kind_targets))
    value: dict[str, Any] = {"targets": t}
    if t in LIVE_TARGETS:
        if t == "leader":
            value["topic"], value["partition"] = opts.topic, opts.partition
    else:
        value["nodes"] = choose_targets(t, nodes, rng)
    return [(PAIRS[kind][0], value)]


def kill_action(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    each(nodes, lambda n: kill(nem.ex, n, value.get("signal", "KILL")))
    nem.killed |= set(nodes)
    return {**value, "nodes": nodes}


def start_action(nem: FaultContext, value: dict) -> dict:
    all_nodes = nem.nodes
    started = [n for n, did in zip(all_nodes, each(all_nodes, lambda n: start(nem.ex, n))) if did]
    nem.killed.clear()
    return {**value, "started": started}


def restart_action(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    for n in nodes:  # one at a time: a rolling restart
        restart(nem.ex, n)
    return {**value, "nodes": nodes}


def pause_action(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    each(nodes, lambda n: pause(nem.ex, n))
    nem.paused |= set(nodes)
    return {**value, "nodes": nodes}


def resume_action(nem: FaultContext, value: dict) -> dict:
    # SIGCONT to every node: harmless to a running process, so the stop is idempotent.
    each(nem.nodes, lambda n: resume(nem.ex, n))
    resumed = sorted(nem.paused)
    nem.paused.clear()
    return {**value, "resumed": resumed}


def _heal_sigcont(ex: Executor, node: str) -> None:
    c = ex.cluster
    ex.act(node, "resume_kafka", lambda: c.resume_kafka(node))


def _heal_start(ex: Executor, node: str) -> None:
    c = ex.cluster
    ex.act(node, "start_kafka", lambda: c.start_kafka(node))


PACKAGE = FaultPackage(
    name="process",
    pairs=PAIRS,
    actions={"kill": kill_action, "start": start_action, "restart": restart_action, "pause": pause_action, "resume": resume_action},
    start_steps=start_steps,
    also_faulting=frozenset({"restart"}),
    # Both are idempotent on the node (SIGCONT to no process, start of a running broker: no-ops).
    heal_steps=(HealStep("sigcont", _heal_sigcont), HealStep("start-kafka", _heal_start, restarts=True)),
)
