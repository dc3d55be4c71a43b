"""The exactly-once workload: consume-transform-produce with Kafka transactions, under rebalances.

Roles, by worker thread (thread 0 first):

- producer (thread 0): appends unique increasing integers to the input topic's
  partitions with an idempotent producer;
- transformers (threads 1..N, `transformers`): one consumer group, subscribed
  with cooperative-sticky assignment; each transaction polls a batch, writes
  value*2 to the same partition of the output topic, and adds the consumed
  offsets with `send_offsets_to_transaction` — the consume-transform-produce
  loop of KIP-98/KIP-447. The commit (or, with `abort_p`, an abort) is an op
  of its own, so a read that returns output before the commit was even
  requested is visible in the history. Transformers crash (abandon their
  client, leaving the group) about every `crash_interval_s`, so the group
  rebalances while transactions are open;
- readers (the next `readers` threads): consumers assigned to every output
  partition from the beginning, reading incrementally with the client's
  isolation level (read_committed; read_uncommitted is the unsafe twin).

Ops (JSON values; see `prozess.checkers.eos` for how they are checked):

    produce       invoke [[p, v], ...]                -> ok [[p, offset, v], ...]
    transform     invoke null                          -> ok {"txn": T, "in": [[p, off, v], ...],
                         "out": [[p, off, src_p, src_off, out_v], ...], "offsets": {"p": next},
                         "assigned": {"p": committed offset at hand-over, -1 none, null unknown},
                         "revoked": [p, ...]}      (T null when nothing was polled)
                  fail: the transaction was aborted for certain (the consumer rewound);
                  info: outcome unknown, the process is replaced (its txn never commits)
    commit        invoke {"txn": T} -> ok | fail (aborted for certain) | info (unknown)
    abort         invoke {"txn": T} -> ok | info
    read-output   invoke {"final": bool} -> ok {"final": bool, "records": {"p": [[off, src_p, src_off, out_v, T]]},
                         "ends": {"p": high watermark}}   (ends on final reads)
    read-input    invoke {"final": true} -> ok {"records": {"p": [[off, v], ...]}, "ends": {...}}
    group-offsets invoke null -> ok {"offsets": {"p": committed offset}}
    crash         -> info (the client is abandoned; a transformer leaves the group)

Output record values are `"src_p src_off out_v T"` (`prozess.eos_model.encode_output`),
so every record a reader sees names its input and its transaction.

Transaction ids: `txn_id_mode="thread"` reuses one transactional.id per
worker thread, so a replacement process fences its predecessor at
`init_transactions`; `"process"` gives every process a new one, so only the
group generation (KIP-447) fences zombies.

Final phase: thread 0 reads the whole input topic (`read-input`), the
transformers keep going until the group has committed every input record (or
`drain_time_s` passes), then thread 0 reads the whole output topic with a
fresh consumer (`read-output` final) and the group's committed offsets.

The generators are pure (seeded rng, no I/O); `EosWorkload.invoke` is the
only part that talks to Kafka (confluent-kafka, imported where used).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from prozess.workloads.options import WorkloadOptions
from prozess.eos_model import decode_output, encode_output, transform_value
from prozess.generator import PENDING, Context
from prozess.workloads.clients.base import CONFLUENT_OUTCOMES, FAIL, INFO, ClientOpError, ClientOptions, KeyMap, classify

__all__ = ["EosClient", "EosFinal", "EosGenerator", "EosOptions", "EosWorkload", "Progress", "close_quietly", "make_workload",
           "produce_records", "role_of"]

log = logging.getLogger("prozess.workloads.eos")


@dataclass
class EosOptions(WorkloadOptions):
    KIND = "eos"
    """Knobs of the eos workload (test.json "workload_options")."""

    partitions: int = 4                 # partitions of the input and of the output topic
    transformers: int = 3               # N transformer processes in the consumer group
    readers: int = 2                    # read-output processes
    produce_batch: int = 4              # input records per produce op
    poll_max: int = 20                  # input records per transaction at most
    abort_p: float = 0.1                # probability that a transaction is aborted on purpose
    crash_clients: bool = True
    crash_interval_s: float = 20.0      # each transformer crashes (leaves the group) about this often
    crash_in_txn: bool = True           # a crash may abandon an open transaction (between transform and commit)
    txn_id_mode: str = "process"        # "process": new transactional.id per process; "thread": reused, fencing
    transactional: bool = True          # False: the unsafe twin — produce, then commit offsets (at-least-once)
    transaction_timeout_s: float = 10.0
    poll_timeout_s: float = 0.5
    op_timeout_s: float = 5.0
    drain_time_s: float = 40.0          # bound of the transformers' final catch-up
    final_time_limit_s: float = 70.0    # bound of the whole final phase
    topic_prefix: str = "prozess-eos"

    def validate(self) -> None:
        if not 1 <= self.partitions <= 256:
            raise ValueError(f"partitions is {self.partitions}; it must be between 1 and 256")
        if not 1 <= self.transformers <= 64:
            raise ValueError(f"transformers is {self.transformers}; it must be between 1 and 64")
        if not 0 <= self.readers <= 64:
            raise ValueError(f"readers is {self.readers}; it must be between 0 and 64")
        if not 1 <= self.produce_batch <= 1000 or not 1 <= self.poll_max <= 10000:
            raise ValueError("produce_batch and poll_max must be positive (at most 1000 and 10000)")
        if not 0 <= self.abort_p <= 1:
            raise ValueError(f"abort_p is {self.abort_p}; it must be between 0 and 1")
        if self.txn_id_mode not in ("process", "thread"):
            raise ValueError(f"txn_id_mode is {self.txn_id_mode!r}; it must be process or thread")
        if self.crash_interval_s <= 0 or self.op_timeout_s <= 0 or self.poll_timeout_s <= 0:
            raise ValueError("crash_interval_s, op_timeout_s and poll_timeout_s must be positive")
        if self.drain_time_s + self.transaction_timeout_s + 2 >= self.final_time_limit_s:
            raise ValueError(f"drain_time_s + transaction_timeout_s + 2 ({self.drain_time_s + self.transaction_timeout_s + 2}) must be "
                             f"below final_time_limit_s ({self.final_time_limit_s}), so the final reads start in time after the drain")


    @property
    def partitions_per_topic(self) -> int:
        """The runner records topics as (prefix, partitions per topic); both our topics have `partitions`."""
        return self.partitions

    def min_concurrency(self) -> int:
        return 1 + self.transformers + self.readers


def role_of(thread: int, o: EosOptions) -> str | None:
    """producer, transformer, reader or None (an idle thread) for a worker thread."""
    if thread == 0:
        return "producer"
    if thread <= o.transformers:
        return "transformer"
    if thread <= o.transformers + o.readers:
        return "reader"
    return None


# -- generators ----------------------------------------------------------------

class Progress:
    """What the generators learn from completions: open transactions and the group's committed offsets."""

    def __init__(self) -> None:
        self.open_txn: dict[Any, str] = {}            # process -> txn awaiting commit/abort
        self.offsets_of: dict[str, dict[int, int]] = {}
        self.committed: dict[int, int] = {}           # input partition -> next offset, as far as known

    def update(self, event: dict[str, Any]) -> None:
        typ, f, p, v = event.get("type"), event.get("f"), event.get("process"), event.get("value")
        if typ == "invoke":
            return
        if f == "transform" and typ == "ok" and isinstance(v, dict) and v.get("txn") is not None:
            self.open_txn[p] = v["txn"]
            self.offsets_of[v["txn"]] = {int(k): int(x) for k, x in (v.get("offsets") or {}).items()}
        elif f in ("commit", "abort"):
            self.open_txn.pop(p, None)
            tid = v.get("txn") if isinstance(v, dict) else None
            offsets = self.offsets_of.pop(tid, None) if tid is not None else None
            if typ == "ok" and f == "commit" and offsets:
                for part, nxt in offsets.items():
                    self.committed[part] = max(self.committed.get(part, 0), nxt)
        if typ == "info":
            self.open_txn.pop(p, None)


