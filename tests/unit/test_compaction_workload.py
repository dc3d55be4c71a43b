"""The compaction workload's pure parts: options, topic configs, generators, key placement."""

from __future__ import annotations

import random

import pytest

from prozess.compaction_model import decode_record, encode_key, encode_value, parse_read_record, read_record, tp_of_key
from prozess.generator import Context
from prozess.spec import SpecError, TestSpec
from prozess.workloads.compaction import CompactionFinal, CompactionGenerator, CompactionOptions, CompactionWorkload


def test_topic_configs_make_the_cleaner_run():
    o = CompactionOptions()
    cfg = o.topic_configs()
    assert cfg[0]["cleanup.policy"] == "compact" and cfg[1]["cleanup.policy"] == "compact,delete"
    assert cfg[1]["retention.ms"] == str(o.retention_ms)
    for c in cfg.values():
        assert {"segment.ms", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "delete.retention.ms"} <= set(c)
    assert set(CompactionOptions(delete_topic=False).topic_configs()) == {0}


@pytest.mark.parametrize("bad", [{"partitions": 0}, {"delete_p": 2}, {"segment_bytes": 1000}, {"compaction_wait_s": 100},
                                 {"nonsense": 1}])
def test_bad_options_are_refused_by_the_spec(bad):
    with pytest.raises(SpecError):
        TestSpec(workload="compaction", workload_options=bad, bootstrap="127.0.0.1:9092").validate()


def test_codec_round_trips_puts_and_tombstones():
    for seq, tomb in [(1, False), (77, True)]:
        value, headers = encode_value(seq, tomb)
        r = decode_record(5, encode_key(3), value, headers)
        assert r is not None and (r.offset, r.key, r.seq, r.tombstone) == (5, 3, seq, tomb)
        assert parse_read_record(read_record(r)) == r
    assert decode_record(1, b"other", b"1", None) is None


def test_generator_counts_sequence_numbers_per_key_and_mixes_ops():
    o = CompactionOptions(keys=3)
    g = CompactionGenerator(o, random.Random(4))
    ops = [g.op(Context(0.0, 0, 0, 4)) for _ in range(400)]
    fs = {op["f"] for op in ops}
    assert fs == {"put", "delete", "read-all"}
    per_key: dict[int, list[int]] = {}
    for op in ops:
        if op["f"] != "read-all":
            per_key.setdefault(op["value"]["key"], []).append(op["value"]["seq"])
    for seqs in per_key.values():
        assert seqs == list(range(1, len(seqs) + 1))
    again = CompactionGenerator(o, random.Random(4))
    assert [again.op(Context(0.0, 0, 0, 4)) for _ in range(400)] == ops


def test_final_phase_puts_reads_until_removed_offsets_then_reads_final():
    o = CompactionOptions(partitions=1, delete_topic=False, keys=4)
    f = CompactionFinal(o, CompactionGenerator(o, random.Random(1)))
    ctx = Context(0.0, 0, 0, 2)
    op = f.op(ctx)
    assert op["f"] == "put" and tp_of_key(op["value"]["key"], o.tps) == 0
    f.update(ctx, {"type": "ok", "f": "put", "value": {**op["value"], "tp": 0, "offset": 9}})
    op = f.op(ctx)
    assert op["f"] == "read-all" and op["value"] == {"tp": 0, "final": False}
    f.update(ctx, {"type": "invoke", "f": "read-all", "value": op["value"]})
    assert f.op(ctx) is None  # busy: one read of a partition at a time
    f.update(ctx, {"type": "ok", "f": "read-all", "value": {"tp": 0, "final": False, "start": 0, "end": 10, "records": [[9, 1, 1]]}})
    op = f.op(ctx)
    assert op["value"] == {"tp": 0, "final": True}
    f.update(ctx, {"type": "ok", "f": "read-all", "value": {"tp": 0, "final": True, "start": 0, "end": 10, "records": []}})
    assert f.op(ctx) is None
    assert f.op(Context(0.0, 1, 1, 2)) is None  # thread 1 has no partition of its own here


def test_workload_keys_and_client_choice():
    w = CompactionWorkload(CompactionOptions(partitions=2))
    assert w.keys_of({"f": "put", "value": {"key": 7, "seq": 1}}) == ["3"]
    assert w.keys_of({"f": "read-all", "value": {"tp": 2}}) == ["2"]
    assert w.keymap.topic_partition(3) == (f"{w.prefix}-1", 1)
    with pytest.raises(ValueError, match="confluent"):
        CompactionWorkload(CompactionOptions(), "kafka-python")
