"""The queue client on kafka-python (pure Python): the second client library.

Same contract as the confluent client (see `prozess.workloads.clients.base`).
Sends are asynchronous `send()` futures, then one wait bounded by the op's
timeout. kafka-python's transactional calls (`commit_transaction`,
`abort_transaction`, `send_offsets_to_transaction`) wait without a bound, so
this module drives the producer's transaction manager directly and waits on
its result with the op's timeout: a hung coordinator becomes `info`, never a
hung worker.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prozess.workloads.clients.base import (
    FAIL,
    INFO,
    KAFKA_PYTHON_OUTCOMES,
    ClientOpError,
    ClientOptions,
    KeyMap,
    classify,
)

__all__ = ["KafkaPythonClient", "exception_outcome"]

log = logging.getLogger("prozess.client.kafka_python")

MAX_RECORDS = 1000


def exception_outcome(e: BaseException) -> tuple[str, str]:
    """(outcome, description) for a kafka-python exception."""
    name = type(e).__name__
    return classify(KAFKA_PYTHON_OUTCOMES, name), f"{name}: {e}"


def _security(extra: dict[str, str]) -> dict[str, Any]:
    """Java-style client properties (security.protocol, sasl.mechanism, ...) as kafka-python keywords."""
    out: dict[str, Any] = {}
    for k, v in extra.items():
        out[k.replace(".", "_")] = v
    return out


class KafkaPythonClient:
    """A producer and a consumer of one process, on kafka-python."""

    def __init__(self, options: ClientOptions, keymap: KeyMap):
        options.validate()
        self.options = options
        self.keymap = keymap
        self.producer: Any = None
        self.consumer: Any = None
        self.subscribed = False

    def open(self) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        o = self.options
        timeout_ms = int(o.timeout_s * 1000)
        acks: Any = {"0": 0, "1": 1, "all": "all", "-1": "all"}[o.acks]
        common = {
            "bootstrap_servers": o.bootstrap.split(","),
            "client_id": o.client_id,
            "request_timeout_ms": max(1000, timeout_ms - 500),
        }
        common.update(_security(o.extra))
        pconf: dict[str, Any] = dict(common)
        pconf.update({
            "acks": acks,
            "enable_idempotence": o.idempotence,
            "linger_ms": 0,
            "max_block_ms": timeout_ms,
            "delivery_timeout_ms": timeout_ms,
        })
        if o.retries is not None:
            pconf["retries"] = o.retries
        if o.transactions:
            pconf["transactional_id"] = o.transactional_id or f"{o.client_id}-txn"
            pconf["transaction_timeout_ms"] = max(timeout_ms * 2, 10000)
        cconf: dict[str, Any] = dict(common)
        cconf.update({
            "group_id": o.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": o.auto_offset_reset,
            "isolation_level": o.isolation,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
            "fetch_max_wait_ms": 50,
        })
        try:
            self.producer = KafkaProducer(**pconf)
            self.consumer = KafkaConsumer(**cconf)
            if o.transactions:
                self.producer.init_transactions()
        except Exception as e:
            self.close()
            raise ClientOpError(*exception_outcome(e)) from e

    def close(self, timeout: float = 5.0) -> None:
        producer, consumer = self.producer, self.consumer
        self.producer = self.consumer = None
        if producer is not None:
            try:
                producer.close(timeout=min(timeout, 1.0), null_logger=True)
            except Exception:
                pass
        if consumer is not None:
            try:
                consumer.close(autocommit=False, timeout_ms=int(timeout * 1000))
            except Exception:
                pass

    # -- ops -----------------------------------------------------------------
    def _produce(self, mops: list[list[Any]]) -> tuple[list[list[Any]], list[Any]]:
        done: list[list[Any]] = []
        futures: list[Any] = []
        for mop in mops:
            _, k, v = mop
            done.append(["send", k, [None, v]])
            topic, part = self.keymap.topic_partition(k)
            try:
                futures.append(self.producer.send(topic, value=str(v).encode(), key=str(k).encode(), partition=part))
            except Exception as e:
                futures.append(e)
        return done, futures

    def _await(self, done: list[list[Any]], futures: list[Any], timeout: float) -> list[list[Any]]:
        deadline = time.monotonic() + timeout
        outcomes: list[tuple[str, str]] = []
        pending = 0
        for d, fut in zip(done, futures):
            if isinstance(fut, BaseException):
                outcomes.append(exception_outcome(fut))
                continue
            try:
                md = fut.get(timeout=max(0.0, deadline - time.monotonic()))
                d[2][0] = md.offset if md.offset is not None and md.offset >= 0 else None
            except Exception as e:
                name = type(e).__name__
                if name == "KafkaTimeoutError" and not fut.is_done:
                    pending += 1
                outcomes.append(exception_outcome(e))
        if not outcomes:
            return done  # with acks=0 the offsets stay None: delivered, position unknown
        acked = len(done) - len(outcomes)
        if outcomes and acked == 0 and pending == 0 and all(o == FAIL for o, _ in outcomes):
            raise ClientOpError(FAIL, "; ".join(sorted({d for _, d in outcomes})))
        raise ClientOpError(INFO, "; ".join(sorted({d for _, d in outcomes})) or "unacknowledged", done)

    def send(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]:
        done, futures = self._produce(mops)
        return self._await(done, futures, timeout)

    def _poll_once(self, timeout: float) -> dict[str, list[list[int]]]:
        out: dict[str, list[list[int]]] = {}
        batches = self.consumer.poll(timeout_ms=int(timeout * 1000), max_records=MAX_RECORDS)
        key_of = self.keymap.key_of
        for tp, records in batches.items():
            k = key_of(tp.topic, tp.partition)
            if k is None:
                continue
            lst = out.setdefault(k, [])
            for r in records:
                lst.append([r.offset, int(r.value)])
        for k in out:
            out[k].sort()
        return out

    def poll(self, timeout: float) -> dict[str, list[list[int]]]:
        if self.consumer is None:
            raise ClientOpError(FAIL, "client is closed")
        try:
            out = self._poll_once(timeout)
        except Exception as e:
            raise ClientOpError(FAIL, exception_outcome(e)[1]) from e  # a poll changes nothing on the broker
        if self.subscribed and out:
            try:
                self.consumer.commit(timeout_ms=int(self.options.timeout_s * 1000))
            except Exception as e:
                raise ClientOpError(INFO, exception_outcome(e)[1]) from e
        return out

    def _txn_wait(self, start: str, timeout: float, *args: Any) -> None:
        """Runs a transactional step (commit, abort, offsets) and waits at most `timeout`."""
        from kafka.errors import KafkaTimeoutError

        p = self.producer
        tm = getattr(p, "_transaction_manager", None)
        sender = getattr(p, "_sender", None)
        if tm is None or sender is None:  # unknown internals: fall back to the public, unbounded call
            {"begin_commit": p.commit_transaction, "begin_abort": p.abort_transaction,
             "send_offsets_to_transaction": p.send_offsets_to_transaction}[start](*args)
            return
        result = getattr(tm, start)(*args)
        sender.wakeup()
        if not result.wait(timeout_ms=int(timeout * 1000)):
            raise KafkaTimeoutError(f"{start} did not finish in {timeout:.1f}s")

    def txn(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]:
        if not self.options.transactions:
            out: list[list[Any]] = []
            for mop in mops:
                if mop[0] == "send":
                    out.append(self.send([mop], timeout)[0])
                else:
                    out.append(["poll", self.poll(min(timeout, 0.5))])
            return out
        c = self.consumer
        positions = {tp: c.position(tp) for tp in c.assignment()}
        try:
            self.producer.begin_transaction()
        except Exception as e:
            raise ClientOpError(*exception_outcome(e)) from e
        out = []
        futures: list[Any] = []
        done_sends: list[list[Any]] = []
        try:
            for mop in mops:
                if mop[0] == "send":
                    d, f = self._produce([mop])
                    out.append(d[0])
                    done_sends.extend(d)
                    futures.extend(f)
                else:
                    out.append(["poll", self._poll_once(min(timeout / 4, 0.5))])
            for f in futures:
                if isinstance(f, BaseException):
                    raise f
            if self.subscribed and c.assignment():
                from kafka.structs import OffsetAndMetadata

                offsets = {tp: OffsetAndMetadata(c.position(tp), "", -1) for tp in c.assignment()}
                self._txn_wait("send_offsets_to_transaction", timeout, offsets, c.group_metadata())
            self._txn_wait("begin_commit", timeout)
            for d, f in zip(done_sends, futures):
                md = f.get(timeout=0.1)
                d[2][0] = md.offset
        except Exception as e:
            self._abort(e, positions, timeout)
        return out

    def _abort(self, e: BaseException, positions: dict[Any, int], timeout: float) -> None:
        desc = exception_outcome(e)[1]
        if type(e).__name__ == "KafkaTimeoutError":
            raise ClientOpError(INFO, desc) from e  # the commit may still land
        try:
            self._txn_wait("begin_abort", timeout)
        except Exception as e2:
            raise ClientOpError(INFO, f"{desc}; abort failed: {exception_outcome(e2)[1]}") from e
        try:
            for tp, off in positions.items():
                self.consumer.seek(tp, off)
        except Exception as e3:
            raise ClientOpError(INFO, f"{desc}; aborted, but rewinding the consumer failed: {e3}") from e
        raise ClientOpError(FAIL, f"aborted: {desc}") from e

    def assign(self, keys: list[str], *, seek_to_beginning: bool = False, timeout: float = 5.0) -> None:
        from kafka.structs import TopicPartition

        c = self.consumer
        try:
            if self.subscribed:
                c.unsubscribe()
                self.subscribed = False
            kept: dict[Any, int] = {}
            if not seek_to_beginning:
                for tp in c.assignment():
                    try:
                        kept[tp] = c.position(tp, timeout_ms=int(timeout * 1000))
                    except Exception:
                        pass
            tps = [TopicPartition(*self.keymap.topic_partition(k)) for k in keys]
            c.assign(tps)
            if seek_to_beginning:
                if tps:
                    c.seek_to_beginning(*tps)
            else:
                for tp in tps:
                    if kept.get(tp) is not None:
                        c.seek(tp, kept[tp])
        except Exception as e:
            raise ClientOpError(FAIL, exception_outcome(e)[1]) from e

    def subscribe(self, keys: list[str], timeout: float = 5.0) -> None:
        topics = sorted({self.keymap.topic_partition(k)[0] for k in keys})
        try:
            self.consumer.subscribe(topics)
            self.subscribed = True
        except Exception as e:
            raise ClientOpError(FAIL, exception_outcome(e)[1]) from e
