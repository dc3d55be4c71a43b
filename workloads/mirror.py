"""The mirror workload: produce to a source cluster, read MirrorMaker 2's copy in a target cluster, fail a group over.

MirrorMaker 2 itself runs apart (MM2 in dedicated mode between the run's
cluster, the source, and `target_bootstrap`), with the default replication
policy: the source topic `<prefix>-0` appears in the target as
`<source_alias>.<prefix>-0`, same partitions, and with
`sync.group.offsets.enabled` MM2 writes the source group's translated offsets
into the target.

Roles, by worker thread (op shapes in `prozess.checkers.mirror`):

- thread 0 produces batches of unique increasing integers to random
  partitions of the source topic (`produce`);
- thread 1 is a consumer of one group in the source: it consumes and commits
  its positions (`commit-source`), the offsets MM2 checkpoints translate;
- thread 2 reads the mirrored topic in full now and then (`read-target`).

Final phase: thread 0 reads the source in full (`read-source`, final);
thread 2 reads the target until it holds every value of that read or
`mirror_wait_s` passed, then fails the group over (`failover`: the group's
committed offsets in the target and the first records from there), then
takes the final target read.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from prozess.cluster.jars import MIRROR_VERSION
from prozess.generator import Context
from prozess.workloads.adapter import WorkloadClient, invoke_op, produce_op, require_confluent
from prozess.workloads.clients.base import FAIL, INFO, ClientOpError, ClientOptions, KeyMap
from prozess.workloads.kafka_io import close_clients, close_quietly, common_conf, produce_records, producer_conf, reader_conf
from prozess.workloads.options import WorkloadOptions

__all__ = ["MirrorClient", "MirrorFinal", "MirrorGenerator", "MirrorOptions", "MirrorWorkload", "make_workload"]

log = logging.getLogger("prozess.workloads.mirror")


@dataclass
class MirrorOptions(WorkloadOptions):
    """Knobs of the mirror workload (test.json "workload_options")."""

    KIND = "mirror"

    target_bootstrap: str = ""            # the target cluster MM2 copies into (set by prozess when it makes the target)
    source_alias: str = "source"          # MM2's name of the source cluster: the mirrored topic's prefix
    partitions: int = 2
    produce_batch: int = 4
    commit_p: float = 0.2                 # thread 1: share of its ops that consume and commit (else it waits)
    read_target_p: float = 0.1
    max_rewind: int = 100                 # MM2's offset.lag.max: the checker's bound on failover rewinds
    mirror_wait_s: float = 30.0
    # After the copy holds every source value, MM2 still has to emit an offset sync, a checkpoint and a
    # group-offset sync (one-second intervals in prozess's set-up) before the target's group offsets
    # reflect the group's last commit: the failover waits this long (within mirror_wait_s).
    failover_settle_s: float = 5.0
    op_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    final_time_limit_s: float = 75.0
    topic_prefix: str = "prozess-mirror"
    # The set-up prozess makes for a mirror campaign (prozess.cluster.mirror.MirrorSettings): the
    # target's size and spec fields that differ from the source's, and MirrorMaker 2's version,
    # heap and extra mm2.properties lines (e.g. {"target.producer.acks": "0"}).
    target_nodes: int = 3
    target_cluster: dict = field(default_factory=dict)
    mm2_version: str = MIRROR_VERSION
    mm2_heap: str = "384m"
    mm2_properties: dict = field(default_factory=dict)

    def validate(self) -> None:
        from prozess.cluster.mirror import MirrorSettings

        MirrorSettings(target_nodes=self.target_nodes, target_cluster=self.target_cluster, mm2_version=self.mm2_version,
                       mm2_heap=self.mm2_heap, mm2_properties=self.mm2_properties).validate()
        self.require_between("partitions", 1, 64)
        self.require_between("failover_settle_s", 0, self.mirror_wait_s)
        for name in ("commit_p", "read_target_p"):
            self.require_between(name, 0, 1)
        if self.mirror_wait_s + self.read_timeout_s * 2 >= self.final_time_limit_s:
            raise ValueError("mirror_wait_s + 2 * read_timeout_s must be below final_time_limit_s")

    @property
    def partitions_per_topic(self) -> int:
        return self.partitions


class MirrorGenerator:
    """Main phase: thread 0 produces, thread 1 consumes and commits in the source, thread 2 reads the target."""

    def __init__(self, options: MirrorOptions, rng: random.Random):
        self.o = options
        self.rng = rng
        self.next_value = 1

    def op(self, ctx: Context) -> Any:
        if ctx.thread == 0:
            op, self.next_value = produce_op(self.rng, self.o.partitions, self.o.produce_batch, self.next_value)
            return op
        if ctx.thread == 1:
            return {"f": "commit-source", "value": None, "time": ctx.time + (0.0 if self.rng.random() < self.o.commit_p else 0.5)}
        if ctx.thread == 2:
            return {"f": "read-target", "value": {"final": False}, "time": ctx.time + (0.0 if self.rng.random() < self.o.read_target_p else 1.0)}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        pass


class MirrorFinal:
    """Final phase: full source read; target reads until caught up and settled; failover; final target read.

    The failover's invoke value says whether the copy had caught up and for how long
    (`{"caught_up": bool, "settled": bool}`): the checker judges rewinds only for a
    settled failover, since a translation MM2 had no time to make is stale, not wrong.
    """

    def __init__(self, options: MirrorOptions):
        self.o = options
        self.source_values: set[int] | None = None
        self.caught_up_at: float | None = None    # phase time of the first read that held every source value
        self.stage = "wait"          # thread 2: wait -> failover -> final -> done
        self.source_done = False

    def _settled(self, now: float) -> bool:
        return self.caught_up_at is not None and now - self.caught_up_at >= self.o.failover_settle_s

    def op(self, ctx: Context) -> Any:
        if ctx.thread == 0:
            return None if self.source_done else {"f": "read-source", "value": {"final": True}}
        if ctx.thread != 2:
            return None
        if self.stage == "wait":
            if self.source_values is not None and (self._settled(ctx.time) or ctx.time >= self.o.mirror_wait_s):
                self.stage = "failover"
            else:
                return {"f": "read-target", "value": {"final": False}, "time": ctx.time + 1.0}
        if self.stage == "failover":
            return {"f": "failover", "value": {"caught_up": self.caught_up_at is not None, "settled": self._settled(ctx.time)}}
        if self.stage == "final":
            return {"f": "read-target", "value": {"final": True}}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f, v = event.get("type"), event.get("f"), event.get("value")
        if typ == "invoke":
            return
        if f == "read-source" and typ == "ok":
            self.source_values = {int(x[1]) for rs in (v or {}).get("records", {}).values() for x in rs}
            self.source_done = True
        elif f == "read-target" and typ == "ok" and isinstance(v, dict):
            if v.get("final"):
                self.stage = "done"
            elif self.source_values is not None and self.caught_up_at is None:
                got = {int(x[1]) for rs in (v.get("records") or {}).values() for x in rs}
                if self.source_values <= got:
                    self.caught_up_at = ctx.time
        elif f == "failover" and typ != "invoke":
            self.stage = "final"


def _read_all(consumer: Any, topic: str, partitions: int, timeout_s: float) -> dict[str, list]:
    """Every record of `topic` from the beginning to each partition's end at the time of reading."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    ends = {}
    for p in range(partitions):
        try:
            _, ends[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s, cached=False)
        except Exception as e:
            raise ClientOpError(FAIL, f"watermarks of {topic}-{p}: {e}") from e
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    recs: dict[str, list] = {str(p): [] for p in range(partitions)}
    last = {p: -1 for p in range(partitions)}
    deadline = time.monotonic() + timeout_s
    try:
        while any(last[p] < ends[p] - 1 for p in range(partitions)):
            if time.monotonic() >= deadline:
                raise ClientOpError(INFO, f"read of {topic} did not reach the ends {ends} in {timeout_s}s", {"records": recs})
            for m in consumer.consume(1000, 0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        last[m.partition()] = max(last[m.partition()], ends.get(m.partition(), 0) - 1)
                    continue
                p, off = m.partition(), m.offset()
                last[p] = max(last[p], off)
                if off < ends[p]:
                    recs[str(p)].append([off, int(m.value())])
    finally:
        try:
            consumer.unassign()
        except Exception:
            pass
    return recs


# The group's consumer is reopened after this many commit-source ops in a row that found nothing to
# commit before it ever consumed: one that assigned its partitions while the source was still
# electing group coordinators was seen to fetch nothing for a whole 40 s campaign.
REOPEN_AFTER_EMPTY_POLLS = 8


class MirrorClient(WorkloadClient):
    """One process's clients for its role (made on first use)."""

    def __init__(self, workload: "MirrorWorkload", process: int):
        super().__init__(workload, process)
        self.clients: dict[str, Any] = {}
        self.consumed: dict[int, int] = {}   # source partition -> next offset of the group's consumer
        self._empty_polls = 0                # the group consumer's polls in a row that returned no record yet

    def _conf(self, bootstrap: str, suffix: str) -> dict[str, Any]:
        return common_conf(self.copts, f"{self.copts.client_id}-mirror-{suffix}-p{self.process}", log, bootstrap)

    def _get(self, kind: str) -> Any:
        c = self.clients.get(kind)
        if c is not None:
            return c
        from confluent_kafka import Consumer, Producer

        if kind == "producer":
            conf = self._conf(self.copts.bootstrap, "producer")
            conf.update(producer_conf(self.copts, self.o.op_timeout_s))
            c = Producer(conf)
        elif kind == "group":
            conf = self._conf(self.copts.bootstrap, "group")
            conf.update({"group.id": self.w.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "fetch.wait.max.ms": 50})
            c = Consumer(conf)
            from confluent_kafka import TopicPartition

            c.assign([TopicPartition(self.w.topic, p) for p in range(self.o.partitions)])  # resumes at the committed offsets
        else:
            bootstrap = self.copts.bootstrap if kind == "source-reader" else self.o.target_bootstrap
            conf = self._conf(bootstrap, kind)
            conf.update(reader_conf(f"{self.w.group_id}-{kind}-p{self.process}"))
            c = Consumer(conf)
        self.clients[kind] = c
        return c

    def close(self, timeout: float = 5.0) -> None:
        clients, self.clients = self.clients, {}
        close_clients(clients.get("producer"), [c for kind, c in clients.items() if kind != "producer"], timeout,
                      "prozess-mirror-close")

    def produce(self, recs: list[list[int]]) -> list[list[Any]]:
        return produce_records(self._get("producer"), self.w.topic, recs, self.o.op_timeout_s)

    def commit_source(self) -> dict[str, Any]:
        from confluent_kafka import TopicPartition

        c = self._get("group")
        try:
            errors = []
            for m in c.consume(500, 0.5):
                if m.error() is None:
                    self.consumed[m.partition()] = m.offset() + 1   # the group's position: next to consume
                else:
                    errors.append(str(m.error()))
            offs = [TopicPartition(self.w.topic, p, o) for p, o in sorted(self.consumed.items())]
            if not offs:
                self._empty_polls += 1
                if self._empty_polls >= REOPEN_AFTER_EMPTY_POLLS:   # a consumer stuck since its start: open a new one
                    self._empty_polls = 0
                    close_quietly(self.clients.pop("group", None))
                raise ClientOpError(FAIL, "nothing consumed yet: no position to commit"
                                    + (f" (consumer errors: {'; '.join(errors[:3])})" if errors else ""))
            c.commit(offsets=offs, asynchronous=False)
        except ClientOpError:
            raise
        except Exception as e:
            raise ClientOpError(INFO, f"{type(e).__name__}: {e}") from e
        return {"offsets": {str(tp.partition): tp.offset for tp in offs}}

    def read(self, side: str, final: bool) -> dict[str, Any]:
        topic = self.w.topic if side == "source" else self.w.mirrored_topic
        recs = _read_all(self._get(f"{side}-reader"), topic, self.o.partitions, self.o.read_timeout_s)
        return {"final": final, "records": recs}

    def failover(self) -> dict[str, Any]:
        """The group's committed (translated) offsets in the target, and the first records from there."""
        from confluent_kafka import Consumer, TopicPartition

        conf = self._conf(self.o.target_bootstrap, "failover")
        conf.update({"group.id": self.w.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "fetch.wait.max.ms": 50})
        c = Consumer(conf)
        try:
            got = c.committed([TopicPartition(self.w.mirrored_topic, p) for p in range(self.o.partitions)], timeout=self.o.op_timeout_s)
            offsets = {str(tp.partition): (tp.offset if tp.offset >= 0 and tp.error is None else None) for tp in got}
            start = [TopicPartition(self.w.mirrored_topic, int(p), o) for p, o in offsets.items() if o is not None]
            recs: dict[str, list] = {}
            if start:
                c.assign(start)
                deadline = time.monotonic() + self.o.op_timeout_s
                while time.monotonic() < deadline and len(recs) < len(start):
                    for m in c.consume(100, 0.5):
                        if m.error() is None:
                            recs.setdefault(str(m.partition()), []).append([m.offset(), int(m.value())])
            return {"offsets": offsets, "records": recs}
        except Exception as e:
            raise ClientOpError(INFO, f"{type(e).__name__}: {e}") from e
        finally:
            close_quietly(c)


class MirrorWorkload:
    """Binds options, generators and clients for the runner (the same shape as the queue workload)."""

    name = "mirror"

    def __init__(self, options: MirrorOptions, client_name: str = "confluent", client_options: ClientOptions | None = None,
                 *, concurrency: int | None = None):
        options.validate()
        require_confluent("mirror", client_name)
        if concurrency is not None and concurrency < 3:
            raise ValueError("the mirror workload needs concurrency >= 3 (producer, source group, target reader)")
        self.options = options
        self.client_options = client_options or ClientOptions()
        self.prefix = options.topic_prefix
        self.keymap = KeyMap(self.prefix, options.partitions)
        self.topic = self.keymap.topic_name(0)
        self.mirrored_topic = f"{options.source_alias}.{self.topic}"
        self.group_id = f"{self.prefix}-group"

    def generator(self, rng: random.Random) -> MirrorGenerator:
        return MirrorGenerator(self.options, rng)

    def final_generator(self) -> MirrorFinal:
        return MirrorFinal(self.options)

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        return [str(p) for p in range(self.options.partitions)]   # the source topic, created by the runner

    def open_client(self, process: int) -> MirrorClient:
        return MirrorClient(self, process)

    def invoke(self, client: MirrorClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        return invoke_op("mirror", _OPS, client, op)


# f -> the client call that runs it; its return value completes the op `ok`.
_OPS: dict[str, Any] = {
    "produce": lambda c, v: c.produce(v),
    "commit-source": lambda c, v: c.commit_source(),
    "read-target": lambda c, v: c.read("target", bool((v or {}).get("final"))),
    "read-source": lambda c, v: c.read("source", True),
    "failover": lambda c, v: c.failover(),
}


def make_workload(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions,
                  *, concurrency: int | None = None) -> MirrorWorkload:
    """The runner's entry point: a `MirrorWorkload` from test.json's workload options."""
    return MirrorWorkload(MirrorOptions.from_dict(dict(workload_options)), client_name, client_options, concurrency=concurrency)
