"""The consumer-group workload: subscribe/unsubscribe churn with auto or manual offset commits.

Roles, by worker thread: thread 0 produces unique increasing integers to the
topic's partitions and now and then reads the group's committed offsets;
threads 1..`consumers` are members of one consumer group that poll, commit
(manual mode), leave (`unsubscribe`), rejoin (`subscribe`) and crash, so the
group rebalances all the time.

Ops (JSON values; checked by `prozess.checkers.group`):

    produce      invoke [[p, v], ...]          -> ok [[p, offset, v], ...]
    subscribe    invoke null                   -> ok (joins the group; callbacks fire in later polls)
    poll         invoke null                   -> ok {"assigned": {"p": committed offset at assignment, or -1 for none,
                                                       or null when unknown}, "revoked": [p, ...],
                                                       "records": {"p": [[off, v], ...]}}
    commit       invoke null                   -> ok {"offsets": {"p": next}}   (manual mode: what was delivered)
                                                  fail: certainly not committed; info: unknown
    unsubscribe  invoke null                   -> ok (leaves the group)
    committed    invoke {"final": bool}        -> ok {"offsets": {"p": committed offset}}
    read-input   invoke {"final": true}        -> ok {"records": {"p": [[off, v]]}, "ends": {"p": end}}
    crash        -> info (the member's clients are closed and dropped; the process is replaced)

Within one poll the rebalance callbacks (revoked, then assigned) run before
the records are delivered, so a poll's records come from partitions owned
after its `assigned`/`revoked` events. `assigned` holds the offset the group
had committed for the partition when it was handed over: where the new owner
must resume.

Commit modes: `manual` (enable.auto.commit off; a `commit` op after polls
commits the delivered positions synchronously) and `auto` (librdkafka
commits positions every `auto_commit_interval_ms` and on revocation).
Final phase: thread 0 reads the topic's ends; members (re)subscribe and
consume until the group's committed offsets reach the ends (or
`drain_time_s`), then thread 0 reads the committed offsets once more.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from prozess.workloads.options import WorkloadOptions
from prozess.generator import Context
from prozess.workloads.adapter import WorkloadClient, invoke_op, produce_op, require_confluent, run_prefix
from prozess.workloads.clients.base import FAIL, INFO, ClientOpError, ClientOptions, KeyMap
from prozess.workloads.kafka_io import close_clients, common_conf, error_desc, produce_records, producer_conf, reader_conf

__all__ = ["GroupClient", "GroupFinal", "GroupGenerator", "GroupOptions", "GroupWorkload", "make_workload"]

log = logging.getLogger("prozess.workloads.group")


@dataclass
class GroupOptions(WorkloadOptions):
    KIND = "group"
    """Knobs of the group workload (test.json "workload_options")."""

    partitions: int = 6
    consumers: int = 4
    commit_mode: str = "manual"          # manual | auto
    assignment: str = "cooperative-sticky"  # or range, roundrobin (eager)
    auto_commit_interval_ms: int = 500
    produce_batch: int = 4
    poll_max: int = 50
    leave_p: float = 0.03                # probability that a member's next op is unsubscribe
    crash_clients: bool = True
    crash_interval_s: float = 20.0
    committed_p: float = 0.1             # probability that thread 0 reads committed offsets instead of producing
    poll_timeout_s: float = 0.3
    op_timeout_s: float = 5.0
    session_timeout_ms: int = 6000
    drain_time_s: float = 30.0
    final_time_limit_s: float = 45.0
    topic_prefix: str = "prozess-group"

    def validate(self) -> None:
        self.require_between("partitions", 1, 256)
        self.require_between("consumers", 1, 64)
        if self.commit_mode not in ("manual", "auto"):
            raise ValueError(f"commit_mode is {self.commit_mode!r}; it must be manual or auto")
        if self.assignment not in ("cooperative-sticky", "range", "roundrobin"):
            raise ValueError(f"assignment is {self.assignment!r}; it must be cooperative-sticky, range or roundrobin")
        for name in ("leave_p", "committed_p"):
            self.require_between(name, 0, 1)
        if self.crash_interval_s <= 0 or self.op_timeout_s <= 0 or self.poll_timeout_s <= 0:
            raise ValueError("crash_interval_s, op_timeout_s and poll_timeout_s must be positive")
        if self.drain_time_s >= self.final_time_limit_s:
            raise ValueError(f"drain_time_s ({self.drain_time_s}) must be below final_time_limit_s ({self.final_time_limit_s})")


    @property
    def partitions_per_topic(self) -> int:
        """The runner records topics as (prefix, partitions per topic); both our topics have `partitions`."""
        return self.partitions


def _role(thread: int, o: GroupOptions) -> str | None:
    if thread == 0:
        return "producer"
    return "member" if thread <= o.consumers else None


class GroupGenerator:
    """Main phase: produce (and read committed offsets); members subscribe, poll, commit, leave, crash."""

    def __init__(self, options: GroupOptions, rng: random.Random):
        options.validate()
        self.o = options
        self.rng = rng
        self.next_value = 1
        self.subscribed: set[Any] = set()
        self.need_commit: set[Any] = set()
        self.next_crash: dict[int, float] = {}

    def op(self, ctx: Context) -> Any:
        role = _role(ctx.thread, self.o)
        if role is None:
            return None
        if role == "producer":
            if self.rng.random() < self.o.committed_p:
                return {"f": "committed", "value": {"final": False}}
            op, self.next_value = produce_op(self.rng, self.o.partitions, self.o.produce_batch, self.next_value)
            return op
        if ctx.process not in self.subscribed:
            return {"f": "subscribe", "value": None}
        if ctx.process in self.need_commit:
            return {"f": "commit", "value": None}
        if self.o.crash_clients:
            nxt = self.next_crash.setdefault(ctx.thread, ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s)
            if ctx.time >= nxt:
                self.next_crash[ctx.thread] = ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s
                return {"f": "crash", "value": None}
        if self.rng.random() < self.o.leave_p:
            return {"f": "unsubscribe", "value": None}
        return {"f": "poll", "value": None}

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f, p = event.get("type"), event.get("f"), event.get("process")
        if typ == "invoke":
            return
        if typ == "info":
            self.subscribed.discard(p)
            self.need_commit.discard(p)
            return
        if f == "subscribe" and typ == "ok":
            self.subscribed.add(p)
        elif f == "unsubscribe":
            self.subscribed.discard(p)
            self.need_commit.discard(p)
        elif f == "poll" and typ == "ok" and self.o.commit_mode == "manual":
            v = event.get("value") or {}
            if v.get("records"):
                self.need_commit.add(p)
        elif f == "commit":
            self.need_commit.discard(p)


class GroupFinal:
    """Final phase: thread 0 reads the ends; members consume until committed offsets reach them; then a last committed read."""

    def __init__(self, options: GroupOptions, main: GroupGenerator | None = None):
        self.o = options
        self.subscribed: set[Any] = set(main.subscribed) if main else set()
        self.need_commit: set[Any] = set(main.need_commit) if main else set()
        self.ends: dict[int, int] | None = None
        self.committed: dict[int, int] = {}
        self.stage0 = "read-input"
        self.polls = 0

    def drained(self) -> bool:
        return self.ends is not None and all(self.committed.get(p, 0) >= e for p, e in self.ends.items())

    def op(self, ctx: Context) -> Any:
        role = _role(ctx.thread, self.o)
        draining = ctx.time < self.o.drain_time_s and not self.drained()
        if role == "producer":
            if self.stage0 == "read-input":
                return {"f": "read-input", "value": {"final": True}}
            if self.stage0 == "check":
                if draining and self.polls < 10_000:
                    self.polls += 1
                    return {"f": "committed", "value": {"final": False}, "time": ctx.time + 0.5}
                self.stage0 = "final"
            if self.stage0 == "final":
                return {"f": "committed", "value": {"final": True}}
            return None
        if role == "member":
            if ctx.process in self.need_commit:
                return {"f": "commit", "value": None}
            if not draining:
                return None
            if ctx.process not in self.subscribed:
                return {"f": "subscribe", "value": None}
            return {"f": "poll", "value": None}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f, p, v = event.get("type"), event.get("f"), event.get("process"), event.get("value")
        if typ == "invoke":
            return
        if typ == "info":
            self.subscribed.discard(p)
            self.need_commit.discard(p)
        if f == "read-input" and typ == "ok" and isinstance(v, dict):
            self.ends = {int(k): int(e) for k, e in (v.get("ends") or {}).items()}
            self.stage0 = "check"
        elif f == "committed" and typ == "ok" and isinstance(v, dict):
            for k, off in (v.get("offsets") or {}).items():
                self.committed[int(k)] = max(self.committed.get(int(k), 0), int(off))
            if v.get("final"):
                self.stage0 = "done"
        elif f == "subscribe" and typ == "ok":
            self.subscribed.add(p)
        elif f == "poll" and typ == "ok" and self.o.commit_mode == "manual" and (v or {}).get("records"):
            self.need_commit.add(p)
        elif f == "commit":
            self.need_commit.discard(p)


# Commit errors that prove the commit was rejected (nothing written).
COMMIT_REJECTED = frozenset({
    "ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS", "FENCED_INSTANCE_ID",
    "_ASSIGNMENT_LOST", "_NO_OFFSET", "_STATE", "STALE_MEMBER_EPOCH",
})


class GroupClient(WorkloadClient):
    """One process's producer or group member (made on first use), plus a reader for committed offsets."""

    def __init__(self, workload: "GroupWorkload", process: int):
        super().__init__(workload, process)
        self.producer: Any = None
        self.member: Any = None
        self.aux: dict[str, Any] = {}
        self.events: dict[str, Any] = {"assigned": {}, "revoked": []}
        self.delivered: dict[int, int] = {}   # partition -> next offset, for manual commits

    def _common(self) -> dict[str, Any]:
        return common_conf(self.copts, f"{self.copts.client_id}-group-p{self.process}", log)

    def _producer(self) -> Any:
        if self.producer is None:
            from confluent_kafka import Producer

            conf = self._common()
            conf.update(producer_conf(self.copts, self.o.op_timeout_s))
            self.producer = Producer(conf)
        return self.producer

    def _aux(self, kind: str) -> Any:
        c = self.aux.get(kind)
        if c is None:
            from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

            conf = self._common()
            conf.update(reader_conf(self.w.group_id if kind == "offsets" else f"{self.w.group_id}-reader-p{self.process}"))
            c = self.aux[kind] = Consumer(conf)
            if kind == "input":
                c.assign([TopicPartition(self.w.topic, p, OFFSET_BEGINNING) for p in range(self.o.partitions)])
        return c

    def _member(self) -> Any:
        if self.member is None:
            from confluent_kafka import Consumer

            conf = self._common()
            conf.update({
                "group.id": self.w.group_id,
                "partition.assignment.strategy": self.o.assignment,
                "enable.auto.commit": self.o.commit_mode == "auto",
                "auto.commit.interval.ms": self.o.auto_commit_interval_ms,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": self.o.session_timeout_ms,
                "heartbeat.interval.ms": max(100, self.o.session_timeout_ms // 6),
                "fetch.wait.max.ms": 50,
            })
            self.member = Consumer(conf)
        return self.member

    def _on_assign(self, consumer: Any, parts: list[Any]) -> None:
        try:
            got = consumer.committed(parts, timeout=min(self.o.op_timeout_s, 3.0))
            for tp in got:
                known = tp.error is None
                self.events["assigned"][str(tp.partition)] = (tp.offset if tp.offset >= 0 else -1) if known else None
        except Exception as e:
            log.debug("committed() in on_assign failed: %s", e)
            for tp in parts:
                self.events["assigned"][str(tp.partition)] = None

    def _on_revoke(self, consumer: Any, parts: list[Any]) -> None:
        self.events["revoked"].extend(tp.partition for tp in parts)
        for tp in parts:
            self.delivered.pop(tp.partition, None)
            self.events["assigned"].pop(str(tp.partition), None)

    def close(self, timeout: float = 5.0) -> None:
        """Drops the clients (a closed member leaves the group; node kills and partitions exercise session timeouts)."""
        producer, member, aux = self.producer, self.member, list(self.aux.values())
        self.producer = self.member = None
        self.aux = {}
        close_clients(producer, ([member] if member is not None else []) + aux, timeout, "prozess-group-close")

    # -- ops --
    def produce(self, recs: list[list[int]]) -> list[list[Any]]:
        return produce_records(self._producer(), self.w.topic, recs, self.o.op_timeout_s)

    def subscribe(self) -> None:
        try:
            self._member().subscribe([self.w.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
        except Exception as e:
            raise ClientOpError(FAIL, error_desc(e)[1]) from e

    def unsubscribe(self) -> None:
        try:
            self._member().unsubscribe()
            # the revocation callback runs in a poll; serve it now so the group sees us leave
            self.member.consume(1, 0.2)
        except Exception as e:
            raise ClientOpError(INFO, error_desc(e)[1]) from e

    def poll(self) -> dict[str, Any]:
        c = self._member()
        try:
            msgs = c.consume(self.o.poll_max, self.o.poll_timeout_s)
        except Exception as e:
            raise ClientOpError(INFO, error_desc(e)[1]) from e
        ev, self.events = self.events, {"assigned": {}, "revoked": []}
        recs: dict[str, list] = {}
        for m in msgs:
            if m.error() is not None:
                continue
            recs.setdefault(str(m.partition()), []).append([m.offset(), int(m.value())])
            self.delivered[m.partition()] = m.offset() + 1
        return {"assigned": ev["assigned"], "revoked": sorted(set(ev["revoked"])), "records": recs}

    def commit(self) -> dict[str, Any]:
        from confluent_kafka import TopicPartition

        c = self._member()
        offsets = dict(self.delivered)
        if not offsets:
            return {"offsets": {}}
        tps = [TopicPartition(self.w.topic, p, off) for p, off in sorted(offsets.items())]
        value = {"offsets": {str(p): off for p, off in sorted(offsets.items())}}
        try:
            got = c.commit(offsets=tps, asynchronous=False)
        except Exception as e:
            err, desc = error_desc(e)
            name = err.name() if err is not None else ""
            raise ClientOpError(FAIL if name in COMMIT_REJECTED else INFO, desc, value) from e
        bad = [tp for tp in got or [] if tp.error is not None]
        if bad:  # some partitions failed: which offsets stand is uncertain
            names = {tp.error.name() for tp in bad}
            outcome = FAIL if len(bad) == len(tps) and names <= COMMIT_REJECTED else INFO
            raise ClientOpError(outcome, "; ".join(sorted(f"partition {tp.partition}: {tp.error.name()}" for tp in bad)), value)
        return value

    def committed(self, final: bool) -> dict[str, Any]:
        from confluent_kafka import TopicPartition

        c = self._aux("offsets")
        try:
            got = c.committed([TopicPartition(self.w.topic, p) for p in range(self.o.partitions)], timeout=self.o.op_timeout_s)
        except Exception as e:
            raise ClientOpError(FAIL, error_desc(e)[1]) from e
        return {"final": final, "offsets": {str(tp.partition): tp.offset for tp in got if tp.offset >= 0 and tp.error is None}}

    def read_input(self) -> dict[str, Any]:
        from confluent_kafka import KafkaError, TopicPartition

        c = self._aux("input")
        recs: dict[str, list] = {}
        eof: set[int] = set()
        deadline = time.monotonic() + self.o.op_timeout_s * 4
        for _ in range(100_000):
            for m in c.consume(1000, self.o.poll_timeout_s):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                    continue
                eof.discard(m.partition())
                recs.setdefault(str(m.partition()), []).append([m.offset(), int(m.value())])
            if len(eof) >= self.o.partitions:
                break
            if time.monotonic() >= deadline:
                raise ClientOpError(INFO, "read-input did not reach the end of every partition", {"records": recs})
        pos = c.position([TopicPartition(self.w.topic, p) for p in range(self.o.partitions)])
        return {"records": recs, "ends": {str(tp.partition): max(tp.offset, 0) for tp in pos}}


class GroupWorkload:
    """Binds options, generators and clients for the runner (the same shape as the queue workload)."""

    name = "group"

    def __init__(self, options: GroupOptions, client_name: str = "confluent", client_options: ClientOptions | None = None,
                 *, concurrency: int | None = None):
        options.validate()
        require_confluent("group", client_name)
        if concurrency is not None and concurrency < 1 + options.consumers:
            raise ValueError(f"the group workload needs concurrency >= {1 + options.consumers} (1 producer + {options.consumers} members)")
        self.options = options
        self.client_options = client_options or ClientOptions()
        self.prefix = run_prefix(options, self.client_options)
        self.keymap = KeyMap(self.prefix, options.partitions)
        self.topic = self.keymap.topic_name(0)
        self.group_id = f"{self.prefix}-members"
        self.main: GroupGenerator | None = None

    def generator(self, rng: random.Random) -> GroupGenerator:
        self.main = GroupGenerator(self.options, rng)
        return self.main

    def final_generator(self) -> GroupFinal:
        return GroupFinal(self.options, self.main)

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        return [str(k) for k in range(self.options.partitions)]

    def open_client(self, process: int) -> GroupClient:
        return GroupClient(self, process)

    def invoke(self, client: GroupClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        return invoke_op("group", _OPS, client, op, crash="crash: member abandoned on purpose")


def _subscribe(client: GroupClient, value: Any) -> Any:
    client.subscribe()
    return value


def _unsubscribe(client: GroupClient, value: Any) -> Any:
    client.unsubscribe()
    return value


# f -> the client call that runs it; its return value completes the op `ok`.
_OPS: dict[str, Any] = {
    "produce": lambda c, v: c.produce(v),
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "poll": lambda c, v: c.poll(),
    "commit": lambda c, v: c.commit(),
    "committed": lambda c, v: c.committed(bool((v or {}).get("final"))),
    "read-input": lambda c, v: c.read_input(),
}


def make_workload(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions,
                  *, concurrency: int | None = None) -> GroupWorkload:
    """The runner's entry point: a `GroupWorkload` from test.json's workload options."""
    return GroupWorkload(GroupOptions.from_dict(dict(workload_options)), client_name, client_options, concurrency=concurrency)
