"""The nemesis the runner uses: the fault packages a test's faults select, composed.

Protocol (what the runner calls):

    setup(cluster, test)        once, before the run; starts from a healed cluster
    schedule(test, rng)         -> [(delay_s, f, value), ...]; saved schedule replays exactly
    invoke(f, value)            -> ("info", value with what was done); never raises
    heal_all()                  every fault off on every node; idempotent; any exit path
    teardown()                  heal_all, then forget the cluster

Each fault kind is one module that ends in a `FaultPackage` (prozess.nemesis.package:
its (start, stop) fs, actions, schedule entries, heal, probe), listed in
prozess.nemesis.packages. `Combined` only composes them, as Jepsen's
jepsen.nemesis.combined composes its packages: the packages of the kinds the
test's faults name give the f -> action table, the probes run at setup, and the
window pairing is written into the test (``fault_edges``, saved in test.json).
An f of a package the faults do not select is refused with a reason. It also
gives the actions their context (`FaultContext`: cluster, executor, target
lookups). Stops are idempotent and heal whatever the kind may have left, not only
the last start. A fault that this machine cannot apply (netem without sch_netem)
is reported in the op's value as {"error": "unavailable: ..."} and in `unavailable`.
"""

from __future__ import annotations

import os
import random
from typing import Any, Callable, Iterable, Mapping

from prozess.nemesis import packages, process
from prozess.nemesis import targets as live_targets
from prozess.nemesis.executor import Executor, NemesisError
from prozess.nemesis.heal import heal_all as _heal_all
from prozess.nemesis.package import Action, FaultPackage
from prozess.nemesis.schedule import Options, delays, make_schedule, parse_faults, validate_schedule

__all__ = ["Combined", "TimedSchedule", "build_nemesis", "compose", "fault_kinds", "unavailable_faults"]


def build_nemesis(faults: list[str], options: Mapping[str, Any] | None = None) -> "Combined":
    """The nemesis for a test's `faults` (e.g. ["partition+kill", "clock"]) and `nemesis` options.

    Bad fault names or options raise ScheduleError at once, before any cluster starts.
    """
    parse_faults(faults)
    opts = Options.from_dict(options)
    return Combined(list(faults), opts)


def fault_kinds(faults: str | Iterable[str] | None) -> set[str]:
    """The fault kinds a `faults` spec names ("partition+kill,clock" -> {partition, kill, clock})."""
    return {k for group in parse_faults(faults) for k in group}


def unavailable_faults(cluster: Any, faults: str | Iterable[str] | None) -> dict[str, str]:
    """kind -> reason for every requested kind this cluster cannot apply (probes netem and the disk layer)."""
    kinds = fault_kinds(faults)
    out: dict[str, str] = {}
    for package in packages.select(kinds):
        if package.probe is not None:
            out.update(package.probe(Executor(cluster), list(cluster.nodes), kinds))
    return out


def compose(selected: Iterable[FaultPackage]) -> dict[str, Action]:
    """f -> action of every selected package (the packages share no f, see prozess.nemesis.packages)."""
    return {f: action for package in selected for f, action in package.actions.items()}