class EosGenerator:
    """The main phase: producer, transformers (transform then commit/abort, crashes) and readers.

    Shared state (as in Jepsen's generators): the next input value and, in
    `progress`, each process's open transaction and the committed offsets.
    """

    def __init__(self, options: EosOptions, rng: random.Random):
        options.validate()
        self.o = options
        self.rng = rng
        self.next_value = 1
        self.progress = Progress()
        self.next_crash: dict[int, float] = {}

    def op(self, ctx: Context) -> Any:
        role = role_of(ctx.thread, self.o)
        if role is None:
            return None
        if role == "producer":
            recs = []
            for _ in range(self.o.produce_batch):
                recs.append([self.rng.randrange(self.o.partitions), self.next_value])
                self.next_value += 1
            return {"f": "produce", "value": recs}
        if role == "reader":
            return {"f": "read-output", "value": {"final": False}}
        tid = self.progress.open_txn.get(ctx.process)
        if self.o.crash_clients and (tid is None or self.o.crash_in_txn):  # a crash may abandon an open txn
            nxt = self.next_crash.get(ctx.thread)
            if nxt is None:
                nxt = self.next_crash[ctx.thread] = ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s
            if ctx.time >= nxt:
                self.next_crash[ctx.thread] = ctx.time + self.rng.uniform(0.5, 1.5) * self.o.crash_interval_s
                return {"f": "crash", "value": None}
        if tid is not None:
            f = "abort" if self.rng.random() < self.o.abort_p else "commit"
            return {"f": f, "value": {"txn": tid}}
        return {"f": "transform", "value": None}

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.progress.update(event)


