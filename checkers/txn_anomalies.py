"""Classification for the txn checker: Elle's cycle anomalies as a table, and which of them are searched for.

A cycle's name follows from the kinds of its edges alone (Elle's
`cycle-anomaly-specs` in `elle.txn`). Each row of `SPECS` says which data edges
(ww, wr, rw) a cycle of that anomaly may use and which it must use: G0 is made of
ww edges only; G1c of ww and wr with at least one wr; G-single of ww and wr plus
exactly one rw; G-nonadjacent of several rw none of which are adjacent; G2-item of
several rw, some adjacent. Order edges (process, realtime) make a variant: a
cycle that needs a real-time edge is `<name>-realtime`, else one that needs a
process edge is `<name>-process`. The first row a cycle matches names it, so
adding an anomaly is a row, not a branch.

The searches are derived from the same rows: a stage is (name, edge kinds it may
use), the row's kinds plus its variant's order kinds, cut to the kinds of the
graph it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATA_KINDS", "ORDER_KINDS", "SPECS", "VARIANTS", "CycleSpec", "classify", "stages"]

DATA_KINDS = ("ww", "wr", "rw")
ORDER_KINDS = ("process", "realtime")
ALL_KINDS = DATA_KINDS + ORDER_KINDS

# Variant suffix -> the order kinds its cycles may use (a real-time variant may use process order too).
VARIANTS: dict[str, tuple[str, ...]] = {"": (), "-process": ("process",), "-realtime": ("process", "realtime")}


@dataclass(frozen=True)
class CycleSpec:
    """One cycle anomaly: the data edge kinds its cycles may use and the ones they must."""

    name: str
    rels: tuple[str, ...]            # data kinds any number of its edges may have
    required: str | None = None      # at least one edge of this kind
    single: str | None = None        # exactly one edge of this kind
    multiple: str | None = None      # two or more edges of this kind
    nonadjacent: bool = False        # with `multiple`: no two of those edges follow each other

    def kinds(self, variant: str = "", graph: tuple[str, ...] = ALL_KINDS) -> tuple[str, ...]:
        """The edge kinds a search for this anomaly's `variant` may follow in a graph with `graph` kinds."""
        allowed = set(self.rels) | {k for k in (self.single, self.multiple) if k} | set(VARIANTS[variant])
        return tuple(k for k in ALL_KINDS if k in allowed and k in graph)

    def matches(self, kinds: list[str]) -> bool:
        """True if a cycle whose edges have `kinds` (in cycle order) is this anomaly, ignoring order edges."""
        allowed = set(self.rels) | {k for k in (self.single, self.multiple) if k}
        data = [k for k in kinds if k not in ORDER_KINDS]
        if any(k not in allowed for k in data):
            return False
        if self.required and self.required not in data:
            return False
        if self.single and data.count(self.single) != 1:
            return False
        if self.multiple:
            if data.count(self.multiple) < 2:
                return False
            n = len(kinds)
            at = {i for i, k in enumerate(kinds) if k == self.multiple}
            if self.nonadjacent and any((i + 1) % n in at for i in at):
                return False
        return True


SPECS: tuple[CycleSpec, ...] = (
    CycleSpec("G0", ("ww",)),
    CycleSpec("G1c", ("ww", "wr"), required="wr"),
    CycleSpec("G-single", ("ww", "wr"), single="rw"),
    CycleSpec("G-nonadjacent", ("ww", "wr"), multiple="rw", nonadjacent=True),
    CycleSpec("G2-item", ("ww", "wr"), multiple="rw"),
)
BY_NAME = {s.name: s for s in SPECS}


def classify(kinds: list[str]) -> str:
    """Elle's name for a cycle whose edges have these kinds (in cycle order)."""
    variant = "-realtime" if "realtime" in kinds else "-process" if "process" in kinds else ""
    for spec in SPECS:
        if spec.matches(kinds):
            return spec.name + variant
    raise ValueError(f"no cycle anomaly has edges {kinds}")


def stages(names: tuple[str, ...], graph: tuple[str, ...] = ALL_KINDS,
           variants: tuple[str, ...] = tuple(VARIANTS)) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Search stages, weakest first: (anomaly name, edge kinds) for each variant, then each named row."""
    return tuple((name + v, BY_NAME[name].kinds(v, graph)) for v in variants for name in names)
