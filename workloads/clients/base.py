"""The queue client interface, shared by every Kafka client library prozess drives.

A workload talks to Kafka through one small interface, `QueueClient`:
`open`, `send`, `poll`, `txn`, `assign`, `subscribe`, `close`. Each library
(`confluent` = librdkafka, the default; `kafka-python`) implements it in its
own module, so a workload runs unchanged on either; `factory.make_client`
picks one by name.

Outcomes follow Jepsen: a call that returns has certainly happened (`ok`). A
call that cannot complete raises `ClientOpError` carrying its outcome:
`fail` only when the operation certainly did not take effect (rejected before
anything was sent, or a transaction that was aborted for sure); `info` for
timeouts, disconnects and anything uncertain. Which Kafka error means which
is one table per client (`CONFLUENT_OUTCOMES`, `KAFKA_PYTHON_OUTCOMES`); an
error in neither table is `info`, because guessing `fail` would let a checker
call a real write "never happened". Every call takes a timeout.

Keys are the workload's abstract keys (strings of non-negative integers in
the history); `KeyMap` maps them one-to-one onto topic-partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CLIENTS",
    "CONFLUENT_OUTCOMES",
    "ClientOpError",
    "ClientOptions",
    "KAFKA_PYTHON_OUTCOMES",
    "KeyMap",
    "QueueClient",
    "classify",
]

FAIL = "fail"
INFO = "info"

# Error name -> outcome, for errors a call can end with. Only errors that prove
# the operation did not take effect are `fail`; everything else is `info`.
# confluent-kafka: KafkaError.name() (librdkafka error codes; "_" = local).
CONFLUENT_OUTCOMES: dict[str, str] = {
    # Rejected by the client before anything went on the wire.
    "_QUEUE_FULL": FAIL,            # produce queue full: the message was never enqueued
    "_INVALID_ARG": FAIL,
    "_UNKNOWN_TOPIC": FAIL,          # topic unknown to the client: nothing sent
    "_UNKNOWN_PARTITION": FAIL,
    "_MSG_SIZE_TOO_LARGE": FAIL,
    "MSG_SIZE_TOO_LARGE": FAIL,       # broker rejects the whole request, retries cannot change that
    "INVALID_REQUIRED_ACKS": FAIL,
    "TOPIC_AUTHORIZATION_FAILED": FAIL,
    "CLUSTER_AUTHORIZATION_FAILED": FAIL,
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": FAIL,
    "_STATE": FAIL,                   # e.g. begin_transaction in the wrong state: nothing done
    "_NOT_CONFIGURED": FAIL,
    # Uncertain: the request may have reached the broker and been appended.
    "_MSG_TIMED_OUT": INFO,
    "_TIMED_OUT": INFO,
    "REQUEST_TIMED_OUT": INFO,
    "_TRANSPORT": INFO,
    "_ALL_BROKERS_DOWN": INFO,
    "NOT_ENOUGH_REPLICAS": INFO,            # with retries an earlier attempt may have been appended
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND": INFO,  # appended on the leader, not replicated: uncertain
    "NOT_LEADER_OR_FOLLOWER": INFO,
    "LEADER_NOT_AVAILABLE": INFO,
    "_PURGE_QUEUE": INFO,
    "_PURGE_INFLIGHT": INFO,
    "_FENCED": INFO,
    "PRODUCER_FENCED": INFO,
    "INVALID_PRODUCER_EPOCH": INFO,
    "OUT_OF_ORDER_SEQUENCE_NUMBER": INFO,
    "UNKNOWN_PRODUCER_ID": INFO,
    "_FATAL": INFO,
    "COORDINATOR_NOT_AVAILABLE": INFO,
    "NOT_COORDINATOR": INFO,
    "CONCURRENT_TRANSACTIONS": INFO,
}

# kafka-python: exception class names (kafka.errors).
KAFKA_PYTHON_OUTCOMES: dict[str, str] = {
    "MessageSizeTooLargeError": FAIL,
    "InvalidRequiredAcksError": FAIL,
    "TopicAuthorizationFailedError": FAIL,
    "ClusterAuthorizationFailedError": FAIL,
    "TransactionalIdAuthorizationFailedError": FAIL,
    "IllegalStateError": FAIL,
    "BufferError": FAIL,
    "KafkaTimeoutError": INFO,
    "RequestTimedOutError": INFO,
    "KafkaConnectionError": INFO,
    "NoBrokersAvailable": INFO,
    "NotEnoughReplicasError": INFO,
    "NotEnoughReplicasAfterAppendError": INFO,
    "NotLeaderForPartitionError": INFO,
    "NotLeaderOrFollowerError": INFO,
    "LeaderNotAvailableError": INFO,
    "ProducerFencedError": INFO,
    "InvalidProducerEpochError": INFO,
    "OutOfOrderSequenceNumberError": INFO,
    "UnknownProducerIdError": INFO,
    "CoordinatorNotAvailableError": INFO,
    "NotCoordinatorError": INFO,
    "ConcurrentTransactionsError": INFO,
}


def classify(table: dict[str, str], name: str) -> str:
    """`fail` or `info` for an error name; unknown errors are `info` (uncertain)."""
    return table.get(name, INFO)


class ClientOpError(Exception):
    """An operation that did not complete `ok`.

    `outcome` is `fail` (certainly did not happen) or `info` (uncertain);
    `error` is a short JSON-able description for the history; `value` is the
    completed value where part of it is known (e.g. offsets of the sends that
    were acknowledged before a later one timed out), else None.
    """

    def __init__(self, outcome: str, error: Any, value: Any = None):
        if outcome not in (FAIL, INFO):
            raise ValueError(f"outcome must be fail or info, not {outcome!r}")
        super().__init__(f"{outcome}: {error}")
        self.outcome = outcome
        self.error = error
        self.value = value


@dataclass(frozen=True)
class KeyMap:
    """Maps abstract integer keys one-to-one onto topic-partitions.

    Key k lives in topic `f"{prefix}-{k // partitions_per_topic}"`, partition
    `k % partitions_per_topic`. Several keys per topic keep the number of
    topics (and topic creations) small while every key is still its own log.
    """

    prefix: str = "prozess"
    partitions_per_topic: int = 8

    def topic_partition(self, key: str | int) -> tuple[str, int]:
        k = int(key)
        return f"{self.prefix}-{k // self.partitions_per_topic}", k % self.partitions_per_topic

    def topic_index(self, key: str | int) -> int:
        return int(key) // self.partitions_per_topic

    def topic_name(self, index: int) -> str:
        return f"{self.prefix}-{index}"

    def key_of(self, topic: str, partition: int) -> str | None:
        head, sep, tail = topic.rpartition("-")
        if not sep or head != self.prefix or not tail.isdigit():
            return None
        return str(int(tail) * self.partitions_per_topic + partition)


@dataclass
class ClientOptions:
    """Producer and consumer settings a workload passes to a client.

    `extra` holds raw client properties (SASL/SSL and the rest, e.g. from a
    `--client-properties` file) applied to producer, consumer and admin alike.
    """

    bootstrap: str = "127.0.0.1:9092"
    acks: str = "all"                     # "0", "1", "all"
    idempotence: bool = True
    retries: int | None = None            # None: the client's default
    isolation: str = "read_committed"     # or "read_uncommitted"
    auto_offset_reset: str = "earliest"
    transactions: bool = False
    transactional_id: str | None = None
    group_id: str = "prozess"
    client_id: str = "prozess"
    timeout_s: float = 5.0                # the default time bound of every call
    extra: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.acks not in ("0", "1", "all", "-1"):
            raise ValueError(f"acks is {self.acks!r}; it must be 0, 1 or all")
        if self.isolation not in ("read_committed", "read_uncommitted"):
            raise ValueError(f"isolation is {self.isolation!r}; it must be read_committed or read_uncommitted")
        if self.auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError(f"auto_offset_reset is {self.auto_offset_reset!r}; it must be earliest, latest or none")
        if self.transactions and not self.idempotence:
            raise ValueError("transactions need idempotence; drop --no-idempotence or turn transactions off")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s is {self.timeout_s}; it must be positive")


@runtime_checkable
class QueueClient(Protocol):
    """One producer+consumer pair owned by one process (single-threaded use).

    Values: `send` takes micro-ops `["send", key, value]` and returns them
    completed as `["send", key, [offset, value]]`; `poll` returns
    `{key: [[offset, value], ...]}`; `txn` takes a mix of send and `["poll"]`
    micro-ops and returns them completed, committing atomically. Raise
    `ClientOpError` for anything but ok.
    """

    def open(self) -> None: ...

    def send(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]: ...

    def poll(self, timeout: float) -> dict[str, list[list[int]]]: ...

    def txn(self, mops: list[list[Any]], timeout: float) -> list[list[Any]]: ...

    def assign(self, keys: list[str], *, seek_to_beginning: bool = False, timeout: float = 5.0) -> None: ...

    def subscribe(self, keys: list[str], timeout: float = 5.0) -> None: ...

    def close(self, timeout: float = 5.0) -> None: ...


CLIENTS = ("confluent", "kafka-python")
