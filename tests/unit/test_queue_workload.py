"""The queue workload's generators, simulated without a cluster (pure and seeded)."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from prozess.generator import Limit, Stagger, TimeLimit, iter_ops, dry_run
from prozess.workloads.clients.base import ClientOptions, KeyMap
from prozess.workloads.queue import FinalPolls, QueueGenerator, QueueOptions, QueueWorkload, max_offsets


def fake_kafka():
    """A tiny in-memory log per key that completes sends with offsets and answers polls."""
    logs: dict[str, list[int]] = defaultdict(list)
    cursor: dict[tuple, int] = defaultdict(int)

    def complete(op):
        f, v = op["f"], op["value"]
        if f == "crash":
            return "info", v
        if f in ("assign", "subscribe"):
            return "ok", v
        out = []
        for m in v:
            if m[0] == "send":
                logs[m[1]].append(m[2])
                out.append(["send", m[1], [len(logs[m[1]]) - 1, m[2]]])
            else:
                seen = {}
                for k, log in logs.items():
                    c = cursor[(op["process"], k)]
                    if c < len(log):
                        seen[k] = [[i, log[i]] for i in range(c, len(log))]
                        cursor[(op["process"], k)] = len(log)
                out.append(["poll", seen])
        return "ok", out

    return complete, logs


def run(seed, n=2000, options=None):
    gen = Limit(Stagger(QueueGenerator(options or QueueOptions(), random.Random(seed)), 500, random.Random(seed + 1)), n)
    complete, _ = fake_kafka()
    return dry_run(gen, concurrency=5, complete=complete)


def test_same_seed_same_ops_different_seed_different_ops():
    a, b, c = run(7), run(7), run(8)
    assert list(iter_ops(a)) == list(iter_ops(b))
    assert [o["time"] for o in a] == [o["time"] for o in b]
    assert list(iter_ops(a)) != list(iter_ops(c))


def test_values_are_unique_and_increasing_per_key():
    ops = run(1, n=5000, options=QueueOptions(max_writes_per_key=50, key_count=4))
    per_key = defaultdict(list)
    for o in ops:
        if o["f"] in ("send", "txn"):
            for m in o["value"]:
                if m[0] == "send":
                    per_key[m[1]].append(m[2])
    assert len(per_key) > 4  # keys retired and replaced
    for k, vs in per_key.items():
        assert vs == list(range(1, len(vs) + 1)), k
        assert len(vs) <= 50


def test_op_mix_has_every_kind():
    opts = QueueOptions(crash_interval_s=0.5, sub_p=0.05)
    fs = {o["f"] for o in run(3, n=3000, options=opts)}
    assert {"send", "poll", "assign", "crash"} <= fs
    assert "txn" not in fs


def test_txn_mode_makes_mixed_txns_of_at_most_four():
    opts = QueueOptions(txn=True, crash_clients=False)
    ops = run(4, n=2000, options=opts)
    txns = [o for o in ops if o["f"] == "txn"]
    assert txns
    assert all(1 <= len(o["value"]) <= 4 for o in ops if o["f"] in ("send", "poll", "txn"))
    assert all({m[0] for m in o["value"]} == {"send", "poll"} for o in txns)


def test_fresh_process_assigns_before_polling():
    ops = run(5, n=500)
    first = {}
    for o in ops:
        first.setdefault(o["process"], o["f"])
    assert set(first.values()) <= {"assign", "subscribe", "crash"}


def test_final_polls_stop_when_targets_are_reached():
    opts = QueueOptions()
    fp = FinalPolls(["0", "1"], {"0": 3, "1": 1}, opts)

    def complete(op):
        if op["f"] == "crash":
            return "info", None
        if op["f"] == "assign":
            return "ok", op["value"]
        return "ok", [["poll", {"0": [[0, 1], [3, 4]], "1": [[1, 2]]}]]

    ops = dry_run(TimeLimit(fp, 10), concurrency=1, complete=complete)
    assert [o["f"] for o in ops] == ["crash", "assign", "poll"]


def test_final_polls_keep_polling_until_deadline_when_data_is_missing():
    fp = FinalPolls(["0"], {"0": 9}, QueueOptions())
    complete = lambda op: ("info", None) if op["f"] == "crash" else ("ok", op["value"] if op["f"] == "assign" else [["poll", {}]])
    ops = dry_run(TimeLimit(fp, 1.0), concurrency=1, complete=complete, latency=0.01)
    assert ops[-1]["f"] == "poll" and 90 <= len(ops) <= 101


def test_max_offsets_reads_sends_and_polls():
    v = [["send", "1", [4, 9]], ["poll", {"1": [[5, 10]], "2": [[0, 1]]}], ["send", "3", [None, 2]]]
    assert max_offsets("txn", v) == {"1": 5, "2": 0}


def test_workload_tracks_acknowledged_offsets_for_the_final_phase():
    w = QueueWorkload(QueueOptions(crash_clients=False))
    complete, logs = fake_kafka()
    dry_run(Limit(w.generator(random.Random(2)), 400), concurrency=3, complete=complete)
    final = w.final_generator()
    fp = final.factory(0)
    assert fp.targets == {k: len(log) - 1 for k, log in logs.items()}


@pytest.mark.parametrize("bad", [{"key_count": 0}, {"sub_via": ["nope"]}, {"max_txn_length": 0}, {"sub_p": 2}])
def test_bad_options_are_rejected_with_the_field_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        QueueOptions(**bad).validate()


def test_unknown_option_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown queue workload option.*key_count"):
        QueueOptions.from_dict({"keycount": 3})


def test_keymap_round_trips():
    km = KeyMap("p", 4)
    for k in range(40):
        t, p = km.topic_partition(str(k))
        assert km.key_of(t, p) == str(k)
    assert km.key_of("other-1", 0) is None


def test_client_options_reject_transactions_without_idempotence():
    with pytest.raises(ValueError, match="idempotence"):
        ClientOptions(transactions=True, idempotence=False).validate()


def test_send_until_stops_writes_and_polls_go_on():
    ops = run(3, n=3000, options=QueueOptions(send_until_s=1.0))
    invs = [o for o in ops if o["type"] == "invoke"]
    late = [o for o in invs if o["time"] >= 1.2]  # ops chosen before 1 s may start a little later (Stagger)
    assert late and all(o["f"] in ("poll", "assign", "subscribe", "crash") for o in late)
    assert any(o["f"] == "send" for o in invs if o["time"] < 1.0)
    # Unset (the default): sends go on to the end.
    assert any(o["f"] == "send" and o["time"] >= 1.0 for o in run(3, n=3000) if o["type"] == "invoke")
    with pytest.raises(ValueError, match="send_until_s"):
        QueueOptions(send_until_s=-1).validate()
