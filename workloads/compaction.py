"""The compaction workload: puts and deletes on compacted topics, full reads, and a final read after cleaning.

Topics (created by the runner's topic manager with the run's replication
factor, `min.insync.replicas` and unclean-election setting, plus the configs
below): `<prefix>-0` with `cleanup.policy=compact` and, when `delete_topic`
is on, `<prefix>-1` with `cleanup.policy=compact,delete` (time retention
`retention_ms`, long enough that it does not delete within a campaign). Both
get small segments and an eager cleaner (`segment.ms`, `segment.bytes`,
`min.cleanable.dirty.ratio`, `min.compaction.lag.ms`,
`max.compaction.lag.ms`, `delete.retention.ms`), and `cleaner_backoff_ms`
lowers the brokers' `log.cleaner.backoff.ms` (a cluster-wide dynamic
setting) so the cleaner looks for work every second instead of every 15.

Ops and record codec: see `prozess.compaction_model` (shared with the
checker, `prozess.checkers.compaction`). Every process writes any key
(`put` a new value, or `delete` it with a tombstone) and now and then reads
one topic-partition in full (`read-all`: from the log start to the high
watermark taken before the read; a fresh assignment at the beginning).

Final phase: each worker takes its share of the topic-partitions; for each
it alternates a put (a new append rolls a segment older than `segment.ms`,
so the cleaner has something to clean) and a full read, one a second, until
a read shows offsets the cleaner removed or `compaction_wait_s` has passed;
then it takes the final read (`final: true`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from prozess.compaction_model import DEFAULTS, decode_record, encode_key, encode_value, read_record, tp_of_key
from prozess.generator import Context
from prozess.workloads.adapter import WorkloadClient, invoke_op, require_confluent
from prozess.workloads.clients.base import CONFLUENT_OUTCOMES, FAIL, INFO, ClientOpError, ClientOptions, KeyMap, classify
from prozess.workloads.kafka_io import close_clients, common_conf, producer_conf, reader_conf
from prozess.workloads.options import WorkloadOptions

__all__ = ["CompactionClient", "CompactionFinal", "CompactionGenerator", "CompactionOptions", "CompactionWorkload",
           "make_workload"]

log = logging.getLogger("prozess.workloads.compaction")


@dataclass
class CompactionOptions(WorkloadOptions):
    """Knobs of the compaction workload (test.json "workload_options")."""

    KIND = "compaction"

    partitions: int = DEFAULTS["partitions"]                    # per topic
    delete_topic: bool = DEFAULTS["delete_topic"]              # also a cleanup.policy=compact,delete topic
    keys: int = 24
    delete_p: float = 0.1                  # share of writes that are tombstones
    read_p: float = 0.08                   # share of ops that are full reads
    segment_ms: int = 2000
    segment_bytes: int | None = None       # Kafka 4 refuses less than 1 MiB; segment_ms rolls segments instead
    min_cleanable_dirty_ratio: float = 0.01
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = 4000
    delete_retention_ms: int = DEFAULTS["delete_retention_ms"] 
    retention_ms: int = DEFAULTS["retention_ms"]          # the compact,delete topic's time retention
    cleaner_backoff_ms: int | None = 1000  # brokers' log.cleaner.backoff.ms (None: leave it)
    compaction_wait_s: float = 25.0
    require_compaction: bool = DEFAULTS["require_compaction"]        # unknown verdict when the final reads show no removed offset
    op_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    final_time_limit_s: float = 60.0
    topic_prefix: str = "prozess-compaction"

    def validate(self) -> None:
        self.require_between("partitions", 1, 64)
        self.require_between("keys", 1, 100_000)
        for name in ("delete_p", "read_p", "min_cleanable_dirty_ratio"):
            self.require_between(name, 0, 1)
        for name in ("segment_ms", "delete_retention_ms", "retention_ms"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} is {getattr(self, name)}; it must be a positive number of ms")
        if self.segment_bytes is not None and self.segment_bytes < 1024 * 1024:
            raise ValueError(f"segment_bytes is {self.segment_bytes}; Kafka needs at least 1048576 (use segment_ms to roll sooner)")
        if self.op_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError("op_timeout_s and read_timeout_s must be positive")
        if self.compaction_wait_s + self.read_timeout_s >= self.final_time_limit_s:
            raise ValueError(f"compaction_wait_s + read_timeout_s ({self.compaction_wait_s + self.read_timeout_s}) "
                             f"must be below final_time_limit_s ({self.final_time_limit_s})")

    @property
    def tps(self) -> int:
        """Topic-partitions of the run: `partitions` per topic, one or two topics."""
        return self.partitions * (2 if self.delete_topic else 1)

    @property
    def partitions_per_topic(self) -> int:
        return self.partitions

    def topic_configs(self) -> dict[int, dict[str, str]]:
        """Topic index -> the topic configs that make the cleaner run within a campaign."""
        common = {
            "segment.ms": str(self.segment_ms),
            "min.cleanable.dirty.ratio": str(self.min_cleanable_dirty_ratio),
            "min.compaction.lag.ms": str(self.min_compaction_lag_ms),
            "max.compaction.lag.ms": str(max(self.max_compaction_lag_ms, self.min_compaction_lag_ms + 1)),
            "delete.retention.ms": str(self.delete_retention_ms),
        }
        if self.segment_bytes is not None:
            common["segment.bytes"] = str(self.segment_bytes)
        out = {0: {**common, "cleanup.policy": "compact"}}
        if self.delete_topic:
            out[1] = {**common, "cleanup.policy": "compact,delete", "retention.ms": str(self.retention_ms)}
        return out


class CompactionGenerator:
    """Main phase: puts and deletes of random keys (sequence numbers counted per key), and full reads."""

    def __init__(self, options: CompactionOptions, rng: random.Random):
        options.validate()
        self.o = options
        self.rng = rng
        self.seq = [0] * options.keys

    def next_write(self, key: int, delete: bool) -> dict[str, Any]:
        self.seq[key] += 1
        return {"f": "delete" if delete else "put", "value": {"key": key, "seq": self.seq[key]}}

    def op(self, ctx: Context) -> Any:
        if self.rng.random() < self.o.read_p:
            return {"f": "read-all", "value": {"tp": self.rng.randrange(self.o.tps), "final": False}}
        return self.next_write(self.rng.randrange(self.o.keys), self.rng.random() < self.o.delete_p)

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        pass


class CompactionFinal:
    """Final phase: per topic-partition, puts and reads until the cleaner shows its work, then the final read."""

    def __init__(self, options: CompactionOptions, main: CompactionGenerator | None, rng: random.Random | None = None):
        self.o = options
        self.main = main or CompactionGenerator(options, random.Random(0))
        self.rng = rng or random.Random(1)
        self.state: dict[int, str] = {tp: "put" for tp in range(options.tps)}   # put -> read -> ... -> final -> done
        self.busy: set[int] = set()

    def _mine(self, ctx: Context) -> list[int]:
        return [tp for tp in range(self.o.tps) if tp % max(1, ctx.concurrency) == ctx.thread]

    def op(self, ctx: Context) -> Any:
        for tp in self._mine(ctx):
            st = self.state[tp]
            if st == "done" or tp in self.busy:
                continue
            waited = ctx.time >= self.o.compaction_wait_s
            if st == "put" and not waited:
                keys = [k for k in range(self.o.keys) if tp_of_key(k, self.o.tps) == tp]
                if keys:
                    return self.main.next_write(self.rng.choice(keys), False)
                self.state[tp] = st = "read"
            if st in ("put", "read") and not waited:
                return {"f": "read-all", "value": {"tp": tp, "final": False}, "time": ctx.time + 1.0}
            return {"f": "read-all", "value": {"tp": tp, "final": True}}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f, v = event.get("type"), event.get("f"), event.get("value") or {}
        if f in ("put", "delete"):
            key = v.get("key")
            tp = tp_of_key(key, self.o.tps) if key is not None else None
            if tp is not None and self.state.get(tp) == "put" and typ != "invoke":
                self.state[tp] = "read"
            return
        if f != "read-all" or "tp" not in v:
            return
        tp = int(v["tp"])
        if typ == "invoke":
            self.busy.add(tp)
            return
        self.busy.discard(tp)
        if v.get("final"):
            if typ == "ok":
                self.state[tp] = "done"
            return
        if typ == "ok" and v.get("end") is not None and int(v["end"]) - int(v.get("start") or 0) > len(v.get("records") or []):
            self.state[tp] = "final"     # the cleaner has removed offsets: take the final read
        elif self.state.get(tp) == "read":
            self.state[tp] = "put"


def _err_name(e: Any) -> str:
    return e.name() if hasattr(e, "name") else type(e).__name__


class CompactionClient(WorkloadClient):
    """One process's producer and reader (made on first use)."""

    def __init__(self, workload: "CompactionWorkload", process: int):
        super().__init__(workload, process)
        self.producer: Any = None
        self.consumer: Any = None

    def _common(self) -> dict[str, Any]:
        return common_conf(self.copts, f"{self.copts.client_id}-compaction-p{self.process}", log)

    def _producer(self) -> Any:
        if self.producer is None:
            from confluent_kafka import Producer

            c = self.copts
            conf = self._common()
            conf.update(producer_conf(c, self.o.op_timeout_s, linger_ms=0))
            if c.retries is not None:
                conf["retries"] = c.retries
            conf.update(c.extra)
            self.producer = Producer(conf)
        return self.producer

    def _consumer(self) -> Any:
        if self.consumer is None:
            from confluent_kafka import Consumer

            conf = self._common()
            conf.update(reader_conf(f"{self.w.prefix}-reader-p{self.process}"))
            conf["isolation.level"] = self.copts.isolation
            self.consumer = Consumer(conf)
        return self.consumer

    def close(self, timeout: float = 5.0) -> None:
        producer, consumer = self.producer, self.consumer
        self.producer = self.consumer = None
        close_clients(producer, [consumer], timeout, "prozess-compaction-close")

    def write(self, key: int, seq: int, tombstone: bool) -> dict[str, Any]:
        """Produces one record; returns the op's completion value with its partition and offset."""
        tp = tp_of_key(key, self.o.tps)
        topic, partition = self.w.keymap.topic_partition(tp)
        value, headers = encode_value(seq, tombstone)
        out = {"key": key, "seq": seq}
        got: dict[str, Any] = {}

        def cb(err: Any, msg: Any) -> None:
            if err is not None:
                got["error"] = err
            else:
                got["offset"] = msg.offset()

        p = self._producer()
        try:
            p.produce(topic, value=value, key=encode_key(key), partition=partition, headers=headers or None, on_delivery=cb)
        except BufferError as e:
            raise ClientOpError(FAIL, f"produce queue full: {e}") from e
        except Exception as e:
            raise ClientOpError(INFO, f"{type(e).__name__}: {e}") from e
        remaining = p.flush(self.o.op_timeout_s)
        if "offset" in got:
            off = got["offset"]
            return {**out, "tp": tp, "offset": off if off is not None and off >= 0 else None}
        err = got.get("error")
        if err is not None and not remaining and classify(CONFLUENT_OUTCOMES, _err_name(err)) == FAIL:
            raise ClientOpError(FAIL, f"{_err_name(err)}: {err}")
        raise ClientOpError(INFO, f"{_err_name(err)}: {err}" if err is not None else "no acknowledgement within the op timeout")

    def read_all(self, tp: int, final: bool) -> dict[str, Any]:
        """Every record of one topic-partition from its log start to the high watermark taken first."""
        from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

        topic, partition = self.w.keymap.topic_partition(tp)
        c = self._consumer()
        tpo = TopicPartition(topic, partition)
        try:
            low, end = c.get_watermark_offsets(tpo, timeout=self.o.op_timeout_s, cached=False)
        except Exception as e:
            raise ClientOpError(FAIL, f"watermarks: {e}") from e   # nothing read: the op did nothing
        value: dict[str, Any] = {"tp": tp, "final": final, "start": low, "end": end, "records": []}
        if end <= low:
            return value
        try:
            c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        except Exception as e:
            raise ClientOpError(FAIL, f"assign: {e}") from e
        recs: list[list[int]] = []
        last = -1
        deadline = time.monotonic() + self.o.read_timeout_s
        try:
            while last < end - 1 and time.monotonic() < deadline:
                for m in c.consume(500, 0.5):
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF and m.offset() >= end:
                            last = max(last, end - 1)
                        continue
                    if m.topic() != topic or m.partition() != partition:
                        continue
                    off = m.offset()
                    if off >= end:
                        last = max(last, off)
                        continue
                    last = max(last, off)
                    r = decode_record(off, m.key(), m.value(), m.headers())
                    if r is None:
                        recs.append([off, -1, -1])  # not ours: the checker reports it as a garbage read
                    else:
                        recs.append(read_record(r))
        finally:
            try:
                c.unassign()
            except Exception:
                pass
        value["records"] = recs
        if last < end - 1:
            raise ClientOpError(INFO, f"read stopped at offset {last}, below the end {end}, after {self.o.read_timeout_s}s", value)
        return value


