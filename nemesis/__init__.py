"""prozess.nemesis: the fault injector - partitions, process faults, clock skew, degraded links, disks.

Each fault kind is one module ending in a `FaultPackage` (its actions, schedule
entries, heal and window pairing; see `prozess.nemesis.package`), listed in
`prozess.nemesis.packages`; `Combined` composes the ones a test's faults select.

Public API: `Combined` (the nemesis the runner uses), `heal_all` / `leftovers`
(clear / list faults on a cluster's nodes), `make_schedule` / `Options` (seeded
schedules), `fault_edge` (which f opens or closes which kind's window), the grudge
builders in `prozess.nemesis.grudge`, and `unavailable_faults` (which requested
faults this kernel cannot apply).
"""

from __future__ import annotations

__all__ = [
    "Combined",
    "NemesisError",
    "Options",
    "ScheduleError",
    "build_nemesis",
    "fault_edge",
    "fault_kinds",
    "heal_cluster",
    "make_schedule",
    "unavailable_faults",
]


def __getattr__(name: str):
    if name in ("Combined", "build_nemesis", "unavailable_faults", "fault_kinds"):
        from prozess.nemesis import combined

        return getattr(combined, name)
    if name in ("Options", "make_schedule", "ScheduleError", "fault_edge"):
        from prozess.nemesis import schedule

        return getattr(schedule, name)
    if name == "NemesisError":
        from prozess.nemesis.executor import NemesisError

        return NemesisError
    if name == "heal_cluster":
        return heal_cluster
    raise AttributeError(name)


def heal_cluster(cluster, log=None) -> dict:
    """Clears every fault on every node of `cluster` (see prozess.nemesis.heal)."""
    from prozess.nemesis.executor import Executor
    from prozess.nemesis.heal import heal_all

    return heal_all(Executor(cluster, log))
