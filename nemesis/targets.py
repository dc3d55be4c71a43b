"""Live targets: which node is the `leader` or the `controller` right now.

A schedule names roles, not nodes, for these targets; they are looked up when
the fault starts. `leader` means the leader of one of the partitions the run's
workload actually uses (every partition of every topic it has created so far),
unless the step or the nemesis options name a topic. Right after an election or
a topic creation the metadata may not name a leader yet, so the lookup retries
for a few seconds before the fault fails, and the error then says which
partitions were asked about.

The cluster answers the questions (`cluster.leader(topic, partition)`,
`cluster.active_controller()`); this module only decides whom to ask and how
long to wait.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Sequence

from prozess.nemesis.executor import NemesisError

__all__ = ["DEFAULT_WAIT_S", "LiveTarget", "leader_candidates", "resolve"]

#: how long a live target waits for a leader/controller to be known before the fault fails
DEFAULT_WAIT_S = 10.0


class LiveTarget(str):
    """The node a live target resolved to; `where` says whose leader it was ("topic-3" or "controller")."""

    where: str = ""

    def __new__(cls, node: str, where: str = "") -> "LiveTarget":
        obj = super().__new__(cls, node)
        obj.where = where
        return obj


def leader_candidates(topic: str | None, partition: int | None, run_partitions: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (topic, partition) pairs a `leader` target may mean: the one named, else every partition the run uses."""
    if topic:
        return [(topic, int(partition or 0))]
    return list(dict.fromkeys((str(t), int(p)) for t, p in run_partitions))


def resolve(
    cluster: Any,
    kind: str,
    candidates: Sequence[tuple[str, int]] = (),
    *,
    wait_s: float = DEFAULT_WAIT_S,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> LiveTarget:
    """The node that is now `kind` ("leader" of one of `candidates`, or "controller").

    Candidates are tried in a random order (seeded by `rng`), so leader faults
    spread over the partitions and nodes the workload uses; the first partition
    with a known leader wins. Retries every half second for `wait_s`, then
    raises NemesisError naming what was asked.
    """
    if kind not in ("leader", "controller"):
        raise NemesisError(f"not a live target: {kind!r}")
    if kind == "leader" and not candidates:
        raise NemesisError("target `leader` has no partition to look at: the workload has no topic yet (nemesis option `topic` names one)")
    rng = rng or random.Random()
    order = list(candidates)
    rng.shuffle(order)
    deadline = clock() + max(0.0, wait_s)
    last_error = ""
    for _ in range(10_000):  # bounded; the deadline ends it long before
        if kind == "controller":
            try:
                node = cluster.active_controller()
            except Exception as e:
                node, last_error = None, f"{type(e).__name__}: {e}"
            if node:
                return LiveTarget(node, "controller")
        else:
            for topic, partition in order:
                try:
                    node = cluster.leader(topic, partition)
                except Exception as e:
                    node, last_error = None, f"{type(e).__name__}: {e}"
                if node:
                    return LiveTarget(node, f"{topic}-{partition}")
        if clock() >= deadline:
            break
        sleep(0.5)
    waited = f"after waiting {wait_s:g} s"
    why = f" (last lookup error: {last_error})" if last_error else ""
    if kind == "controller":
        raise NemesisError(f"no active controller is known {waited}{why}")
    asked = ", ".join(f"{t}-{p}" for t, p in list(candidates)[:4]) + (f" and {len(candidates) - 4} more" if len(candidates) > 4 else "")
    raise NemesisError(f"no leader is known for any of {asked} {waited}{why}")
