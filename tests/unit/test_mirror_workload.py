"""The mirror workload's pure parts: options, roles, and the final phase's order."""

from __future__ import annotations

import random

import pytest

from prozess.generator import Context
from prozess.spec import SpecError, TestSpec
from prozess.workloads.mirror import MirrorFinal, MirrorGenerator, MirrorOptions, MirrorWorkload


def test_target_is_required_and_named_in_the_error():
    with pytest.raises(SpecError, match="target_bootstrap"):
        TestSpec(workload="mirror", bootstrap="127.0.0.1:1").validate()
    TestSpec(workload="mirror", bootstrap="127.0.0.1:1", workload_options={"target_bootstrap": "127.0.0.1:2"}).validate()


def test_roles_by_thread_and_unique_values():
    g = MirrorGenerator(MirrorOptions(target_bootstrap="t:1", partitions=3), random.Random(2))
    fs = [g.op(Context(0.0, t, t, 4)) for t in range(4)]
    assert [f and f["f"] for f in fs] == ["produce", "commit-source", "read-target", None]
    values = [v for _ in range(20) for _, v in g.op(Context(0.0, 0, 0, 4))["value"]]
    assert len(values) == len(set(values)) and values == sorted(values)


def test_final_reads_source_then_waits_for_the_copy_then_fails_over_then_reads_final():
    o = MirrorOptions(target_bootstrap="t:1")
    f = MirrorFinal(o)
    c0, c2 = Context(0.0, 0, 0, 3), Context(0.0, 2, 2, 3)
    assert f.op(c0)["f"] == "read-source"
    assert f.op(c2)["value"] == {"final": False}
    f.update(c0, {"type": "ok", "f": "read-source", "value": {"records": {"0": [[0, 1], [1, 2]]}}})
    assert f.op(c0) is None
    f.update(c2, {"type": "ok", "f": "read-target", "value": {"final": False, "records": {"0": [[0, 1]]}}})
    assert f.op(c2)["f"] == "read-target"             # not caught up yet
    f.update(c2, {"type": "ok", "f": "read-target", "value": {"final": False, "records": {"0": [[0, 1], [1, 2]]}}})
    assert f.op(c2)["f"] == "read-target"             # caught up: MM2's translation gets failover_settle_s to follow
    settled = Context(o.failover_settle_s, 2, 2, 3)
    assert f.op(settled) == {"f": "failover", "value": {"caught_up": True, "settled": True}}
    f.update(c2, {"type": "ok", "f": "failover", "value": {"offsets": {}, "records": {}}})
    assert f.op(c2)["value"] == {"final": True}
    f.update(c2, {"type": "ok", "f": "read-target", "value": {"final": True, "records": {}}})
    assert f.op(c2) is None
    late = MirrorFinal(o)
    late.update(c0, {"type": "ok", "f": "read-source", "value": {"records": {"0": [[0, 1]]}}})
    assert late.op(Context(o.mirror_wait_s, 2, 2, 3)) == {"f": "failover", "value": {"caught_up": False, "settled": False}}
    with pytest.raises(ValueError, match="failover_settle_s"):
        MirrorOptions(target_bootstrap="t:1", failover_settle_s=o.mirror_wait_s + 1).validate()


def test_mirrored_topic_follows_the_default_replication_policy():
    w = MirrorWorkload(MirrorOptions(target_bootstrap="t:1", topic_prefix="mm"))
    assert (w.topic, w.mirrored_topic) == ("mm-0", "source.mm-0")
    with pytest.raises(ValueError, match="concurrency"):
        MirrorWorkload(MirrorOptions(target_bootstrap="t:1"), concurrency=2)


class _SilentConsumer:
    """Stands in for a confluent consumer that never returns a record (a stuck consumer cannot be made on demand)."""

    def __init__(self, error: str | None = None):
        self.error, self.closed = error, False

    def consume(self, n, timeout):
        class _Msg:
            def __init__(self, e):
                self._e = e

            def error(self):
                return self._e
        return [_Msg(self.error)] if self.error else []

    def close(self):
        self.closed = True


def test_a_group_consumer_that_never_consumes_is_reopened_and_its_errors_are_reported():
    from prozess.workloads.clients.base import ClientOpError
    from prozess.workloads.mirror import REOPEN_AFTER_EMPTY_POLLS, MirrorClient

    client = MirrorClient(MirrorWorkload(MirrorOptions(target_bootstrap="t:1")), 1)
    first = client.clients["group"] = _SilentConsumer("Broker: Coordinator load in progress")
    for i in range(REOPEN_AFTER_EMPTY_POLLS):
        with pytest.raises(ClientOpError, match="nothing consumed yet.*Coordinator load in progress"):
            client.commit_source()
        assert ("group" in client.clients) == (i < REOPEN_AFTER_EMPTY_POLLS - 1)
    assert first.closed
