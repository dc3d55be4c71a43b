"""A poll that meets a consumer error keeps the error in the history, never drops it.

librdkafka reports a batch that fails its CRC check (`check.crcs=true`) as an error
message among the data messages and goes on with the next batch. A broker has to
serve a damaged segment for that to happen, so these tests drive the client with a
stand-in consumer that returns such a sequence (the real one cannot be made to
produce it on demand); the error objects are real confluent-kafka `KafkaError`s.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from prozess.workloads.clients.base import ClientOpError, ClientOptions, KeyMap
from prozess.workloads.clients.confluent import ConfluentClient


class Msg:
    def __init__(self, topic, part, off, value=None, err=None):
        self._t, self._p, self._o, self._v, self._e = topic, part, off, value, err

    def error(self):
        return self._e

    def topic(self):
        return self._t

    def partition(self):
        return self._p

    def offset(self):
        return self._o

    def value(self):
        return self._v


class Consumer:
    def __init__(self, msgs):
        self.msgs = list(msgs)

    def poll(self, timeout):
        return self.msgs.pop(0) if self.msgs else None

    def consume(self, n, timeout):
        out, self.msgs = self.msgs[:n], self.msgs[n:]
        return out


BAD = KafkaError(KafkaError._BAD_MSG, "MessageSet at offset 3 (120 bytes) failed CRC32 check")


def client(msgs) -> ConfluentClient:
    c = ConfluentClient(ClientOptions(), KeyMap(prefix="t", partitions_per_topic=2))
    c.consumer = Consumer(msgs)
    return c


def test_clean_poll_returns_the_data():
    c = client([Msg("t-0", 0, 1, b"10"), Msg("t-0", 0, 2, b"11")])
    assert c.poll(0.1) == {"0": [[1, 10], [2, 11]]}


def test_an_error_between_data_makes_the_poll_info_with_its_data_and_the_error():
    c = client([Msg("t-0", 0, 1, b"10"), Msg("t-0", 0, 3, err=BAD), Msg("t-0", 0, 5, b"12")])
    with pytest.raises(ClientOpError) as e:
        c.poll(0.1)
    assert e.value.outcome == "info"
    assert e.value.value == [["poll", {"0": [[1, 10], [5, 12]]}]]  # what was delivered, the skip visible
    assert "_BAD_MSG" in e.value.error and "CRC32" in e.value.error and "t-0-0 offset 3" in e.value.error
    assert c.positions[("t-0", 0)] == 6


def test_an_error_with_no_data_fails_the_poll_with_the_error():
    c = client([Msg("t-0", 1, 7, err=BAD)])
    with pytest.raises(ClientOpError) as e:
        c.poll(0.1)
    assert e.value.outcome == "fail" and e.value.value is None and "_BAD_MSG" in e.value.error


def test_the_queue_workload_records_the_error_and_the_data():
    from prozess.workloads.queue import QueueOptions, QueueWorkload

    wl = QueueWorkload(QueueOptions(topic_prefix="t", partitions_per_topic=2))
    c = client([Msg("t-0", 0, 1, err=BAD), Msg("t-0", 0, 4, b"13")])
    typ, value, error = wl.invoke(c, {"f": "poll", "value": [["poll"]]})
    assert (typ, value) == ("info", [["poll", {"0": [[4, 13]]}]]) and "_BAD_MSG" in error


def test_a_mixed_op_without_transactions_keeps_its_sends_and_the_poll_data():
    c = client([Msg("t-0", 0, 1, b"10"), Msg("t-0", 0, 3, err=BAD)])
    c.send = lambda mops, timeout: [["send", mops[0][1], [9, mops[0][2]]]]
    with pytest.raises(ClientOpError) as e:
        c.txn([["send", "0", 20], ["poll"], ["send", "0", 21]], 1.0)
    assert e.value.outcome == "info"
    assert e.value.value == [["send", "0", [9, 20]], ["poll", {"0": [[1, 10]]}], ["send", "0", 21]]


def test_a_connection_error_after_data_leaves_the_poll_ok_with_its_data():
    """Transport events (a broker cut off by a partition) are retried by librdkafka: the delivered data stands."""
    down = KafkaError(KafkaError._TRANSPORT, "Connection refused")
    c = client([Msg("t-0", 0, 1, b"10"), Msg(None, None, None, err=down), Msg("t-0", 0, 2, b"11")])
    assert c.poll(0.1) == {"0": [[1, 10], [2, 11]]}
    c = client([Msg(None, None, None, err=down), Msg("t-0", 0, 2, b"11")])
    assert c.poll(0.1) == {"0": [[2, 11]]}
    c = client([Msg(None, None, None, err=down)])
    with pytest.raises(ClientOpError) as e:  # nothing delivered: the poll had no effect
        c.poll(0.1)
    assert e.value.outcome == "fail" and "_TRANSPORT" in e.value.error
