"""The fault packages prozess knows, and what follows from them: kinds, fs, pairing, heal order.

Adding a fault kind means writing its module (ending in a `FaultPackage`, see
prozess.nemesis.package) and listing it here; the schedule, `Combined`, heal-all
and the fault accounting take everything else from the package.

Order matters in two places and is kept as it was: `PACKAGES` gives the order of
the kinds (what "all" expands to, and the order errors list them); `HEAL_ORDER`
gives the order of heal-all on a node (clocks first so a strobe stops, then the
network, then disks, and brokers are started last, on a healed node).
"""

from __future__ import annotations

from typing import Iterable

from prozess.nemesis import clock, disk, link, mirror, partition, process
from prozess.nemesis.package import FaultPackage

__all__ = ["FAULTS", "FS", "HEAL_ORDER", "PACKAGES", "START_STOP", "STARTS", "edges", "fault_edge", "package_of", "package_of_f", "select"]

PACKAGES: tuple[FaultPackage, ...] = (partition.PACKAGE, process.PACKAGE, clock.PACKAGE, link.PACKAGE, disk.PACKAGE, mirror.PACKAGE)
# mirror faults heal through the partition and process steps (on the MM2 node): no heal of their own
HEAL_ORDER: tuple[FaultPackage, ...] = (clock.PACKAGE, partition.PACKAGE, link.PACKAGE, disk.PACKAGE, mirror.PACKAGE, process.PACKAGE)

_BY_KIND: dict[str, FaultPackage] = {kind: p for p in PACKAGES for kind in p.kinds}
_BY_F: dict[str, FaultPackage] = {f: p for p in PACKAGES for f in p.fs}

#: fault kind -> (start f, stop f)
START_STOP: dict[str, tuple[str, str]] = {kind: pair for p in PACKAGES for kind, pair in p.pairs.items()}
#: what "all" means: every kind of the packages that can run on any cluster
FAULTS: tuple[str, ...] = tuple(kind for p in PACKAGES if p.in_all for kind in p.kinds)
#: every f a schedule may hold
FS: frozenset[str] = frozenset(f for p in PACKAGES for f in p.fs)
#: every f that breaks something (refused once the nemesis has healed for good)
STARTS: frozenset[str] = frozenset(f for p in PACKAGES for f in p.faulting)

if len(_BY_KIND) != sum(len(p.kinds) for p in PACKAGES) or len(FS) != sum(len(p.fs) for p in PACKAGES):
    raise RuntimeError("two fault packages claim the same kind or f")


def package_of(kind: str) -> FaultPackage:
    """The package of a fault kind (KeyError for an unknown one)."""
    return _BY_KIND[kind]


def package_of_f(f: str) -> FaultPackage:
    """The package whose actions include `f` (KeyError for an unknown f)."""
    return _BY_F[f]


def select(kinds: Iterable[str]) -> tuple[FaultPackage, ...]:
    """The packages of the given kinds, in `PACKAGES` order."""
    wanted = {_BY_KIND[k] for k in kinds}
    return tuple(p for p in PACKAGES if p in wanted)


def edges(packages: Iterable[FaultPackage] = PACKAGES) -> dict[str, list[str]]:
    """f -> [kind, "start" | "stop"]: which f opens and which closes each kind's window.

    Saved with the run (results.json `faults.edges`, test.json `fault_edges`), so
    the report and the progress display need not import the nemesis to pair ops.
    """
    out: dict[str, list[str]] = {}
    for p in packages:
        out.update(p.edges())
    return out


_EDGES = edges()


def fault_edge(f: str) -> tuple[str, str] | None:
    """(fault kind, "start" | "stop") for a nemesis f, e.g. "kill" -> ("kill", "start"); None for others.

    A kind's window opens at its start f and closes at its stop f; "heal-all"
    closes every window.
    """
    edge = _EDGES.get(f)
    return (edge[0], edge[1]) if edge else None
