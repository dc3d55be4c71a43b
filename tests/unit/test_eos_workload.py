"""The eos workload's generators and options, simulated without a cluster (pure and seeded)."""

from __future__ import annotations

import random

import pytest

from prozess.generator import TimeLimit, iter_ops, dry_run
from prozess.workloads.clients.base import ClientOptions
from prozess.workloads.eos import EosFinal, EosGenerator, EosOptions, EosWorkload, Progress, make_workload, role_of


def fake_pipeline():
    """Completes eos ops instantly: transforms consume 2 records per partition 0 and open a txn."""
    state = {"seq": 0, "pos": 0}

    def complete(op):
        f = op["f"]
        if f == "crash":
            return "info", None
        if f == "produce":
            return "ok", [[p, i, v] for i, (p, v) in enumerate(op["value"])]
        if f == "transform":
            if state["pos"] >= 6:
                return "ok", {"txn": None, "in": [], "out": [], "offsets": {}}
            tid = f"{op['process']}.{state['seq']}"
            state["seq"] += 1
            state["pos"] += 2
            return "ok", {"txn": tid, "in": [], "out": [], "offsets": {"0": state["pos"]}}
        if f == "read-input":
            return "ok", {"records": {}, "ends": {"0": 6}}
        return "ok", op["value"]

    return complete


def test_roles_by_thread():
    o = EosOptions(transformers=2, readers=1)
    assert [role_of(t, o) for t in range(5)] == ["producer", "transformer", "transformer", "reader", None]


def test_options_reject_bad_values_with_a_clear_message():
    with pytest.raises(ValueError, match="txn_id_mode"):
        EosOptions.from_dict({"txn_id_mode": "sometimes"})
    with pytest.raises(ValueError, match="unknown eos workload option"):
        EosOptions.from_dict({"partitons": 3})
    with pytest.raises(ValueError, match="drain_time_s"):
        EosOptions.from_dict({"drain_time_s": 100, "final_time_limit_s": 50})
    with pytest.raises(ValueError, match="concurrency"):
        make_workload({}, "confluent", ClientOptions(), concurrency=2)
    with pytest.raises(ValueError, match="confluent"):
        make_workload({}, "kafka-python", ClientOptions())


def test_every_transaction_is_followed_by_its_commit_or_abort():
    o = EosOptions(transformers=2, readers=1, abort_p=0.3, crash_interval_s=5)
    gen = TimeLimit(EosGenerator(o, random.Random(3)), 30)
    ops = dry_run(gen, 4, complete=fake_pipeline(), latency=0.01, max_ops=3000)
    by_proc: dict = {}
    for op in ops:
        by_proc.setdefault(op["process"], []).append(op)
    saw_abort = saw_commit = saw_crash = False
    for proc_ops in by_proc.values():
        for a, b in zip(proc_ops, proc_ops[1:]):
            if a["f"] in ("commit", "abort"):
                assert b["f"] in ("transform", "crash")
        saw_abort |= any(op["f"] == "abort" for op in proc_ops)
        saw_commit |= any(op["f"] == "commit" for op in proc_ops)
        saw_crash |= any(op["f"] == "crash" for op in proc_ops)
    assert saw_abort and saw_commit and saw_crash
    # producer values are unique and increasing
    vals = [v for op in ops if op["f"] == "produce" for _, v in op["value"]]
    assert vals == sorted(set(vals))


@pytest.mark.parametrize("only_in_txn", [False, True])
def test_crash_only_in_txn_makes_every_crash_abandon_an_open_transaction(only_in_txn: bool):
    """With `crash_only_in_txn` every crash falls between a transform that opened a transaction and its commit
    (the at-least-once twin then re-processes what the crash left uncommitted); without it, crashes also fall
    between transactions."""
    o = EosOptions(transformers=2, readers=1, abort_p=0, crash_interval_s=1, crash_only_in_txn=only_in_txn)
    seq = iter(range(10**6))

    def complete(op):  # every transform opens a transaction: a crash right after one abandons it
        if op["f"] == "transform":
            return "ok", {"txn": f"{op['process']}.{next(seq)}", "in": [], "out": [], "offsets": {"0": 1}}
        return ("info", None) if op["f"] == "crash" else ("ok", op["value"])

    ops = dry_run(TimeLimit(EosGenerator(o, random.Random(5)), 30), 4, complete=complete, latency=0.01, max_ops=3000)
    by_proc: dict = {}
    for op in ops:
        by_proc.setdefault(op["process"], []).append(op)
    open_at_crash = [a["f"] == "transform" for proc_ops in by_proc.values()
                     for a, b in zip(proc_ops, proc_ops[1:]) if b["f"] == "crash"]
    assert open_at_crash
    assert all(open_at_crash) if only_in_txn else not all(open_at_crash)
    with pytest.raises(ValueError, match="crash_only_in_txn"):
        EosOptions.from_dict({"crash_only_in_txn": True, "crash_in_txn": False})