class EosFinal:
    """The final phase: read the input, let transformers drain it, then read the output and the group's offsets.

    Thread 0: read-input, then waits until the transformers are done and
    `transaction_timeout_s` (+2 s) has passed since the phase began and since
    the last transformer op that ended `info` — so that every abandoned
    transaction has been aborted and no open one holds back the last stable
    offset — then read-output (final) and group-offsets. A transformer still
    stuck in an op when the drain ends does not hold this up for longer than
    `drain_time_s` + `transaction_timeout_s` + 2 s. Transformers commit
    any open transaction, then transform and commit (never abort) until the
    committed offsets reach the input's ends or `drain_time_s` passes.
    Readers have nothing to do.
    """

    def __init__(self, options: EosOptions, progress: Progress | None = None):
        self.o = options
        self.progress = progress or Progress()
        self.ends: dict[int, int] | None = None
        self.stage0 = "read-input"
        self.transformers_done: set[int] = set()
        self.last_abandoned = 0.0     # when a transformer last abandoned a client (its txn may still be open)

    def drained(self) -> bool:
        c = self.progress.committed
        return self.ends is not None and all(c.get(p, 0) >= e for p, e in self.ends.items())

    def op(self, ctx: Context) -> Any:
        role = role_of(ctx.thread, self.o)
        draining = ctx.time < self.o.drain_time_s
        if role == "producer":
            if self.stage0 == "read-input":
                return {"f": "read-input", "value": {"final": True}}
            if self.stage0 == "wait":
                n_tr = sum(1 for t in range(ctx.concurrency) if role_of(t, self.o) == "transformer")
                settled = ctx.time >= max(0.0, self.last_abandoned) + self.o.transaction_timeout_s + 2
                # A transformer stuck in an op past the drain counts as abandoned then (its txn times out).
                given_up = ctx.time >= self.o.drain_time_s + self.o.transaction_timeout_s + 2
                if (len(self.transformers_done) >= n_tr and settled) or given_up:
                    self.stage0 = "read-output"
                else:
                    return PENDING
            if self.stage0 == "read-output":
                return {"f": "read-output", "value": {"final": True}}
            if self.stage0 == "group-offsets":
                return {"f": "group-offsets", "value": None}
            return None
        if role == "transformer":
            tid = self.progress.open_txn.get(ctx.process)
            if tid is not None:
                return {"f": "commit", "value": {"txn": tid}}
            if ctx.thread in self.transformers_done:
                return None
            if self.drained() or not draining:
                self.transformers_done.add(ctx.thread)
                return None
            return {"f": "transform", "value": None}
        return None

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        self.progress.update(event)
        typ, f, v = event.get("type"), event.get("f"), event.get("value")
        if typ == "invoke":
            return
        if typ == "info" and f in ("transform", "commit", "abort"):
            self.last_abandoned = ctx.time
        if f == "read-input" and typ == "ok" and isinstance(v, dict):
            self.ends = {int(k): int(e) for k, e in (v.get("ends") or {}).items()}
            self.stage0 = "wait"
        elif f == "read-output" and typ == "ok" and isinstance(v, dict) and v.get("final"):
            self.stage0 = "group-offsets"
        elif f == "group-offsets" and typ == "ok":
            self.stage0 = "done"


