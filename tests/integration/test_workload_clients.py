"""Both client adapters against a real single-node Kafka: sends, polls, assign, transactions, outcomes."""

from __future__ import annotations

import itertools

import pytest
from local_kafka import local_kafka  # noqa: F401  (fixture)

from prozess.workloads.clients.admin import TopicManager
from prozess.workloads.clients.base import ClientOpError, ClientOptions, KeyMap
from prozess.workloads.clients.factory import make_client

pytestmark = pytest.mark.integration

CLIENTS = ["confluent", "kafka-python"]
_prefix = itertools.count()


def setup(kafka, client, **opts):
    km = KeyMap(f"cl{next(_prefix)}", 4)
    TopicManager(kafka.bootstrap, km, replication_factor=1, min_insync_replicas=1).ensure(["0", "1", "2", "3"])
    o = ClientOptions(bootstrap=kafka.bootstrap, client_id=f"t-{km.prefix}", group_id=f"g-{km.prefix}", **opts)
    c = make_client(client, o, km)
    c.open()
    return c, km


def poll_all(c, want, rounds=40):
    seen = {}
    for _ in range(rounds):
        for k, pairs in c.poll(0.25).items():
            seen.setdefault(k, []).extend(pairs)
        if sum(len(v) for v in seen.values()) >= want:
            break
    return seen


@pytest.mark.parametrize("client", CLIENTS)
def test_send_then_poll_from_the_beginning_sees_every_value_at_its_offset(local_kafka, client):
    c, _ = setup(local_kafka, client)
    try:
        done = c.send([["send", "1", 1], ["send", "1", 2], ["send", "2", 1]], 10)
        assert [m[0] for m in done] == ["send"] * 3
        offsets = {(m[1], m[2][1]): m[2][0] for m in done}
        assert offsets[("1", 1)] == 0 and offsets[("1", 2)] == 1 and offsets[("2", 1)] == 0
        c.assign(["1", "2"], seek_to_beginning=True)
        seen = poll_all(c, 3)
        assert seen == {"1": [[0, 1], [1, 2]], "2": [[0, 1]]}
        # A re-assign keeps positions: nothing is read twice.
        c.assign(["1", "2", "3"])
        c.send([["send", "1", 3]], 10)
        assert poll_all(c, 1) == {"1": [[2, 3]]}
    finally:
        c.close()


@pytest.mark.parametrize("client", CLIENTS)
def test_transactions_commit_atomically_and_hide_aborted_writes(local_kafka, client):
    c, km = setup(local_kafka, client, transactions=True)
    reader, _ = setup(local_kafka, client)
    try:
        out = c.txn([["send", "0", 1], ["poll"], ["send", "0", 2]], 10)
        assert out[0][2][1] == 1 and out[0][2][0] is not None and out[1][0] == "poll"
        # Reading the same keymap's topic with a committed reader sees both values.
        reader.keymap = km
        reader.assign(["0"], seek_to_beginning=True)
        vals = [v for _, v in poll_all(reader, 2).get("0", [])]
        assert vals == [1, 2]
    finally:
        c.close()
        reader.close()


@pytest.mark.parametrize("client", CLIENTS)
def test_send_to_a_missing_topic_is_not_ok(local_kafka, client):
    c, km = setup(local_kafka, client, timeout_s=2.0)
    try:
        with pytest.raises(ClientOpError) as e:
            c.send([["send", "99", 1]], 2)  # key 99 lives in a topic that was never created
        assert e.value.outcome in ("fail", "info")
    finally:
        c.close()


def test_unknown_client_library_is_named():
    with pytest.raises(ValueError, match="confluent, kafka-python"):
        make_client("java", ClientOptions(), KeyMap())
