"""The eos workload's client: one process's Kafka clients and the ops they run (the only part that talks to Kafka).

A process becomes a producer or a transformer with its first op (they exclude each
other) and opens readers on demand. A transformer runs the consume-transform-produce
loop of KIP-98/KIP-447 inside a transaction; an error aborts it and rewinds the
consumer (`fail`) when that is certain, else the op is `info`. confluent_kafka is
imported where used.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prozess.eos_model import decode_output, encode_output, transform_value
from prozess.workloads.adapter import WorkloadClient
from prozess.workloads.clients.base import FAIL, INFO, ClientOpError
from prozess.workloads.kafka_io import close_clients, common_conf, error_desc, produce_records, reader_conf

__all__ = ["EosClient"]

log = logging.getLogger("prozess.workloads.eos")


class EosClient(WorkloadClient):
    """One process's Kafka clients, made on first use for the role its first op implies."""

    def __init__(self, workload: Any, process: int):  # an EosWorkload (not imported: it imports this module)
        super().__init__(workload, process)
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
                conf.update(reader_conf(f"{self.w.group_id}-reader-p{self.process}" if role != "offsets" else self.w.group_id))
                conf["isolation.level"] = self.copts.isolation if role != "input-reader" else "read_committed"
                consumer = Consumer(conf)
                self.readers[role] = consumer
                if role != "offsets":
                    topic = self.w.input_topic if role == "input-reader" else self.w.output_topic
                    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.o.partitions)])
                return consumer
        except Exception as e:
            self.close(1.0)
            raise ClientOpError(INFO, f"opening {role}: {error_desc(e)[1]}") from e
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
        close_clients(producer, consumers, timeout, "prozess-eos-close", flush=self.role == "producer", purge=True)

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
            raise ClientOpError(INFO, f"poll: {error_desc(e)[1]}") from e
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
            raise ClientOpError(INFO, f"produce: {error_desc(e)[1]}", value) from e
        value["out"] = outs
        if errors or remaining:
            raise ClientOpError(INFO, f"{len(errors)} produce error(s), {remaining} unacknowledged", value)
        return value

    def _abort_after(self, e: BaseException, value: Any) -> None:
        """Aborts the open transaction after an error: `fail` when certainly aborted and rewound, else `info`."""
        err, desc = error_desc(e) if not isinstance(e, _TxnError) else (None, str(e))
        if err is not None and hasattr(err, "fatal") and err.fatal():
            raise ClientOpError(INFO, f"fatal: {desc}", value) from e
        try:
            self.producer.abort_transaction(self.o.op_timeout_s)
        except Exception as e2:
            raise ClientOpError(INFO, f"{desc}; abort failed: {error_desc(e2)[1]}", value) from e
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
                    raise ClientOpError(INFO, f"aborted, but rewinding partition {part} failed: {error_desc(e)[1]}") from e

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
            err, desc = error_desc(e)
            if err is not None and hasattr(err, "txn_requires_abort") and err.txn_requires_abort():
                try:
                    self.producer.abort_transaction(self.o.op_timeout_s)
                except Exception as e2:
                    raise ClientOpError(INFO, f"{desc}; abort failed: {error_desc(e2)[1]}") from e
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
            raise ClientOpError(INFO, f"commit offsets: {error_desc(e)[1]}") from e
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
            raise ClientOpError(INFO, f"abort: {error_desc(e)[1]}") from e
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
            raise ClientOpError(FAIL, f"committed: {error_desc(e)[1]}") from e  # a read: no effect either way
        return {"offsets": {str(tp.partition): tp.offset for tp in got if tp.offset >= 0 and tp.error is None}}


class _TxnError(Exception):
    """Produce errors inside a transaction: the transaction must abort."""
