"""The queue client on confluent-kafka (librdkafka): prozess's default client.

Sends are non-blocking `produce` calls with a delivery callback each, then one
`flush(timeout)`: a multi-send op costs one round of acknowledgements, not
one per message. Polls take the first message with `poll(timeout)` and then
drain what librdkafka already fetched with `consume(n, 0)`, so a poll returns
as soon as data is there. Transactions use the producer's transactional API;
an aborted transaction rewinds the consumer to where it stood, so a `fail`
really left no trace.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prozess.workloads.clients.base import (
    CONFLUENT_OUTCOMES,
    FAIL,
    INFO,
    ClientOpError,
    ClientOptions,
    KeyMap,
    classify,
)

__all__ = ["ConfluentClient", "error_outcome"]

log = logging.getLogger("prozess.client.confluent")

MAX_DRAIN = 1000
_MISSING = object()  # messages taken from librdkafka's buffer per poll op


#: consumer errors about the records themselves (a batch that fails its CRC, cannot be
#: decompressed or parsed): librdkafka skips them, so a poll that meets one is recorded
#: with the error even when it delivered other records
DAMAGED_DATA_ERRORS = frozenset({"_BAD_MSG", "_BAD_COMPRESSION", "CORRUPT_MESSAGE", "INVALID_RECORD"})


def error_outcome(err: Any) -> tuple[str, str]:
    """(outcome, description) for a confluent KafkaError."""
    name = err.name() if hasattr(err, "name") else type(err).__name__
    outcome = classify(CONFLUENT_OUTCOMES, name)
    return outcome, f"{name}: {err.str() if hasattr(err, 'str') else err}"


def _exc_outcome(e: BaseException) -> tuple[str, str]:
    from confluent_kafka import KafkaException

    if isinstance(e, KafkaException) and e.args and hasattr(e.args[0], "name"):
        return error_outcome(e.args[0])
    if isinstance(e, BufferError):
        return FAIL, f"_QUEUE_FULL: {e}"
    return INFO, f"{type(e).__name__}: {e}"


class ConfluentClient:
    """A producer and a consumer of one process, on librdkafka."""

    def __init__(self, options: ClientOptions, keymap: KeyMap):
        options.validate()
        self.options = options
        self.keymap = keymap
        self.producer: Any = None
        self.consumer: Any = None
        self.subscribed = False
        # Next offset to read per assigned (topic, partition), kept by us: librdkafka's position()
        # is unknown until a partition's first fetch, and a re-assign must not rewind (Java semantics).
        self.positions: dict[tuple[str, int], int] = {}
        self._keys: dict[tuple[str, int], str | None] = {}
        self.assigned_tps: set[tuple[str, int]] = set()

    # -- life cycle ---------------------------------------------------------
    def _common(self) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": self.options.bootstrap,
            "client.id": self.options.client_id,
            "socket.timeout.ms": max(1000, int(self.options.timeout_s * 1000)),
            "socket.nagle.disable": True,  # one small request at a time: Nagle would only add latency
            "logger": log,
        }
        conf.update(self.options.extra)
        return conf

    def open(self) -> None:
        from confluent_kafka import Consumer, Producer

        o = self.options
        timeout_ms = int(o.timeout_s * 1000)
        pconf = self._common()
        pconf.update({
            "acks": "all" if o.acks == "-1" else o.acks,
            "enable.idempotence": o.idempotence,
            "linger.ms": 0,
            "message.timeout.ms": timeout_ms,
            "request.timeout.ms": max(1000, timeout_ms - 500),
        })
        if o.retries is not None:
            pconf["retries"] = o.retries
        if o.transactions:
            pconf["transactional.id"] = o.transactional_id or f"{o.client_id}-txn"
            pconf["transaction.timeout.ms"] = max(timeout_ms * 2, 10000)
        cconf = self._common()
        cconf.update({
            "group.id": o.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": o.auto_offset_reset,
            "isolation.level": o.isolation,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            "fetch.wait.max.ms": 50,
            "enable.partition.eof": False,
        })
        try:
            self.producer = Producer(pconf)
            self.consumer = Consumer(cconf)
            if o.transactions:
                self.producer.init_transactions(o.timeout_s)
        except Exception as e:
            self.close()
            raise ClientOpError(*_exc_outcome(e)) from e

    def close(self, timeout: float = 5.0) -> None:
        """Drops both clients without waiting on a broker that may be gone (bounded by `timeout`)."""
        producer, consumer = self.producer, self.consumer
        self.producer = self.consumer = None
        if producer is not None:
            try:
                producer.purge()
                producer.flush(0)
            except Exception:  # closing must never raise
                pass
        if consumer is not None:
            t = threading.Thread(target=_close_quietly, args=(consumer,), daemon=True, name="prozess-consumer-close")
            t.start()
            t.join(timeout)

    # -- ops -----------------------------------------------------------------
    def _produce(self, mops: list[list[Any]]) -> tuple[list[list[Any]], list[Any], list[bool]]:
        """Enqueues every send; returns (completed mops with offset None, error slots, delivered flags)."""
        done: list[list[Any]] = []
        errors: list[Any] = [None] * len(mops)
        delivered = [False] * len(mops)
        produce = self.producer.produce
        for i, mop in enumerate(mops):
            _, k, v = mop
            done.append(["send", k, [None, v]])
            topic, part = self.keymap.topic_partition(k)

            def on_delivery(err: Any, msg: Any, i: int = i) -> None:
                if err is not None:
                    errors[i] = err
                else:
                    delivered[i] = True
                    off = msg.offset()
                    done[i][2][0] = off if off is not None and off >= 0 else None  # acks=0: unknown

            try:
                produce(topic, value=str(v).encode(), key=str(k).encode(), partition=part, on_delivery=on_delivery)
            except Exception as e:
                errors[i] = e
        return done, errors, delivered

    def _await_delivery(self, done: list[list[Any]], errors: list[Any], delivered: list[bool], timeout: float) -> list[list[Any]]:
        remaining = self.producer.flush(timeout)
        outcomes = []
        for err in errors:
            if err is None:
                continue
            outcomes.append(_exc_outcome(err) if isinstance(err, BaseException) else error_outcome(err))
        if not outcomes and remaining == 0 and all(delivered):
            return done  # with acks=0 the offsets stay None: delivered, position unknown
        acked = sum(delivered)
        if outcomes and acked == 0 and remaining == 0 and all(o == FAIL for o, _ in outcomes):
            raise ClientOpError(FAIL, "; ".join(sorted({d for _, d in outcomes})))
        desc = [d for _, d in outcomes]
        if remaining:
            desc.append(f"{remaining} message(s) still unacknowledged after {timeout:.1f}s")
        raise ClientOpError(INFO, "; ".join(sorted(set(desc))) or "unacknowledged", done)

    def send(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]:
        done, errors, delivered = self._produce(mops)
        return self._await_delivery(done, errors, delivered, timeout)

    def _poll_once(self, timeout: float) -> dict[str, list[list[int]]]:
        out: dict[str, list[list[int]]] = {}
        first = self.consumer.poll(timeout)
        if first is None:
            return out
        msgs = [first]
        msgs.extend(self.consumer.consume(MAX_DRAIN, 0))
        key_cache = self._keys
        errors: list[str] = []
        other_errors: list[str] = []
        for m in msgs:
            err = m.error()
            if err is not None:
                desc = error_outcome(err)[1] + (f" (at {m.topic()}-{m.partition()} offset {m.offset()})" if m.topic() else "")
                if err.name() in DAMAGED_DATA_ERRORS:
                    # e.g. _BAD_MSG from check.crcs: librdkafka skips the damaged batch and goes on with the next one
                    errors.append(desc)
                else:
                    # A connection-level event (broker down, transport): librdkafka retries by itself, so it
                    # matters only when the poll delivered nothing.
                    log.debug("poll error: %s", err)
                    other_errors.append(desc)
                continue
            topic, part, off = m.topic(), m.partition(), m.offset()
            tp = (topic, part)
            self.positions[tp] = off + 1
            k = key_cache.get(tp, _MISSING)
            if k is _MISSING:
                k = key_cache[tp] = self.keymap.key_of(topic, part)
            if k is None:
                continue
            out.setdefault(k, []).append([off, int(m.value())])
        if not errors and not out and other_errors:
            raise ClientOpError(FAIL, "; ".join(dict.fromkeys(other_errors)))  # nothing delivered: the poll had no effect
        if errors:
            desc = "; ".join(dict.fromkeys(errors))
            if not out:
                raise ClientOpError(FAIL, desc)  # nothing delivered: the poll had no effect
            # Messages around an error were delivered (the position moved past them): the op keeps them and the error.
            raise ClientOpError(INFO, desc, [["poll", out]])
        return out

    def poll(self, timeout: float) -> dict[str, list[list[int]]]:
        if self.consumer is None:
            raise ClientOpError(FAIL, "client is closed")
        try:
            out = self._poll_once(timeout)
            if self.subscribed and out:
                self.consumer.commit(asynchronous=False)
            return out
        except ClientOpError:
            raise
        except Exception as e:
            outcome, desc = _exc_outcome(e)
            # A poll changes nothing on the broker; only a failed commit after it is uncertain.
            raise ClientOpError(INFO if self.subscribed else FAIL, desc) from e

    def txn(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]:
        if not self.options.transactions:
            return self._txn_without_transactions(mops, timeout)
        p, c = self.producer, self.consumer
        positions = dict(self.positions)
        try:
            p.begin_transaction()
        except Exception as e:
            raise ClientOpError(*_exc_outcome(e)) from e
        out: list[list[Any]] = []
        errors: list[Any] = []
        sends: list[list[Any]] = []
        try:
            for mop in mops:
                if mop[0] == "send":
                    d, errs, _ = self._produce([mop])
                    out.append(d[0])
                    sends.append(d[0])
                    errors.extend(errs)
                else:
                    out.append(["poll", self._poll_once(min(timeout / 4, 0.5))])
            if any(e is not None for e in errors):
                raise _abortable(errors)
            if self.subscribed and c.assignment():
                p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), timeout)
            p.commit_transaction(timeout)
            p.flush(0)  # serve delivery callbacks still queued, so every offset is filled in
        except Exception as e:
            self._abort(e, positions, timeout)
        return out

    def _abort(self, e: BaseException, positions: dict[tuple[str, int], int], timeout: float) -> None:
        """Aborts after a failed transaction: `fail` if the abort is certain, else `info`."""
        from confluent_kafka import KafkaException

        err = e.args[0] if isinstance(e, KafkaException) and e.args else None
        desc = _exc_outcome(e)[1] if not isinstance(e, ClientOpError) else str(e.error)
        if err is not None and hasattr(err, "fatal") and err.fatal():
            raise ClientOpError(INFO, f"fatal: {desc}") from e
        try:
            self.producer.abort_transaction(timeout)
        except Exception as e2:
            raise ClientOpError(INFO, f"{desc}; abort failed: {_exc_outcome(e2)[1]}") from e
        from confluent_kafka import TopicPartition

        try:
            for (topic, part), off in positions.items():
                if self.positions.get((topic, part)) != off:
                    self.consumer.seek(TopicPartition(topic, part, off))
            self.positions = positions
        except Exception as e3:  # position unknown now: the poll part is uncertain
            raise ClientOpError(INFO, f"{desc}; aborted, but rewinding the consumer failed: {e3}") from e
        raise ClientOpError(FAIL, f"aborted: {desc}") from e

    def _txn_without_transactions(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]:
        """A mixed op without the transactional API: sends and polls in order, not atomic."""
        out: list[list[Any]] = []
        for i, mop in enumerate(mops):
            if mop[0] == "send":
                out.append(self.send([mop], timeout)[0])
                continue
            try:
                out.append(["poll", self.poll(min(timeout, 0.5))])
            except ClientOpError as e:
                if e.value is None:
                    raise
                # A poll that read data and hit an error: the whole op's value, what ran before it, the rest as invoked.
                raise ClientOpError(e.outcome, e.error, out + e.value + [list(m) for m in mops[i + 1:]]) from e
        return out

    def assign(self, keys: list[str], *, seek_to_beginning: bool = False, timeout: float = 5.0) -> None:
        """Replaces the assignment; partitions that stay assigned keep reading where they are.

        Only the difference is applied (incremental unassign/assign), so librdkafka never
        restarts the fetcher of a partition that stays, as a Java consumer's assign() does.
        """
        from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition

        # A newly assigned partition starts where auto.offset.reset says, given explicitly: assign mode
        # never commits, so asking the group coordinator first would only add a racy round trip.
        fresh = {"earliest": OFFSET_BEGINNING, "latest": OFFSET_END}.get(self.options.auto_offset_reset)
        c = self.consumer
        try:
            if self.subscribed:
                c.unsubscribe()
                self.subscribed = False
                self.assigned_tps = set()
            wanted = {self.keymap.topic_partition(k) for k in keys}
            if seek_to_beginning:
                c.unassign()
                self.assigned_tps = set()
                self.positions = {}
                fresh = OFFSET_BEGINNING
            gone = self.assigned_tps - wanted
            new = wanted - self.assigned_tps
            if gone:
                c.incremental_unassign([TopicPartition(t, p) for t, p in sorted(gone)])
            if new:
                tps = [TopicPartition(t, p, fresh) if fresh is not None else TopicPartition(t, p) for t, p in sorted(new)]
                c.incremental_assign(tps)
            self.assigned_tps = wanted
            self.positions = {tp: off for tp, off in self.positions.items() if tp in wanted and tp not in new}
        except Exception as e:
            raise ClientOpError(FAIL, _exc_outcome(e)[1]) from e  # local state only

    def subscribe(self, keys: list[str], timeout: float = 5.0) -> None:
        topics = sorted({self.keymap.topic_partition(k)[0] for k in keys})
        try:
            self.consumer.subscribe(topics)
            self.subscribed = True
            self.positions = {}
            self.assigned_tps = set()
        except Exception as e:
            raise ClientOpError(FAIL, _exc_outcome(e)[1]) from e


def _abortable(errors: list[Any]) -> ClientOpError:
    descs = sorted({(_exc_outcome(e) if isinstance(e, BaseException) else error_outcome(e))[1] for e in errors if e is not None})
    return ClientOpError(INFO, "; ".join(descs))


def _close_quietly(consumer: Any) -> None:
    try:
        consumer.close()
    except Exception:
        pass
