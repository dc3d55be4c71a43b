"""Fault schedules: seeded, composable, saved with the run and replayable exactly.

A schedule is plain data, a list of steps ``{"at": seconds, "f": ..., "value": ...}``
sorted by time. It is a pure function of the options, the node names and the rng:
every random choice (which grudge, which nodes, which offsets) is made here, so the
saved schedule replays the same faults on the same nodes. Only ``leader`` and
``controller`` targets are looked up when the fault starts (they name a role, not a
node) and the history records whom they hit.

Time is cut into cycles of ``interval`` seconds: a calm part of
``(1 - duty) * interval``, then a fault group held for ``duty * interval``, then
stopped. ``faults`` lists groups: ``"partition"`` alone, or ``"partition+kill"``
(started together, stopped together, in reverse); each cycle picks one group with
the rng; ``"all"`` means every fault kind, one per cycle. The last ``quiet``
seconds of the run have no fault at all (the heal phase before the final reads).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable, Iterator, Mapping, Sequence

from prozess.nemesis import disk, packages
from prozess.nemesis import grudge as grudges
from prozess.nemesis.process import TARGETS

__all__ = [
    "FAULTS",
    "Options",
    "ScheduleError",
    "START_STOP",
    "delays",
    "fault_edge",
    "make_schedule",
    "parse_faults",
    "validate_schedule",
]

# The kinds, their (start f, stop f) pairs and every f come from the fault packages.
START_STOP = packages.START_STOP
FAULTS = packages.FAULTS  # what "all" means; disk faults need a cluster made for them, so they are named one by one
FS = packages.FS
fault_edge = packages.fault_edge

DEFAULT_GRUDGES = ("halves", "random-halves", "isolate-one", "majorities-ring", "bridge", "leader", "controller", "split-controller")


_ALIASES = {"interval_s": "interval", "quiet_s": "quiet", "duty_cycle": "duty", "clock_max_s": "clock_max"}


class ScheduleError(ValueError):
    """Bad nemesis options or a saved schedule that cannot be replayed; names the field."""


@dataclass
class Options:
    """Nemesis options (the test spec's "nemesis" map; keys with - or _ both work).

    interval: seconds per fault cycle. duty: fraction of a cycle a fault is held.
    quiet: fault-free seconds at the end of the run. grudges: partition shapes to
    pick from; custom_grudge: components or map for grudge "custom". clients:
    "none" (the control host reaches every node) or "majority" (it sits in the
    largest component, so clients see the partition as clients on that side would).
    targets / pause_targets: process targets. clock_max: largest bump in seconds.
    strobe: whether clock cycles may strobe; strobe_period: seconds between flips.
    bandwidth: tbf rate (tc syntax). loss: random loss probability. netem: tc netem
    settings. topic / partition: whose leader the `leader` grudge and target mean.
    """

    interval: float = 10.0
    duty: float = 0.5
    quiet: float = 10.0
    grudges: list[str] = field(default_factory=lambda: list(DEFAULT_GRUDGES))
    custom_grudge: Any = None
    clients: str = "none"
    targets: list[str] = field(default_factory=lambda: ["one", "minority", "majority", "leader", "controller"])
    pause_targets: list[str] = field(default_factory=lambda: ["one", "minority", "leader", "controller"])
    clock_max: float = 60.0
    strobe: bool = True
    strobe_period: float = 0.5
    bandwidth: str = "1mbit"
    loss: float = 0.1
    netem: dict = field(default_factory=lambda: {"delay_ms": 50, "jitter_ms": 20, "loss": 0.05, "duplicate": 0.01, "reorder": 0.05})
    topic: str | None = None
    partition: int = 0
    disk: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Options":
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        kwargs = {}
        for key, value in data.items():
            name = key.replace("-", "_")
            name = _ALIASES.get(name, name)
            if name not in names:
                raise ScheduleError(f"unknown nemesis option {key!r}; known: {', '.join(sorted(names))}")
            kwargs[name] = value
        opts = cls(**kwargs)
        opts.validate()
        return opts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        if not (isinstance(self.interval, (int, float)) and self.interval > 0):
            raise ScheduleError(f"nemesis interval must be a positive number of seconds, got {self.interval!r}")
        if not (isinstance(self.duty, (int, float)) and 0 < self.duty < 1):
            raise ScheduleError(f"nemesis duty must be between 0 and 1 (exclusive), got {self.duty!r}")
        if not (isinstance(self.quiet, (int, float)) and self.quiet >= 0):
            raise ScheduleError(f"nemesis quiet must be >= 0 seconds, got {self.quiet!r}")
        bad = [g for g in self.grudges if g not in grudges.GRUDGES]
        if bad or not self.grudges:
            raise ScheduleError(f"unknown grudge(s) {bad!r}; use some of {', '.join(grudges.GRUDGES)}")
        if "custom" in self.grudges and self.custom_grudge is None:
            raise ScheduleError("grudge 'custom' needs the option custom_grudge, e.g. [['n1'], ['n2', 'n3']]")
        if self.clients not in ("none", "majority"):
            raise ScheduleError(f"nemesis clients must be 'none' or 'majority', got {self.clients!r}")
        for name in ("targets", "pause_targets"):
            value = getattr(self, name)
            bad = [t for t in value if t not in TARGETS]
            if bad or not value:
                raise ScheduleError(f"unknown {name} {bad!r}; use some of {', '.join(TARGETS)}")
        if not (isinstance(self.clock_max, (int, float)) and 1 <= self.clock_max <= 3600):
            raise ScheduleError(f"clock_max must be 1..3600 seconds, got {self.clock_max!r}")
        if not (isinstance(self.strobe_period, (int, float)) and 0.05 <= self.strobe_period <= 60):
            raise ScheduleError(f"strobe_period must be 0.05..60 seconds, got {self.strobe_period!r}")
        if not (isinstance(self.loss, (int, float)) and 0 < self.loss <= 1):
            raise ScheduleError(f"loss must be a probability in (0, 1], got {self.loss!r}")
        problem = disk.validate_options(self.disk)
        if problem:
            raise ScheduleError(problem)


def parse_faults(faults: str | Iterable[str] | None) -> list[list[str]]:
    """Fault groups from "partition,kill", ["partition+kill"], "all" or "none"."""
    if faults is None:
        return []
    if isinstance(faults, str):
        faults = [faults]
    items = [x.strip() for item in faults for x in str(item).split(",") if x.strip()]
    groups: list[list[str]] = []
    for item in items:
        if item == "none":
            continue
        if item == "all":
            groups += [[k] for k in FAULTS if [k] not in groups]
            continue
        kinds = [k.strip() for k in item.split("+") if k.strip()]
        bad = [k for k in kinds if k not in START_STOP]
        if bad or not kinds:
            raise ScheduleError(f"unknown fault {'+'.join(bad) or item!r}; use {', '.join(START_STOP)}, 'a+b' to combine, or 'all'")
        if len(set(kinds)) != len(kinds):
            raise ScheduleError(f"fault group {item!r} names a fault twice")
        if kinds not in groups:
            groups.append(kinds)
    return groups


def _start_value(kind: str, opts: Options, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """The start step(s) of one fault kind, with every random choice made now (by its package)."""
    if kind not in START_STOP:
        raise ScheduleError(f"unknown fault {kind!r}")
    return packages.package_of(kind).start_steps(kind, opts, nodes, brokers, rng, hold)


def _stop_steps(kind: str) -> list[tuple[str, Any]]:
    return packages.package_of(kind).stops(kind)


def make_schedule(
    faults: str | Iterable[str] | None,
    *,
    nodes: Sequence[str],
    brokers: Sequence[str] | None = None,
    time_limit: float,
    rng: random.Random,
    options: Options | Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The full schedule for a run of `time_limit` seconds: steps with absolute times."""
    opts = options if isinstance(options, Options) else Options.from_dict(options)
    groups = parse_faults(faults)
    nodes = list(nodes)
    brokers = list(brokers) if brokers is not None else nodes
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ScheduleError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    steps: list[dict[str, Any]] = []
    if not groups:
        return steps
    end = time_limit - opts.quiet
    hold = opts.duty * opts.interval
    t = 0.0
    eps = 1e-3
    while t + opts.interval <= end + 1e-9:
        start = round(t + (1 - opts.duty) * opts.interval, 3)
        stop = round(start + hold, 3)
        group = rng.choice(groups)
        at = start
        for kind in group:
            for f, value in _start_value(kind, opts, nodes, brokers, rng, hold):
                steps.append({"at": at, "f": f, "value": value})
                at = round(at + eps, 3)
        at = stop
        for kind in reversed(group):
            for f, value in _stop_steps(kind):
                steps.append({"at": at, "f": f, "value": value})
                at = round(at + eps, 3)
        t += opts.interval
    return steps


def validate_schedule(steps: Any) -> list[dict[str, Any]]:
    """Checks a saved schedule before a replay: a list of {at, f, value}, times not decreasing."""
    if not isinstance(steps, list):
        raise ScheduleError(f"a saved nemesis schedule must be a list of steps, got {type(steps).__name__}")
    last = 0.0
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping) or not {"at", "f"} <= set(step):
            raise ScheduleError(f"nemesis schedule step {i} must be a map with 'at', 'f' and 'value', got {step!r}")
        at = step["at"]
        if not isinstance(at, (int, float)) or at < last:
            raise ScheduleError(f"nemesis schedule step {i}: time {at!r} is not a number >= the step before ({last})")
        if step["f"] not in FS:
            raise ScheduleError(f"nemesis schedule step {i}: unknown f {step['f']!r}")
        last = float(at)
        out.append({"at": float(at), "f": step["f"], "value": step.get("value")})
    return out


def delays(steps: Sequence[Mapping[str, Any]]) -> Iterator[tuple[float, str, Any]]:
    """(delay since the previous step, f, value) triples, as the runner consumes them."""
    prev = 0.0
    for step in steps:
        yield (round(step["at"] - prev, 3), step["f"], step["value"])
        prev = step["at"]