# -- the Kafka side ----------------------------------------------------------------

def _err_name(e: BaseException) -> tuple[Any, str]:
    from confluent_kafka import KafkaException

    err = e.args[0] if isinstance(e, KafkaException) and e.args else None
    if err is not None and hasattr(err, "name"):
        return err, f"{err.name()}: {err.str()}"
    return None, f"{type(e).__name__}: {e}"


def produce_records(producer: Any, topic: str, recs: list[list[int]], timeout: float) -> list[list[Any]]:
    """Sends [p, v] records (value v to partition p), waits for acknowledgements; returns [[p, offset, v], ...].

    `fail` only when nothing was acknowledged and every error proves the send
    never happened; otherwise an error is `info`, carrying the offsets known.
    """
    done: list[list[Any]] = [[p, None, v] for p, v in recs]
    errors: list[Any] = []
    for i, (p, v) in enumerate(recs):
        def cb(err: Any, msg: Any, i: int = i) -> None:
            if err is not None:
                errors.append(err)
            else:
                done[i][1] = msg.offset()
        try:
            producer.produce(topic, value=str(v).encode(), key=str(p).encode(), partition=p, on_delivery=cb)
        except BufferError as e:
            errors.append(e)
    remaining = producer.flush(timeout)
    if not errors and not remaining and all(d[1] is not None for d in done):
        return done
    descs = "; ".join(sorted({str(e) for e in errors}))[:500]
    if not remaining and all(d[1] is None for d in done) and errors and all(
            isinstance(e, BufferError) or (hasattr(e, "name") and classify(CONFLUENT_OUTCOMES, e.name()) == FAIL) for e in errors):
        raise ClientOpError(FAIL, descs)
    raise ClientOpError(INFO, f"{len(errors)} error(s), {remaining} unacknowledged: {descs}", done)