class CompactionWorkload:
    """Binds options, generators and clients for the runner (the same shape as the queue workload)."""

    name = "compaction"

    def __init__(self, options: CompactionOptions, client_name: str = "confluent", client_options: ClientOptions | None = None,
                 *, concurrency: int | None = None):
        options.validate()
        require_confluent("compaction", client_name)
        self.options = options
        self.client_options = client_options or ClientOptions()
        self.prefix = options.topic_prefix
        self.keymap = KeyMap(self.prefix, options.partitions)
        self.topic_configs = options.topic_configs()
        self.main: CompactionGenerator | None = None
        self._cleaner_lock = threading.Lock()
        self._cleaner_set = False

    def generator(self, rng: random.Random) -> CompactionGenerator:
        self.main = CompactionGenerator(self.options, rng)
        return self.main

    def final_generator(self) -> CompactionFinal:
        return CompactionFinal(self.options, self.main)

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        """The topic-partition index the op touches (the topic manager creates its topic)."""
        v = op.get("value") or {}
        if "tp" in v:
            return [str(v["tp"])]
        if "key" in v:
            return [str(tp_of_key(v["key"], self.options.tps))]
        return []

    def open_client(self, process: int) -> CompactionClient:
        self._tune_cleaner()
        return CompactionClient(self, process)

    def _tune_cleaner(self) -> None:
        """Sets the brokers' cluster-wide log.cleaner.backoff.ms once (best effort: a refusal is logged)."""
        if self.options.cleaner_backoff_ms is None or self._cleaner_set:
            return
        with self._cleaner_lock:
            if self._cleaner_set:
                return
            self._cleaner_set = True
            try:
                from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

                conf = {"bootstrap.servers": self.client_options.bootstrap, "logger": log}
                conf.update(self.client_options.extra)
                admin = AdminClient(conf)
                res = ConfigResource(ResourceType.BROKER, "", incremental_configs=[
                    ConfigEntry("log.cleaner.backoff.ms", str(self.options.cleaner_backoff_ms),
                                incremental_operation=AlterConfigOpType.SET)])
                for fut in admin.incremental_alter_configs([res]).values():
                    fut.result(timeout=10)
            except Exception as e:
                log.warning("could not set log.cleaner.backoff.ms (the cleaner keeps its own pace): %s", e)

    def invoke(self, client: CompactionClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        return invoke_op("compaction", _OPS, client, op, crash="crash: client abandoned on purpose", empty={})


# f -> the client call that runs it; its return value completes the op `ok`.
_OPS: dict[str, Any] = {
    "put": lambda c, v: c.write(int(v["key"]), int(v["seq"]), False),
    "delete": lambda c, v: c.write(int(v["key"]), int(v["seq"]), True),
    "read-all": lambda c, v: c.read_all(int(v["tp"]), bool(v.get("final"))),
}


def make_workload(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions,
                  *, concurrency: int | None = None) -> CompactionWorkload:
    """The runner's entry point: a `CompactionWorkload` from test.json's workload options."""
    return CompactionWorkload(CompactionOptions.from_dict(dict(workload_options)), client_name, client_options,
                              concurrency=concurrency)
