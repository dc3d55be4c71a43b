"""Targeted nemeses: faults aimed at the exact window where an unsafe Kafka setting loses data.

Random faults (prozess.nemesis.combined) hit these windows only by luck; the
detection-power matrix (benchmarks/detection.py) needs them hit every time.
`Targeted(strategy, **params)` implements the runner's `Nemesis` protocol
(setup / schedule / invoke / heal_all / teardown). Strategies:

- ``isolate-leader``: after a calm burst of writes, cut the leader of the
  workload's partition off from every other node (clients still reach it), so
  acks=0/acks=1 writes it acknowledges alone are truncated when a new leader
  takes over; heal after ``hold`` seconds.
- ``kill-leader``: kill -9 the leader of the workload's partition right after a
  burst of writes, restart it ``hold`` seconds later.
- ``shrink-isr-kill``: drop the followers' fetches from the leader (connections
  to the leader's broker port; the leader's own requests, and the controller
  port, stay open) until the ISR has shrunk to the leader alone (a step that
  fails when it does not within ``shrink_timeout``), keep writing ``after_shrink`` seconds,
  then kill -9 the leader and restore replication, so only an out-of-sync
  replica can take over (an unclean election when that is enabled). With
  ``wipe=True`` the leader's copy of the partition is deleted while it is down:
  the sole in-sync replica is lost with its disk.
- ``cut-responses``: every broker drops its responses to the control host for
  ``hold`` seconds (requests still arrive and are appended), then the broker
  side of those connections is reset, so producers retry batches that were
  written: duplicates unless the producer is idempotent.
- ``none``: no faults (for cells whose trigger is the workload itself, e.g.
  aborted transactions).

Every action is recorded as nemesis ops with the f names of the partition and
process fault packages (``start-partition``/``stop-partition``, ``kill``/``start``),
and their window pairing is written into the test (``fault_edges``, saved in
test.json) so reports shade the fault windows; each value carries
``"targeted": strategy``. Every command
goes through `Executor` into nemesis.jsonl; rules live in prozess's own
iptables chain, so `prozess heal` and `heal_all` clear them.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping

from prozess.nemesis import packages, partition
from prozess.nemesis.executor import Executor, NemesisError
from prozess.nemesis.heal import heal_all as _heal_all

__all__ = ["STRATEGIES", "Targeted", "TargetedOptions"]

STRATEGIES = ("isolate-leader", "kill-leader", "shrink-isr-kill", "cut-responses", "none")
#: the fs a targeted schedule holds, all of them window edges of the partition and kill kinds
FS = ("start-partition", "stop-partition", "kill", "start")
BROKER_PORT = "9092"


@dataclass
class TargetedOptions:
    """Timing of a targeted strategy (seconds); saved in test.json under "targeted".

    calm: writes before the first fault and between faults. hold: how long a
    fault is held. after_shrink: writes acknowledged by the shrunken ISR before
    the leader is killed. down: how long the killed leader stays down.
    shrink_timeout: the longest wait for the ISR to shrink. quiet: fault-free
    seconds at the end of the main phase. wipe: delete the killed leader's copy.
    partition: whose leader (of the workload's first topic) is targeted.
    """

    calm: float = 6.0
    hold: float = 8.0
    after_shrink: float = 3.0
    down: float = 8.0
    shrink_timeout: float = 25.0
    quiet: float = 8.0
    wipe: bool = False
    partition: int = 0
    topic: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "TargetedOptions":
        names = set(cls.__dataclass_fields__)
        bad = sorted(set(data or {}) - names)
        if bad:
            raise ValueError(f"unknown targeted nemesis option(s) {', '.join(bad)}; known: {', '.join(sorted(names))}")
        o = cls(**dict(data or {}))
        for k in ("calm", "hold", "after_shrink", "down", "shrink_timeout", "quiet"):
            v = getattr(o, k)
            if not isinstance(v, (int, float)) or v < 0 or v > 3600:
                raise ValueError(f"targeted nemesis option {k}={v!r} must be 0..3600 seconds")
        return o


class Targeted:
    """A nemesis running one targeted strategy (see the module docstring) on a real cluster."""

    def __init__(self, strategy: str, options: Mapping[str, Any] | TargetedOptions | None = None):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown targeted strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self.opts = options if isinstance(options, TargetedOptions) else TargetedOptions.from_dict(options)
        self.cluster: Any = None
        self.ex: Executor | None = None
        self.topic: str | None = None
        self.killed: set[str] = set()

    # ------------------------------------------------------------------ protocol
    def setup(self, cluster: Any, test: Mapping[str, Any]) -> None:
        if cluster is None and self.strategy != "none":
            raise NemesisError("targeted faults need a cluster prozess started or attached")
        self.cluster = cluster
        self.ex = Executor(cluster, test.get("nemesis_log") or None)
        wopts = test.get("workload_options") or {}
        prefix = wopts.get("topic_prefix") or (test.get("topics") or {}).get("prefix") or "prozess"
        self.topic = self.opts.topic or f"{prefix}-0"
        if cluster is not None:
            _heal_all(self.ex, start_killed=False)

    def schedule(self, test: dict[str, Any], rng: random.Random) -> Iterable[tuple[float, str, Any]]:
        """Repeating cycles of calm writes then the targeted fault, until `quiet` seconds before the end."""
        o = self.opts
        if isinstance(test, dict):
            test["targeted"] = {"strategy": self.strategy, **asdict(o), "topic": self.topic}
            test["fault_edges"] = {f: packages.edges()[f] for f in FS}
        if self.strategy == "none":
            return []
        end = float(test.get("time_limit") or 60) - o.quiet
        tag = {"targeted": self.strategy, "topic": self.topic, "partition": o.partition}
        steps: list[tuple[float, str, Any]] = []
        t = 0.0
        for _ in range(1000):
            if self.strategy == "isolate-leader":
                cycle = [(o.calm, "start-partition", {**tag, "grudge": "leader"}), (o.hold, "stop-partition", dict(tag))]
                length = o.calm + o.hold + 2
            elif self.strategy == "kill-leader":
                cycle = [(o.calm, "kill", {**tag, "targets": "leader"}), (o.hold, "start", dict(tag))]
                length = o.calm + o.hold + 2
            elif self.strategy == "shrink-isr-kill":
                cycle = [
                    (o.calm, "start-partition", {**tag, "grudge": "replication"}),
                    (o.after_shrink, "kill", {**tag, "targets": "leader", "wipe": o.wipe}),
                    (o.down, "start", dict(tag)),
                ]
                length = o.calm + o.shrink_timeout / 2 + o.after_shrink + o.down
            else:  # cut-responses
                cycle = [(o.calm, "start-partition", {**tag, "grudge": "responses"}), (o.hold, "stop-partition", {**tag, "reset": True})]
                length = o.calm + o.hold + 1
            if t + length > end:
                break
            steps += cycle
            t += length
        return steps

    def invoke(self, f: str, value: Any) -> tuple[str, Any]:
        value = dict(value) if isinstance(value, Mapping) else {}
        if self.ex is None:
            return "info", {**value, "error": "nemesis not set up"}
        return self.ex.step(f, value, self._action(f))

    def _action(self, f: str) -> Callable[[dict[str, Any]], Any]:
        """The action for step `f` (a KeyError for an unknown start-partition grudge is recorded as the step's error)."""
        if f == "start-partition":
            return lambda v: {"leader": self._isolate_leader, "replication": self._shrink_isr, "responses": self._cut_responses}[v.get("grudge")](v)
        if f == "stop-partition":
            return self._heal_rules
        if f == "kill":
            return self._kill_leader
        if f == "start":
            return self._start
        if f == "heal-all":
            return lambda v: {**v, **self.heal_all()}
        return lambda v: {**v, "error": f"unknown targeted f {f!r}"}

    def heal_all(self) -> dict[str, Any]:
        if self.ex is None or self.cluster is None:
            return {}
        report = _heal_all(self.ex)
        self.killed.clear()
        return report

    def teardown(self) -> None:
        self.heal_all()

    # ------------------------------------------------------------------ helpers
    @property
    def nodes(self) -> list[str]:
        return list(self.cluster.nodes)

    def _leader(self) -> str:
        """The current leader of the targeted partition (a few tries: metadata lags after elections)."""
        for _ in range(10):
            node = self.cluster.leader(self.topic, self.opts.partition)
            if node is not None:
                return node
            time.sleep(0.5)
        raise NemesisError(f"no leader is known for {self.topic}-{self.opts.partition}")

    def _apply(self, node: str, rules: list[str]) -> None:
        self.ex.run(node, partition.ensure_argv(), input=partition.restore_input(partition.PART_CHAIN, rules))

    def _heal_rules(self, value: dict) -> dict:
        out = dict(value)
        if value.get("reset"):
            out["reset"] = self._reset_connections()
        partition.heal_partition(self.ex, self.nodes, check=False)
        out["healed"] = self.nodes
        return out

    # -- isolate-leader: every link between the leader and the other nodes down; clients unaffected
    def _isolate_leader(self, value: dict) -> dict:
        leader = self._leader()
        peers = [self.cluster.address(n) for n in self.nodes if n != leader]
        self._apply(leader, partition.drop_rules(partition.PART_CHAIN, peers))
        for n in self.nodes:
            if n != leader:
                self._apply(n, partition.drop_rules(partition.PART_CHAIN, [self.cluster.address(leader)]))
        return {**value, "node": leader, "isolated": leader}

    # -- shrink-isr: the followers' fetches from the leader dropped; the leader's own requests pass
    def _shrink_isr(self, value: dict) -> dict:
        """Cuts the followers' fetch connections to the leader until the ISR is the leader alone.

        Only connections *to* the leader's broker port are dropped (the followers'
        fetches and their responses). The leader's own connections to other brokers
        stay open: under ZooKeeper the active controller is a broker, reached on the
        broker port, and the leader's AlterPartition request to it is what shrinks the
        ISR (dropping both directions left the ISR full whenever the leader was not the
        controller). If the ISR has not shrunk within `shrink_timeout`, replication is
        restored and the step fails, so the fault accounting and the verdict say the
        fault did not take effect instead of a campaign that looks safe.
        """
        leader = self._leader()
        rules = []
        for n in self.nodes:
            if n == leader:
                continue
            a = self.cluster.address(n)
            rules += [
                f"-A {partition.PART_CHAIN} -s {a} -p tcp --dport {BROKER_PORT} -j DROP",
                f"-A {partition.PART_CHAIN} -d {a} -p tcp --sport {BROKER_PORT} -j DROP",
            ]
        self._apply(leader, rules)
        deadline = time.monotonic() + self.opts.shrink_timeout
        isr: list[str] = []
        while time.monotonic() < deadline:
            isr = self.cluster.isr(self.topic, self.opts.partition)
            if isr == [leader]:
                return {**value, "node": leader, "isr": isr, "shrunk": True}
            time.sleep(0.5)
        partition.heal_partition(self.ex, self.nodes, check=False)
        raise NemesisError(f"the ISR of {self.topic}-{self.opts.partition} did not shrink to its leader {leader} within "
                           f"{self.opts.shrink_timeout:g} s (ISR {isr}); replication restored")

    # -- cut-responses: brokers drop what they send to the control host (not resets), then reset
    def _control(self) -> str:
        return partition.control_address(self.ex, self.nodes[0])

    def _cut_responses(self, value: dict) -> dict:
        control = self._control()
        rule = f"-A {partition.PART_CHAIN} -d {control} -p tcp --sport {BROKER_PORT} --tcp-flags RST RST -j ACCEPT"
        drop = f"-A {partition.PART_CHAIN} -d {control} -p tcp --sport {BROKER_PORT} -j DROP"
        for n in self.nodes:
            self._apply(n, [rule, drop])
        return {**value, "nodes": self.nodes, "control": control}

    def _reset_connections(self) -> dict[str, Any]:
        """Aborts the brokers' client connections to the control host (RST), so producers reconnect and retry."""
        control = self._control()
        out = {}
        for n in self.nodes:
            res = self.ex.run(n, ["ss", "-K", "-t", "dst", control, "sport", "=", f":{BROKER_PORT}"], check=False, timeout=10)
            out[n] = None if res is None else res.returncode
        return out

    # -- kill / start
    def _kill_leader(self, value: dict) -> dict:
        leader = value.get("node") or self._leader()
        self.ex.act(leader, "kill_kafka", lambda: self.cluster.kill_kafka(leader, sig="KILL"), sig="KILL")
        self.killed.add(leader)
        out = {**value, "node": leader, "nodes": [leader]}
        if value.get("wipe"):
            path = f"{self.cluster.data_dir(leader)}/{self.topic}-{int(self.opts.partition)}"
            self.ex.run(leader, ["rm", "-rf", "--", path], check=False)
            out["wiped"] = path
        # Replication back on for the survivors, so an out-of-sync replica can be elected and catch up.
        partition.heal_partition(self.ex, self.nodes, check=False)
        return out

    def _start(self, value: dict) -> dict:
        partition.heal_partition(self.ex, self.nodes, check=False)
        started = []
        for n in self.nodes:
            if not self.cluster.kafka_running(n):
                self.ex.act(n, "start_kafka", lambda n=n: self.cluster.start_kafka(n))
                started.append(n)
        self.killed.clear()
        return {**value, "started": started}