def common_conf(copts: ClientOptions, client_id: str, logger: Any) -> dict[str, Any]:
    """Settings every confluent client of the eos and group workloads starts from (user properties win)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": copts.bootstrap,
        "client.id": client_id,
        "socket.timeout.ms": max(1000, int(copts.timeout_s * 1000)),
        "logger": logger,
    }
    conf.update(copts.extra)
    return conf


def close_quietly(consumer: Any) -> None:
    try:
        consumer.close()
    except Exception:
        pass


class EosClient:
    """One process's Kafka clients, made on first use for the role its first op implies."""

    def __init__(self, workload: "EosWorkload", process: int):
        self.w = workload
        self.o = workload.options
        self.copts = workload.client_options
        self.process = process
        self.producer: Any = None        # input producer, or the transformer's transactional producer
        self.consumer: Any = None        # the transformer's group consumer
        self.readers: dict[str, Any] = {}  # role -> assigned consumer (reader, final-reader, input-reader, offsets)
        self.role: str | None = None     # producer or transformer, once chosen
        self.txn_seq = 0
        self.txn: dict[str, Any] | None = None   # the open transaction: id, first offsets consumed
        self.events: dict[str, Any] = {"assigned": {}, "revoked": []}

    # -- configuration --
    def _common(self) -> dict[str, Any]:
        return common_conf(self.copts, f"{self.copts.client_id}-eos-p{self.process}", log)

    def _producer_conf(self, transactional: bool) -> dict[str, Any]:
        c = self.copts
        ms = int(self.o.op_timeout_s * 1000)
        if transactional:  # librdkafka: a message may not outlive its transaction
            ms = min(ms, int(self.o.transaction_timeout_s * 1000))
        conf = self._common()
        conf.update({
            "acks": "all" if transactional or c.acks == "-1" else c.acks,  # transactions need acks=all
            "enable.idempotence": True if transactional else c.idempotence,
            "linger.ms": 5,
            "message.timeout.ms": ms,
            "request.timeout.ms": max(1000, ms - 500),
        })
        if c.retries is not None and not transactional:
            conf["retries"] = c.retries
        if transactional:
            if self.o.txn_id_mode == "thread":
                tid = f"{self.w.prefix}-txn-t{self.process % self.w.concurrency_hint}"
            else:
                tid = f"{self.w.prefix}-txn-p{self.process}"
            conf["transactional.id"] = tid
            conf["transaction.timeout.ms"] = int(self.o.transaction_timeout_s * 1000)
        return conf

    def _open(self, role: str) -> Any:
        """The client for `role`, made on first use; producer and transformer exclude each other."""
        if role in self.readers:
            return self.readers[role]
        if role in ("producer", "transformer"):
            if self.role == role:
                return None
            if self.role is not None:
                raise ClientOpError(FAIL, f"process {self.process} is a {self.role}; it cannot act as a {role}")
        from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

        try:
            if role == "producer":
                self.producer = Producer(self._producer_conf(False))
                self.role = role
            elif role == "transformer":
                conf = self._common()
                conf.update({
                    "group.id": self.w.group_id,
                    "partition.assignment.strategy": "cooperative-sticky",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "session.timeout.ms": 6000,
                    "heartbeat.interval.ms": 1000,
                    "max.poll.interval.ms": 60000,
                    "fetch.wait.max.ms": 50,
                })
                self.consumer = Consumer(conf)
                self.producer = Producer(self._producer_conf(self.o.transactional))
                if self.o.transactional:
                    self.producer.init_transactions(self.o.op_timeout_s)
                self.consumer.subscribe([self.w.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                        on_lost=self._on_revoke)
                self.role = role
            else:
                conf = self._common()
                conf.update({
                    "group.id": f"{self.w.group_id}-reader-p{self.process}" if role != "offsets" else self.w.group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": self.copts.isolation if role != "input-reader" else "read_committed",
                    "fetch.wait.max.ms": 50,
                    "enable.partition.eof": True,
                })
                consumer = Consumer(conf)
                self.readers[role] = consumer
                if role != "offsets":
                    topic = self.w.input_topic if role == "input-reader" else self.w.output_topic
                    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.o.partitions)])
                return consumer
        except Exception as e:
            self.close(1.0)
            raise ClientOpError(INFO, f"opening {role}: {_err_name(e)[1]}") from e
        return None

    def _on_assign(self, consumer: Any, parts: list[Any]) -> None:
        """Records the group's committed offset of each partition handed over: where this owner must resume."""
        try:
            got = consumer.committed(parts, timeout=min(self.o.op_timeout_s, 3.0))
            for tp in got:
                self.events["assigned"][str(tp.partition)] = (tp.offset if tp.offset >= 0 else -1) if tp.error is None else None
        except Exception:
            for tp in parts:
                self.events["assigned"][str(tp.partition)] = None

    def _on_revoke(self, consumer: Any, parts: list[Any]) -> None:
        self.events["revoked"].extend(tp.partition for tp in parts)

    def close(self, timeout: float = 5.0) -> None:
        """Abandons the clients (a crash: open transactions are left to time out or be fenced)."""
        producer, consumers = self.producer, [self.consumer, *self.readers.values()]
        self.producer = self.consumer = None
        self.readers = {}
        if producer is not None:
            try:
                if self.role == "producer":
                    producer.flush(min(timeout, 1.0))
                producer.purge()
                producer.flush(0)
            except Exception:
                pass
        threads = []
        for consumer in consumers:
            if consumer is not None:
                t = threading.Thread(target=close_quietly, args=(consumer,), daemon=True, name="prozess-eos-close")
                t.start()
                threads.append(t)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # -- ops --
    def produce(self, recs: list[list[int]]) -> list[list[Any]]:
        self._open("producer")
        return produce_records(self.producer, self.w.input_topic, recs, self.o.op_timeout_s)

    def transform(self) -> dict[str, Any]:
        self._open("transformer")
        c, p = self.consumer, self.producer
        try:
            msgs = c.consume(self.o.poll_max, self.o.poll_timeout_s)
        except Exception as e:
            raise ClientOpError(INFO, f"poll: {_err_name(e)[1]}") from e
        value: dict[str, Any] = {"txn": None, "in": [], "out": [], "offsets": {}}
        ev, self.events = self.events, {"assigned": {}, "revoked": []}
        value["assigned"], value["revoked"] = ev["assigned"], sorted(ev["revoked"])
        ins = []
        for m in msgs:
            if m.error() is not None:
                continue  # partition EOF and transient errors carry no record
            ins.append([m.partition(), m.offset(), int(m.value())])
        if not ins:
            return value
        tid = f"{self.process}.{self.txn_seq}"
        self.txn_seq += 1
        first: dict[int, int] = {}
        nxt: dict[int, int] = {}
        for part, off, _ in ins:
            first.setdefault(part, off)
            nxt[part] = off + 1
        value.update({"txn": tid, "in": ins, "offsets": {str(k): n for k, n in sorted(nxt.items())}})
        self.txn = {"txn": tid, "first": first, "next": nxt}
        if not self.o.transactional:
            return self._transform_without_transaction(value, ins)
        outs: list[list[Any]] = []
        try:
            p.begin_transaction()
            outs, errors, remaining = self._produce_outputs(ins, tid)
            value["out"] = outs
            if errors or remaining:
                raise _TxnError(f"{len(errors)} produce error(s), {remaining} unacknowledged: "
                                + "; ".join(sorted({str(e) for e in errors}))[:300])
            from confluent_kafka import TopicPartition

            tps = [TopicPartition(self.w.input_topic, part, n) for part, n in sorted(nxt.items())]
            p.send_offsets_to_transaction(tps, c.consumer_group_metadata(), self.o.op_timeout_s)
        except Exception as e:
            value["out"] = outs
            self._abort_after(e, value)
        return value

    def _produce_outputs(self, ins: list[list[int]], tid: str) -> tuple[list[list[Any]], list[Any], int]:
        """Produces the transform of every input record; returns (outputs with offsets, errors, unacknowledged)."""
        p = self.producer
        outs: list[list[Any]] = []
        errors: list[Any] = []
        for i, (part, off, v) in enumerate(ins):
            out_v = transform_value(v)
            outs.append([part, None, part, off, out_v])

            def cb(err: Any, msg: Any, i: int = i) -> None:
                if err is not None:
                    errors.append(err)
                else:
                    outs[i][1] = msg.offset()
            p.produce(self.w.output_topic, value=encode_output(part, off, out_v, tid), key=str(part).encode(),
                      partition=part, on_delivery=cb)
        remaining = p.flush(self.o.op_timeout_s)
        return outs, errors, remaining

    def _transform_without_transaction(self, value: dict[str, Any], ins: list[list[int]]) -> dict[str, Any]:
        """The at-least-once twin: outputs are visible at once; `commit` then commits the input offsets."""
        try:
            outs, errors, remaining = self._produce_outputs(ins, value["txn"])
        except Exception as e:
            raise ClientOpError(INFO, f"produce: {_err_name(e)[1]}", value) from e
        value["out"] = outs
        if errors or remaining:
            raise ClientOpError(INFO, f"{len(errors)} produce error(s), {remaining} unacknowledged", value)
        return value

    def _abort_after(self, e: BaseException, value: Any) -> None:
        """Aborts the open transaction after an error: `fail` when certainly aborted and rewound, else `info`."""
        err, desc = _err_name(e) if not isinstance(e, _TxnError) else (None, str(e))
        if err is not None and hasattr(err, "fatal") and err.fatal():
            raise ClientOpError(INFO, f"fatal: {desc}", value) from e
        try:
            self.producer.abort_transaction(self.o.op_timeout_s)
        except Exception as e2:
            raise ClientOpError(INFO, f"{desc}; abort failed: {_err_name(e2)[1]}", value) from e
        self._rewind()
        raise ClientOpError(FAIL, f"aborted: {desc}", value) from e

    def _rewind(self) -> None:
        """Seeks back to the first offset the aborted transaction consumed, for partitions still assigned."""
        from confluent_kafka import TopicPartition

        txn, self.txn = self.txn, None
        if not txn:
            return
        assigned = {tp.partition for tp in self.consumer.assignment()}
        for part, off in txn["first"].items():
            if part in assigned:
                try:
                    self.consumer.seek(TopicPartition(self.w.input_topic, part, off))
                except Exception as e:  # the position is unknown now: this client cannot go on safely
                    raise ClientOpError(INFO, f"aborted, but rewinding partition {part} failed: {_err_name(e)[1]}") from e

    def commit(self, tid: str) -> None:
        if self.txn is None or self.txn["txn"] != tid:
            raise ClientOpError(FAIL, f"no open transaction {tid} in process {self.process}")
        if not self.o.transactional:
            self._commit_offsets()
            return
        try:
            self.producer.commit_transaction(self.o.op_timeout_s)
            self.txn = None
        except Exception as e:
            err, desc = _err_name(e)
            if err is not None and hasattr(err, "txn_requires_abort") and err.txn_requires_abort():
                try:
                    self.producer.abort_transaction(self.o.op_timeout_s)
                except Exception as e2:
                    raise ClientOpError(INFO, f"{desc}; abort failed: {_err_name(e2)[1]}") from e
                self._rewind()
                raise ClientOpError(FAIL, f"aborted: {desc}") from e
            raise ClientOpError(INFO, desc) from e

    def _commit_offsets(self) -> None:
        """At-least-once: commits the consumed input offsets with the consumer (outputs are already visible)."""
        from confluent_kafka import TopicPartition

        txn, self.txn = self.txn, None
        tps = [TopicPartition(self.w.input_topic, part, n) for part, n in sorted(txn["next"].items())]
        try:
            got = self.consumer.commit(offsets=tps, asynchronous=False)
        except Exception as e:
            raise ClientOpError(INFO, f"commit offsets: {_err_name(e)[1]}") from e
        bad = [tp for tp in got or [] if tp.error is not None]
        if bad:
            raise ClientOpError(INFO, "; ".join(f"partition {tp.partition}: {tp.error.name()}" for tp in bad))

    def abort(self, tid: str) -> None:
        if self.txn is None or self.txn["txn"] != tid:
            raise ClientOpError(FAIL, f"no open transaction {tid} in process {self.process}")
        if not self.o.transactional:  # the outputs stay visible; only the consumer goes back
            self._rewind()
            return
        try:
            self.producer.abort_transaction(self.o.op_timeout_s)
        except Exception as e:
            raise ClientOpError(INFO, f"abort: {_err_name(e)[1]}") from e
        self._rewind()

    def _read(self, role: str, final: bool, decode: Any) -> dict[str, Any]:
        """Reads the assigned partitions: what is there now (a non-final read), or to the end (final).

        A final read stops once every partition has reported its end and one
        more round brought nothing new; `ends` is the consumer's position per
        partition, i.e. exactly how far it read.
        """
        from confluent_kafka import KafkaError, TopicPartition

        c = self._open(role)
        recs: dict[str, list] = {}
        eof: set[int] = set()
        limit = self.o.op_timeout_s * 4 if final else self.o.poll_timeout_s
        deadline = time.monotonic() + limit
        wait = self.o.poll_timeout_s
        quiet = 0
        for _ in range(100_000):
            msgs = c.consume(1000, wait)
            got = 0
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                    continue
                got += 1
                eof.discard(m.partition())
                recs.setdefault(str(m.partition()), []).append(decode(m))
            if final:
                quiet = quiet + 1 if (not got and len(eof) >= self.o.partitions) else 0
                if quiet >= 2:
                    break
                if time.monotonic() >= deadline:
                    raise ClientOpError(INFO, f"final read did not reach the end of partitions "
                                        f"{sorted(set(range(self.o.partitions)) - eof)} in {limit:.0f}s",
                                        {"final": True, "records": recs})
                continue
            if not got or time.monotonic() >= deadline:
                break
            wait = 0
        value: dict[str, Any] = {"final": final, "records": recs}
        if final:
            topic = self.w.input_topic if role == "input-reader" else self.w.output_topic
            pos = c.position([TopicPartition(topic, p) for p in range(self.o.partitions)])
            value["ends"] = {str(tp.partition): max(tp.offset, 0) for tp in pos}
        return value

    def read_output(self, final: bool) -> dict[str, Any]:
        def decode(m: Any) -> list:
            src_p, src_off, out_v, tid = decode_output(m.value())
            return [m.offset(), src_p, src_off, out_v, tid]

        return self._read("final-reader" if final else "reader", final, decode)

    def read_input(self) -> dict[str, Any]:
        v = self._read("input-reader", True, lambda m: [m.offset(), int(m.value())])
        return {"records": v["records"], "ends": v["ends"]}

    def group_offsets(self) -> dict[str, Any]:
        from confluent_kafka import TopicPartition

        c = self._open("offsets")
        tps = [TopicPartition(self.w.input_topic, p) for p in range(self.o.partitions)]
        try:
            got = c.committed(tps, timeout=self.o.op_timeout_s)
        except Exception as e:
            raise ClientOpError(FAIL, f"committed: {_err_name(e)[1]}") from e  # a read: no effect either way
        return {"offsets": {str(tp.partition): tp.offset for tp in got if tp.offset >= 0 and tp.error is None}}


