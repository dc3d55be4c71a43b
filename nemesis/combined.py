"""The nemesis the runner uses: every fault kind behind one object.

Protocol (what the runner calls):

    setup(cluster, test)        once, before the run; starts from a healed cluster
    schedule(test, rng)         -> [(delay_s, f, value), ...]; saved schedule replays exactly
    invoke(f, value)            -> ("info", value with what was done); never raises
    heal_all()                  every fault off on every node; idempotent; any exit path
    teardown()                  heal_all, then forget the cluster

Each fault is a (start, stop) pair of fs (see `schedule.START_STOP`); stops are
idempotent and heal whatever the kind may have left, not only the last start.
A fault that this machine cannot apply (netem without sch_netem) is reported in
the op's value as {"error": "unavailable: ..."} and in `unavailable`.
"""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Mapping

from prozess.nemesis import clock, disk, grudge, link, partition, process, targets
from prozess.nemesis.executor import Executor, NemesisError
from prozess.nemesis.heal import heal_all as _heal_all
from prozess.nemesis.schedule import FS, Options, delays, make_schedule, parse_faults, validate_schedule

__all__ = ["Combined", "build_nemesis", "fault_kinds", "skip_unavailable", "unavailable_faults"]


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


def skip_unavailable(cluster: Any, faults: str | Iterable[str] | None) -> None:
    """pytest.skip a campaign whose faults this kernel cannot apply (e.g. netem), naming the reason."""
    missing = unavailable_faults(cluster, faults)
    if missing:
        import pytest

        pytest.skip("; ".join(f"{k}: {v}" for k, v in sorted(missing.items())))


def unavailable_faults(cluster: Any, faults: str | Iterable[str] | None) -> dict[str, str]:
    """kind -> reason for every requested kind this cluster cannot apply (probes netem and the disk layer)."""
    out: dict[str, str] = {}
    if "netem" in fault_kinds(faults):
        ex = Executor(cluster)
        reason = link.probe_netem(ex, list(cluster.nodes)[0])
        if reason:
            out["netem"] = reason
    out.update(disk.probe(Executor(cluster), list(cluster.nodes), fault_kinds(faults)))
    return out