class Combined:
    """The fault packages `faults` selects, composed for one cluster; `faults`/`options` default to the test's "faults"/"nemesis"."""

    def __init__(self, faults: str | Iterable[str] | None = None, options: Options | Mapping[str, Any] | None = None, *, log: Callable[[dict], None] | str | os.PathLike | None = None):
        self.faults = faults
        self.options_arg = options
        self.log = log
        self.cluster: Any = None
        self.ex: Executor | None = None
        self.opts = options if isinstance(options, Options) else Options.from_dict(options)
        self.steps: list[dict[str, Any]] = []
        self.unavailable: dict[str, str] = {}
        self.killed: set[str] = set()
        self.paused: set[str] = set()
        self._closed = False
        self.default_topic: str | None = None
        self.partitions_per_topic = 8
        self.run_partitions: Callable[[], list[tuple[str, int]]] | None = None
        self.live_wait_s = live_targets.DEFAULT_WAIT_S
        self.rng = random.Random(0)
        self._resolved: dict[str, Any] = {}

    # ------------------------------------------------------------------ protocol
    def setup(self, cluster: Any, test: Mapping[str, Any] | None = None) -> None:
        test = dict(test or {})
        if cluster is None and fault_kinds(self.faults if self.faults is not None else test.get("faults")):
            raise NemesisError("faults need nodes prozess can reach (a cluster it started or attached), not a bare bootstrap address")
        self.cluster = cluster
        if self.faults is None:
            self.faults = test.get("faults")
        opts = self.options_arg if self.options_arg is not None else test.get("nemesis")
        self.opts = opts if isinstance(opts, Options) else Options.from_dict(opts if isinstance(opts, Mapping) else None)
        if self.log is None and test.get("nemesis_log"):
            self.log = test["nemesis_log"]
        if self.log is None and test.get("run_dir"):
            self.log = os.path.join(str(test["run_dir"]), "nemesis.jsonl")
        self.ex = Executor(cluster, self.log)
        # `leader` faults without a topic mean any partition the run's workload uses: the runner
        # hands those over (`use_topics`); until it does, the partitions of the run's first topic.
        wopts = test.get("workload_options") if isinstance(test.get("workload_options"), Mapping) else {}
        topics_info = test.get("topics") if isinstance(test.get("topics"), Mapping) else {}
        prefix = topics_info.get("prefix") or wopts.get("topic_prefix") or "prozess"
        self.default_topic = f"{prefix}-0"
        self.partitions_per_topic = int(topics_info.get("partitions_per_topic") or wopts.get("partitions_per_topic") or 8)
        self.rng = random.Random(f"live-targets-{test.get('seed')}")
        self._closed = False
        self.unavailable = {}
        kinds = fault_kinds(self.faults)
        for package in self.selected:
            if package.probe is None:
                continue
            for kind, reason in package.probe(self.ex, self.nodes, kinds).items():
                self.unavailable[kind] = reason
                self.ex.note(fault=kind, unavailable=reason)
        # Start from a healed cluster: leftovers of an earlier crashed run must not leak in.
        _heal_all(self.ex, start_killed=False)

    @property
    def selected(self) -> tuple[FaultPackage, ...]:
        """The fault packages the faults select (none before the faults are known)."""
        return packages.select(fault_kinds(self.faults))

    def use_topics(self, partitions: Callable[[], list[tuple[str, int]]] | None) -> None:
        """Where `leader` targets look: a callable giving the (topic, partition)s the workload uses now."""
        self.run_partitions = partitions

    def set_log(self, log: Callable[[dict], None] | str | os.PathLike | None) -> None:
        """Where applied commands go (nemesis.jsonl path or a callable); may be called after setup."""
        self.log = log
        if self.ex is not None:
            from prozess.nemesis.executor import make_log

            self.ex.log = make_log(log)

    def schedule(self, test: Mapping[str, Any] | None, rng: random.Random) -> "TimedSchedule":
        """The run's fault schedule as (delay_s, f, value); a saved one (test["nemesis_schedule"]) replays exactly.

        Delays are measured against the clock of the first step taken, so the time a
        step spends being applied does not push every later step back: step k starts
        at its scheduled second of the run (or at once, when already late).

        The full schedule is kept in `self.steps` and, when `test` is a dict without
        one, stored there under "nemesis_schedule" so it is saved with the run.
        """
        test = test if test is not None else {}
        saved = test.get("nemesis_schedule")
        if saved is not None:
            self.steps = validate_schedule(saved)
        else:
            nodes = self.nodes if self.cluster is not None else _spec_nodes(test)
            brokers = list(getattr(self.cluster, "brokers", nodes) or nodes) if self.cluster is not None else nodes
            self.steps = make_schedule(
                self.faults if self.faults is not None else test.get("faults"),
                nodes=nodes,
                brokers=brokers,
                time_limit=float(test.get("time_limit") or 60),
                rng=rng,
                options=self.opts,
            )
            if isinstance(test, dict):
                test["nemesis_schedule"] = self.steps
        if isinstance(test, dict):
            # The window pairing goes with the run, so its readers need not import the nemesis.
            test["fault_edges"] = packages.edges(self.selected)
        return TimedSchedule(self.steps)

    def invoke(self, f: str, value: Any) -> tuple[str, Any]:
        """Applies one step; returns ("info", value + what was done, or + "error")."""
        value = dict(value) if isinstance(value, Mapping) else ({} if value is None else {"arg": value})
        if self.ex is None:
            return "info", {**value, "error": "nemesis not set up"}
        if f == "heal-all":
            return "info", {**value, **self.heal_all()}
        if self._closed and f in packages.STARTS:
            return "info", {**value, "error": "nemesis already healed for good; fault not applied"}
        action = compose(self.selected).get(f)
        if action is None:
            if f in packages.FS:
                return "info", {**value, "error": f"nemesis f {f!r} is a step of fault kind(s) {', '.join(packages.package_of_f(f).kinds)}, which this nemesis's faults do not name"}
            return "info", {**value, "error": f"unknown nemesis f {f!r}"}
        # No lock: the runner invokes one step at a time, and a long step (a strobe)
        # must not keep heal_all or another thread's invoke waiting.
        self._resolved = {}
        typ, out = self.ex.step(f, value, lambda v: action(self, v))
        if self._resolved and isinstance(out, dict):
            out = {**out, **self._resolved}  # whom a live target hit (or asked about, when it failed)
        return typ, out

    def heal_all(self) -> dict[str, Any]:
        """Clears every fault on every node (idempotent); returns what it found and did."""
        if self.ex is None or self.cluster is None:
            return {}
        self.ex.context = {"f": "heal-all"}
        try:
            report = _heal_all(self.ex)
        finally:
            self.ex.context = {}
        self.killed.clear()
        self.paused.clear()
        return report

    def teardown(self) -> None:
        self._closed = True
        self.heal_all()

    # ------------------------------------------------------------------ helpers
    @property
    def nodes(self) -> list[str]:
        return list(self.cluster.nodes)

    def addresses(self) -> dict[str, str]:
        return {n: self.cluster.address(n) for n in self.nodes}

    def _partitions(self) -> list[tuple[str, int]]:
        """Every (topic, partition) the run's workload uses now (its first topic's until topics are known)."""
        found: list[tuple[str, int]] = []
        if self.run_partitions is not None:
            try:
                found = list(self.run_partitions())
            except Exception:
                found = []
        if not found and self.default_topic:
            found = [(self.default_topic, p) for p in range(self.partitions_per_topic)]
        return found

    def live(self, kind: str, value: Mapping[str, Any]) -> str:
        """The node now holding role `kind` (leader of a run partition, or controller), waiting briefly."""
        candidates: list[tuple[str, int]] = []
        if kind == "leader":
            topic = value.get("topic") or self.opts.topic
            candidates = live_targets.leader_candidates(topic, value.get("partition") if value.get("topic") else self.opts.partition, self._partitions())
        node = live_targets.resolve(self.cluster, kind, candidates, wait_s=self.live_wait_s, rng=self.rng)
        if kind == "leader":
            self._resolved["leader-of"] = node.where
        self._resolved.setdefault("live-targets", []).append({"target": kind, "node": str(node), "of": node.where})
        return str(node)

    def targets(self, value: Mapping[str, Any]) -> list[str]:
        nodes = value.get("nodes")
        if nodes:
            bad = [n for n in nodes if n not in self.nodes]
            if bad:
                raise NemesisError(f"unknown node(s) {bad!r}; the cluster has {self.nodes!r}")
            return list(nodes)
        kind = value.get("targets")
        if kind in process.LIVE_TARGETS:
            return [self.live(kind, value)]
        if kind:
            return process.choose_targets(kind, self.nodes, random.Random())
        raise NemesisError("no target nodes given")


class TimedSchedule:
    """Iterates (delay_s, f, value) with delays computed when each step is taken, from the schedule's absolute times."""

    def __init__(self, steps: list[dict[str, Any]], clock: Callable[[], float] | None = None):
        import time

        self.steps = steps
        self.clock = clock or time.monotonic

    def __iter__(self):
        start = None
        for step in self.steps:
            now = self.clock()
            if start is None:
                start = now
            yield (round(max(0.0, step["at"] - (now - start)), 3), step["f"], step["value"])

    def __len__(self) -> int:
        return len(self.steps)

    def as_delays(self) -> list[tuple[float, str, Any]]:
        """The nominal (delay since the previous step, f, value) list, for display and tests."""
        return list(delays(self.steps))


def _spec_nodes(test: Mapping[str, Any]) -> list[str]:
    cluster = test.get("cluster") or {}
    n = int(cluster.get("nodes", 3)) if isinstance(cluster, Mapping) else 3
    return [f"n{i}" for i in range(1, n + 1)]