class _TxnError(Exception):
    """Produce errors inside a transaction: the transaction must abort."""


# -- the workload -------------------------------------------------------------------

class EosWorkload:
    """Binds options, generators and clients for the runner (the same shape as the queue workload).

    Topics: keys "0".."P-1" are the input topic's partitions and "P".."2P-1"
    the output topic's (one `KeyMap` topic each), so the runner's topic
    manager creates both with the run's replication factor and min ISR.
    """

    name = "eos"

    def __init__(self, options: EosOptions, client_name: str = "confluent", client_options: ClientOptions | None = None,
                 *, concurrency: int | None = None):
        options.validate()
        if client_name != "confluent":
            raise ValueError(f"the eos workload needs the confluent client (librdkafka's transactional consumer-group API); got {client_name!r}")
        self.options = options
        self.client_options = client_options or ClientOptions()
        self.concurrency_hint = concurrency or options.min_concurrency()
        if self.concurrency_hint < options.min_concurrency():
            raise ValueError(f"the eos workload needs concurrency >= {options.min_concurrency()} "
                             f"(1 producer + {options.transformers} transformers + {options.readers} readers); "
                             f"got {self.concurrency_hint}")
        # Fresh topics per run: the runner may set topic_prefix itself; else the run's group id makes it unique.
        run = self.client_options.group_id.replace("_", "-").lower()
        default = type(options)().topic_prefix
        self.prefix = f"{options.topic_prefix}-{run}" if options.topic_prefix == default and run != "prozess" else options.topic_prefix
        self.keymap = KeyMap(self.prefix, options.partitions)
        self.input_topic = self.keymap.topic_name(0)
        self.output_topic = self.keymap.topic_name(1)
        self.group_id = f"{self.prefix}-transformers"
        self.main: EosGenerator | None = None

    def generator(self, rng: random.Random) -> EosGenerator:
        self.main = EosGenerator(self.options, rng)
        return self.main

    def final_generator(self) -> EosFinal:
        return EosFinal(self.options, self.main.progress if self.main else None)

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        """Every op needs both topics (the runner's topic manager creates them once)."""
        return [str(k) for k in range(2 * self.options.partitions)]

    def open_client(self, process: int) -> EosClient:
        return EosClient(self, process)

    def invoke(self, client: EosClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        """Runs one op; returns (type, value, error). Never raises for Kafka errors."""
        f, value = op["f"], op.get("value")
        try:
            if f == "produce":
                return "ok", client.produce(value), None
            if f == "transform":
                return "ok", client.transform(), None
            if f == "commit":
                client.commit(value["txn"])
                return "ok", value, None
            if f == "abort":
                client.abort(value["txn"])
                return "ok", value, None
            if f == "read-output":
                return "ok", client.read_output(bool((value or {}).get("final"))), None
            if f == "read-input":
                return "ok", client.read_input(), None
            if f == "group-offsets":
                return "ok", client.group_offsets(), None
            if f == "crash":
                return "info", value, "crash: client abandoned on purpose"
        except ClientOpError as e:
            if e.value is not None:
                return e.outcome, e.value, e.error
            return e.outcome, value, e.error
        raise ValueError(f"eos workload has no op {f!r}")


def make_workload(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions,
                  *, concurrency: int | None = None) -> EosWorkload:
    """The runner's entry point: an `EosWorkload` from test.json's workload options."""
    return EosWorkload(EosOptions.from_dict(dict(workload_options)), client_name, client_options, concurrency=concurrency)
