"""Kafka I/O that the confluent-kafka workloads (eos, group, mirror, compaction) share.

Client settings every one of them starts from, the settings of a plain producer and of a
reader, the description of a client error, producing a batch of `[p, v]` records with
the `fail`-only-when-certain rule, and closing clients without letting a hung close
stall the run. confluent_kafka is imported where it is used, so importing a workload
stays cheap.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Iterable

from prozess.workloads.clients.base import CONFLUENT_OUTCOMES, FAIL, INFO, ClientOpError, ClientOptions, classify

__all__ = ["close_clients", "close_quietly", "common_conf", "error_desc", "produce_records", "producer_conf", "reader_conf"]


def error_desc(e: BaseException) -> tuple[Any, str]:
    """(the KafkaError inside `e` or None, "NAME: text") — the error to classify and the text to record."""
    from confluent_kafka import KafkaException

    err = e.args[0] if isinstance(e, KafkaException) and e.args else None
    if err is not None and hasattr(err, "name"):
        return err, f"{err.name()}: {err.str()}"
    return None, f"{type(e).__name__}: {e}"


def common_conf(copts: ClientOptions, client_id: str, logger: Any, bootstrap: str | None = None) -> dict[str, Any]:
    """Settings every confluent client of a workload starts from (user properties win)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": copts.bootstrap if bootstrap is None else bootstrap,
        "client.id": client_id,
        "socket.timeout.ms": max(1000, int(copts.timeout_s * 1000)),
        "logger": logger,
    }
    conf.update(copts.extra)
    return conf


def producer_conf(copts: ClientOptions, op_timeout_s: float, linger_ms: int = 5) -> dict[str, Any]:
    """A plain (non-transactional) producer's settings from the run's acks and idempotence; a message lives one op."""
    ms = int(op_timeout_s * 1000)
    return {"acks": "all" if copts.acks == "-1" else copts.acks, "enable.idempotence": copts.idempotence,
            "linger.ms": linger_ms, "message.timeout.ms": ms, "request.timeout.ms": max(1000, ms - 500)}


def reader_conf(group_id: str) -> dict[str, Any]:
    """An assigned reader's settings: from the beginning, no commits, partition ends reported."""
    return {"group.id": group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 50}


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


def close_quietly(consumer: Any) -> None:
    """Closes a client, ignoring errors (it is being abandoned anyway)."""
    try:
        consumer.close()
    except Exception:
        pass


def close_clients(producer: Any, consumers: Iterable[Any], timeout: float, name: str, *,
                  flush: bool = True, purge: bool = False) -> None:
    """Abandons a process's clients within `timeout`: the producer flushed briefly (and with `purge`, its
    queue dropped), each consumer closed on a daemon thread, so a close that hangs on an unreachable
    broker cannot hold up the worker for longer than the timeout."""
    if producer is not None:
        try:
            if flush:
                producer.flush(min(timeout, 1.0))
            if purge:
                producer.purge()
                producer.flush(0)
        except Exception:
            pass
    threads = []
    for consumer in consumers:
        if consumer is not None:
            t = threading.Thread(target=close_quietly, args=(consumer,), daemon=True, name=name)
            t.start()
            threads.append(t)
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