class Combined:
    """Every fault kind for one cluster; `faults`/`options` default to the test's "faults"/"nemesis"."""

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
        self.live_wait_s = targets.DEFAULT_WAIT_S
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
        if "netem" in fault_kinds(self.faults):
            reason = link.probe_netem(self.ex, self.nodes[0])
            if reason:
                self.unavailable["netem"] = reason
                self.ex.note(fault="netem", unavailable=reason)
        for kind, reason in disk.probe(self.ex, self.nodes, fault_kinds(self.faults)).items():
            self.unavailable[kind] = reason
            self.ex.note(fault=kind, unavailable=reason)
        # Start from a healed cluster: leftovers of an earlier crashed run must not leak in.
        _heal_all(self.ex, start_killed=False)

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
        return TimedSchedule(self.steps)

    def invoke(self, f: str, value: Any) -> tuple[str, Any]:
        """Applies one step; returns ("info", value + what was done, or + "error")."""
        value = dict(value) if isinstance(value, Mapping) else ({} if value is None else {"arg": value})
        if self.ex is None:
            return "info", {**value, "error": "nemesis not set up"}
        if f == "heal-all":
            return "info", {**value, **self.heal_all()}
        if self._closed and f in _STARTS:
            return "info", {**value, "error": "nemesis already healed for good; fault not applied"}
        if f not in FS:
            return "info", {**value, "error": f"unknown nemesis f {f!r}"}
        # No lock: the runner invokes one step at a time, and a long step (a strobe)
        # must not keep heal_all or another thread's invoke waiting.
        self._resolved = {}
        if f in disk.FS:
            return self.ex.step(f, value, lambda v: disk.apply(self, f, v))
        typ, out = self.ex.step(f, value, lambda v: getattr(self, "_" + f.replace("-", "_"))(v))
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

    def _addresses(self) -> dict[str, str]:
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

    def _live(self, kind: str, value: Mapping[str, Any]) -> str:
        """The node now holding role `kind` (leader of a run partition, or controller), waiting briefly."""
        candidates: list[tuple[str, int]] = []
        if kind == "leader":
            topic = value.get("topic") or self.opts.topic
            candidates = targets.leader_candidates(topic, value.get("partition") if value.get("topic") else self.opts.partition, self._partitions())
        node = targets.resolve(self.cluster, kind, candidates, wait_s=self.live_wait_s, rng=self.rng)
        if kind == "leader":
            self._resolved["leader-of"] = node.where
        self._resolved.setdefault("live-targets", []).append({"target": kind, "node": str(node), "of": node.where})
        return str(node)

    def _targets(self, value: Mapping[str, Any]) -> list[str]:
        nodes = value.get("nodes")
        if nodes:
            bad = [n for n in nodes if n not in self.nodes]
            if bad:
                raise NemesisError(f"unknown node(s) {bad!r}; the cluster has {self.nodes!r}")
            return list(nodes)
        kind = value.get("targets")
        if kind in process.LIVE_TARGETS:
            return [self._live(kind, value)]
        if kind:
            return process.choose_targets(kind, self.nodes, random.Random())
        raise NemesisError("no target nodes given")

    def _each(self, nodes: list[str], fn: Callable[[str], Any]) -> list[Any]:
        """Runs fn on every node at once (faults should start together, not one exec after another)."""
        if len(nodes) <= 1:
            return [fn(n) for n in nodes]
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return list(pool.map(fn, nodes))

    # ------------------------------------------------------------------ partitions
    def _resolve_grudge(self, value: Mapping[str, Any]) -> dict[str, frozenset[str]]:
        name = value.get("grudge")
        nodes = self.nodes
        if value.get("drops") is not None:
            return grudge.custom(value["drops"], nodes) if name == "custom" else {n: frozenset(ps) for n, ps in value["drops"].items()}
        if name == "leader":
            return grudge.isolate_one(nodes, node=self._live("leader", value))
        if name == "controller":
            return grudge.isolate_one(nodes, node=self._live("controller", value))
        if name == "split-controller":
            ctrl = self._live("controller", value)
            g, _ = grudge.split_controller(nodes, list(self.cluster.brokers), ctrl, random.Random(value.get("seed", 0)))
            return g
        if name in grudge.ZOOKEEPER_GRUDGES:
            return self._zookeeper_grudge(name, nodes)
        if name == "custom":
            return grudge.custom(self.opts.custom_grudge, nodes)
        builders = {
            "halves": lambda: grudge.halves(nodes),
            "random-halves": lambda: grudge.random_halves(nodes, random.Random(value.get("seed", 0))),
            "isolate-one": lambda: grudge.isolate_one(nodes, random.Random(value.get("seed", 0)), node=value.get("node")),
            "majorities-ring": lambda: grudge.majorities_ring(nodes, random.Random(value.get("seed", 0))),
            "bridge": lambda: grudge.bridge(nodes),
        }
        if name not in builders:
            raise NemesisError(f"unknown grudge {name!r}; use one of {', '.join(grudge.GRUDGES)}")
        return builders[name]()

    def _zookeeper_grudge(self, name: str, nodes: list[str]) -> dict[str, frozenset[str]]:
        """The role-aware grudges of a ZooKeeper-mode cluster (brokers, ensemble, controller broker)."""
        zks = list(getattr(self.cluster, "zookeepers", []) or [])
        if not zks:
            raise NemesisError(f"grudge {name!r} needs a ZooKeeper-mode cluster (--metadata zookeeper)")
        if name == "zookeeper-leader":
            return grudge.isolate_one(nodes, node=process.live_target(self.cluster, "zookeeper-leader", None, 0))
        if name == "controller-zookeeper":
            ctrl = process.live_target(self.cluster, "controller", None, 0)
            return grudge.isolate_from(ctrl, zks, nodes)
        brokers = [n for n in nodes if n not in zks]
        return grudge.complete([brokers, zks])

    def _start_partition(self, value: dict) -> dict:
        g = self._resolve_grudge(value)
        addrs = self._addresses()
        drops = partition.grudge_addresses(g, addrs)
        comps = grudge.components(g, self.nodes)
        out = {**value, "drops": grudge.to_json(g), "components": comps}
        if value.get("clients", self.opts.clients) == "majority":
            with_clients = max(comps, key=lambda c: (len(c), [-self.nodes.index(x) for x in c]))
            control = partition.control_address(self.ex, self.nodes[0])
            for n in self.nodes:
                if n not in with_clients:
                    drops[n] = sorted(set(drops.get(n, [])) | {control})
            out["clients-with"] = with_clients
        self._each(self.nodes, lambda n: partition.apply_partition(self.ex, drops, [n]))
        return out

    def _stop_partition(self, value: dict) -> dict:
        self._each(self.nodes, lambda n: partition.heal_partition(self.ex, [n]))
        return {**value, "healed": self.nodes}

    # ------------------------------------------------------------------ processes
    def _kill(self, value: dict) -> dict:
        nodes = self._targets(value)
        self._each(nodes, lambda n: process.kill(self.ex, n, value.get("signal", "KILL")))
        self.killed |= set(nodes)
        return {**value, "nodes": nodes}

    def _start(self, value: dict) -> dict:
        started = [n for n, did in zip(self.nodes, self._each(self.nodes, lambda n: process.start(self.ex, n))) if did]
        self.killed.clear()
        return {**value, "started": started}

    def _restart(self, value: dict) -> dict:
        nodes = self._targets(value)
        for n in nodes:  # one at a time: a rolling restart
            process.restart(self.ex, n)
        return {**value, "nodes": nodes}

    def _pause(self, value: dict) -> dict:
        nodes = self._targets(value)
        self._each(nodes, lambda n: process.pause(self.ex, n))
        self.paused |= set(nodes)
        return {**value, "nodes": nodes}

    def _resume(self, value: dict) -> dict:
        # SIGCONT to every node: harmless to a running process, so the stop is idempotent.
        self._each(self.nodes, lambda n: process.resume(self.ex, n))
        resumed = sorted(self.paused)
        self.paused.clear()
        return {**value, "resumed": resumed}

    # ------------------------------------------------------------------ clocks
    def _bump_clock(self, value: dict) -> dict:
        offsets = value.get("offsets") or {}
        path = clock.faketime_path(self.cluster)
        bad = [n for n in offsets if n not in self.nodes]
        if bad:
            raise NemesisError(f"unknown node(s) {bad!r} in clock offsets")
        self._each(list(offsets), lambda n: clock.write_offset(self.ex, n, path, float(offsets[n])))
        return value

    def _strobe_clock(self, value: dict) -> dict:
        nodes = self._targets(value)
        path = clock.faketime_path(self.cluster)
        delta, period, count = float(value.get("delta", 10)), float(value.get("period", 0.5)), int(value.get("count", 10))
        argv = clock.strobe_argv(path, delta, period, count)
        timeout = 2 * period * count + 30
        self._each(nodes, lambda n: self.ex.run(n, argv, timeout=timeout))
        self._each(nodes, lambda n: clock.reset_clock(self.ex, n, path))
        return {**value, "nodes": nodes}

    def _reset_clock(self, value: dict) -> dict:
        path = clock.faketime_path(self.cluster)
        self._each(self.nodes, lambda n: clock.reset_clock(self.ex, n, path))
        return {**value, "nodes": self.nodes}

    def _check_offsets(self, value: dict) -> dict:
        path = clock.faketime_path(self.cluster)

        def measure(n: str) -> Any:
            try:
                return clock.clock_offset(self.ex, n, clock.faketime_env(self.ex, n, path))
            except NemesisError as e:
                return f"error: {e}"

        return {**value, "offsets": dict(zip(self.nodes, self._each(self.nodes, measure)))}

    # ------------------------------------------------------------------ links
    def _start_bandwidth(self, value: dict) -> dict:
        nodes = self._targets(value)
        rate = str(value.get("rate") or self.opts.bandwidth)
        self._each(nodes, lambda n: link.start_bandwidth(self.ex, n, link.interface_of(self.ex, n, self.cluster.address(n)), rate))
        return {**value, "nodes": nodes, "rate": rate}

    def _stop_qdiscs(self, value: dict) -> dict:
        cleared = self._each(self.nodes, lambda n: link.stop_qdisc(self.ex, n))
        return {**value, "cleared": [n for n, devs in zip(self.nodes, cleared) if devs]}

    _stop_bandwidth = _stop_qdiscs
    _stop_netem = _stop_qdiscs

    def _start_loss(self, value: dict) -> dict:
        nodes = self._targets(value)
        p = float(value.get("probability") or self.opts.loss)
        addrs = self._addresses()
        link.start_loss(self.ex, {n: [a for m, a in addrs.items() if m != n] for n in nodes}, p)
        return {**value, "nodes": nodes, "probability": p}

    def _stop_loss(self, value: dict) -> dict:
        link.stop_loss(self.ex, self.nodes)
        return value

    def _start_netem(self, value: dict) -> dict:
        if "netem" not in self.unavailable:
            reason = link.probe_netem(self.ex, self.nodes[0])
            if reason:
                self.unavailable["netem"] = reason
        if "netem" in self.unavailable:
            return {**value, "error": self.unavailable["netem"]}
        nodes = self._targets(value)
        keys = ("delay_ms", "jitter_ms", "loss", "duplicate", "reorder")
        opts = {k: float(value[k]) for k in keys if k in value}
        self._each(nodes, lambda n: link.start_netem(self.ex, n, link.interface_of(self.ex, n, self.cluster.address(n)), **opts))
        return {**value, "nodes": nodes}


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


_STARTS = frozenset({"start-partition", "kill", "pause", "bump-clock", "strobe-clock", "start-bandwidth", "start-loss", "start-netem", "restart"}) | disk.STARTS


def _spec_nodes(test: Mapping[str, Any]) -> list[str]:
    cluster = test.get("cluster") or {}
    n = int(cluster.get("nodes", 3)) if isinstance(cluster, Mapping) else 3
    return [f"n{i}" for i in range(1, n + 1)]