def test_generator_is_deterministic_for_a_seed():
    o = EosOptions(transformers=2, readers=1)

    def run(seed):
        gen = TimeLimit(EosGenerator(o, random.Random(seed)), 5)
        return list(iter_ops(dry_run(gen, 4, complete=fake_pipeline(), latency=0.01)))

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_final_phase_reads_input_drains_then_reads_output_and_offsets():
    o = EosOptions(transformers=1, readers=1, transaction_timeout_s=1, drain_time_s=10, final_time_limit_s=20)
    progress = Progress()
    progress.open_txn[1] = "1.9"  # a transaction left open by the main phase
    progress.offsets_of["1.9"] = {0: 1}
    gen = TimeLimit(EosFinal(o, progress), 20)
    ops = dry_run(gen, 3, complete=fake_pipeline(), latency=0.05)
    fs = [(op["process"], op["f"]) for op in ops]
    assert fs[0] in ((0, "read-input"), (1, "commit"))
    assert (1, "commit") in fs and [op["value"] for op in ops if op["f"] == "commit"][0] == {"txn": "1.9"}
    assert not any(op["f"] == "abort" for op in ops)
    finals = [i for i, (_, f) in enumerate(fs) if f == "read-output"]
    assert len(finals) == 1 and fs[-1] == (0, "group-offsets")
    last_transform = max(i for i, (_, f) in enumerate(fs) if f in ("transform", "commit"))
    assert finals[0] > last_transform  # the final read comes after the drain
    assert ops[finals[0]]["time"] >= o.transaction_timeout_s + 2  # and after abandoned txns have timed out


def test_final_phase_gives_up_draining_at_its_bound():
    o = EosOptions(transformers=1, readers=0, transaction_timeout_s=1, drain_time_s=3, final_time_limit_s=7)

    def never_drains(op):
        if op["f"] == "read-input":
            return "ok", {"records": {}, "ends": {"0": 100}}
        if op["f"] == "transform":
            return "ok", {"txn": None, "in": [], "out": [], "offsets": {}}
        return "ok", op["value"]

    ops = dry_run(TimeLimit(EosFinal(o), 6), 2, complete=never_drains, latency=0.05)
    assert [op["f"] for op in ops][-2:] == ["read-output", "group-offsets"]


def test_workload_topics_and_keys():
    w = EosWorkload(EosOptions(partitions=3), client_options=ClientOptions(group_id="prozess-20260101T000000Z"))
    assert w.input_topic != w.output_topic
    assert {w.keymap.topic_partition(k)[0] for k in w.keys_of({"f": "transform"})} == {w.input_topic, w.output_topic}
    assert "20260101t000000z" in w.input_topic
    w2 = EosWorkload(EosOptions(partitions=3, topic_prefix="prozess-run7"), client_options=ClientOptions(group_id="g"))
    assert w2.input_topic == "prozess-run7-0" and w2.options.partitions_per_topic == 3


def test_final_read_waits_for_transactions_abandoned_during_the_drain():
    o = EosOptions(transformers=1, readers=0, transaction_timeout_s=3, drain_time_s=20, final_time_limit_s=40)
    calls = {"n": 0}

    def one_info_then_drained(op):
        if op["f"] == "read-input":
            return "ok", {"records": {}, "ends": {"0": 2}}
        if op["f"] == "transform":
            calls["n"] += 1
            if calls["n"] == 1:
                return "info", {"txn": "1.0", "in": [], "out": [], "offsets": {"0": 2}}
            tid = f"{op['process']}.{calls['n']}"
            return "ok", {"txn": tid, "in": [], "out": [], "offsets": {"0": 2}}
        return "ok", op["value"]

    ops = dry_run(TimeLimit(EosFinal(o), 40), 2, complete=one_info_then_drained, latency=1.0)
    info_time = next(op["time"] for op in ops if op["f"] == "transform")
    final_read = next(op for op in ops if op["f"] == "read-output")
    assert final_read["time"] >= info_time + 1.0 + o.transaction_timeout_s + 2


def test_a_transformer_stuck_in_an_op_does_not_block_the_final_read():
    from prozess.generator import PENDING, Context

    o = EosOptions(transformers=2, readers=0, transaction_timeout_s=5, drain_time_s=10, final_time_limit_s=30)
    fin = EosFinal(o)
    ctx = lambda t, thread: Context(t, thread, thread, 3)  # noqa: E731
    assert fin.op(ctx(0, 0))["f"] == "read-input"
    fin.update(ctx(0.1, 0), {"type": "ok", "f": "read-input", "process": 0, "value": {"records": {}, "ends": {"0": 5}}})
    assert fin.op(ctx(0.2, 1))["f"] == "transform"   # thread 1 invokes and never completes
    assert fin.op(ctx(11, 2)) is None                # thread 2 ends with the drain
    assert fin.op(ctx(12, 0)) is PENDING             # thread 1 is not done yet
    assert fin.op(ctx(17.5, 0))["f"] == "read-output"  # drain_time_s + transaction_timeout_s + 2 later: go
