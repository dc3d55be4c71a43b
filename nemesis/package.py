"""What one fault kind gives the nemesis: a package (the shape of Jepsen's jepsen.nemesis.combined).

Each fault module (partition, process, clock, link, disk) ends with one
`FaultPackage` that says everything the rest of the nemesis needs to know about
its kinds, so nothing else names their fs:

- ``pairs``: kind -> (start f, stop f), the fault-window pairing; ``also_start``
  names further fs that open a kind's window (``strobe-clock`` opens ``clock``);
- ``actions``: f -> action(nemesis, value) -> the value with what was done; an
  action raises on failure (the executor records the error in the op's value);
- ``start_steps(kind, opts, nodes, brokers, rng, hold)`` and ``stop_steps(kind)``:
  its part of the seeded schedule, every random choice made when the schedule is made;
- ``heal_sh`` / ``heal_steps``: its part of heal-all (a fragment of the one-exec
  node heal script, or steps of its own per node);
- ``probe(ex, nodes, kinds)``: kind -> why this machine cannot apply it.

`prozess.nemesis.packages` lists the packages; `Combined` composes the ones a
test's faults select. An action sees the nemesis only through `FaultContext`.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from prozess.nemesis.executor import Executor

__all__ = ["Action", "FaultContext", "FaultPackage", "HealStep", "each"]


class FaultContext(Protocol):
    """The part of the nemesis an action may use: the cluster, its executor and the target lookups."""

    cluster: Any
    ex: Executor
    opts: Any  # prozess.nemesis.schedule.Options
    killed: set[str]  # nodes whose broker a fault stopped (a kill or a power cut) and no stop restarted yet
    paused: set[str]
    unavailable: dict[str, str]  # kind -> reason, for kinds this machine cannot apply
    default_topic: str | None

    @property
    def nodes(self) -> list[str]: ...

    def addresses(self) -> dict[str, str]: ...

    def targets(self, value: Mapping[str, Any]) -> list[str]: ...

    def live(self, kind: str, value: Mapping[str, Any]) -> str: ...


Action = Callable[[FaultContext, dict], dict]


@dataclass(frozen=True)
class HealStep:
    """One heal step a package runs on every node; `restarts` steps are left out when heal-all must not start brokers."""

    name: str
    run: Callable[[Executor, str], Any]
    restarts: bool = False


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: each package exists once
class FaultPackage:
    """Everything about the fault kinds of one module (see the module docstring)."""

    name: str
    pairs: Mapping[str, tuple[str, str]]
    actions: Mapping[str, Action]
    start_steps: Callable[[str, Any, Sequence[str], Sequence[str], random.Random, float], list[tuple[str, Any]]]
    stop_steps: Callable[[str], list[tuple[str, Any]]] | None = None
    also_start: Mapping[str, str] = field(default_factory=dict)
    also_faulting: frozenset[str] = frozenset()  # fs that break something without opening a window (restart)
    in_all: bool = True  # whether the fault spec "all" names its kinds
    heal_name: str = ""
    heal_sh: str = ""
    heal_steps: tuple[HealStep, ...] = ()
    probe: Callable[[Executor, Sequence[str], set[str]], dict[str, str]] | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.pairs)

    @property
    def fs(self) -> frozenset[str]:
        """Every f this package acts on."""
        return frozenset(self.actions)

    @property
    def faulting(self) -> frozenset[str]:
        """The fs that break something: refused once the nemesis has healed for good."""
        return frozenset(start for start, _ in self.pairs.values()) | frozenset(self.also_start) | self.also_faulting

    def edges(self) -> dict[str, list[str]]:
        """f -> [kind, "start" | "stop"] for every f that opens or closes one of its windows."""
        out: dict[str, list[str]] = {}
        for kind, (start, stop) in self.pairs.items():
            out[start] = [kind, "start"]
            out[stop] = [kind, "stop"]
        for f, kind in self.also_start.items():
            out[f] = [kind, "start"]
        return out

    def stops(self, kind: str) -> list[tuple[str, Any]]:
        """The stop step(s) of `kind`: the package's own, or its stop f with an empty value."""
        if self.stop_steps is not None:
            return self.stop_steps(kind)
        return [(self.pairs[kind][1], {})]


def each(nodes: Sequence[str], fn: Callable[[str], Any]) -> list[Any]:
    """Runs fn on every node at once (faults should start together, not one exec after another)."""
    nodes = list(nodes)
    if len(nodes) <= 1:
        return [fn(n) for n in nodes]
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        return list(pool.map(fn, nodes))
