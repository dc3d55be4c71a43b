"""Disk faults as schedule data: kinds, seeded start steps, options, replay validation (no cluster)."""

from __future__ import annotations

import random

import pytest

from prozess.nemesis import disk
from prozess.nemesis.combined import build_nemesis, fault_kinds
from prozess.nemesis.schedule import FS, ScheduleError, fault_edge, make_schedule, parse_faults, validate_schedule

NODES = ["n1", "n2", "n3"]


def test_disk_kinds_are_start_stop_pairs_known_to_the_schedule():
    for kind, (start, stop) in disk.START_STOP.items():
        assert {start, stop} <= FS
        assert fault_edge(start) == (kind, "start") and fault_edge(stop) == (kind, "stop")
    assert fault_kinds("power-cut+disk-full,corrupt-segment") == {"power-cut", "disk-full", "corrupt-segment"}


def test_all_does_not_include_disk_faults():
    kinds = {k for g in parse_faults("all") for k in g}
    assert kinds and not kinds & set(disk.KINDS)


def test_schedule_is_seeded_and_replays():
    a = make_schedule(["power-cut", "corrupt-segment", "disk-full"], nodes=NODES, time_limit=120, rng=random.Random(3))
    b = make_schedule(["power-cut", "corrupt-segment", "disk-full"], nodes=NODES, time_limit=120, rng=random.Random(3))
    assert a == b and validate_schedule(a) == a
    starts = [s for s in a if s["f"] in disk.STARTS]
    assert starts and all(s["value"]["targets"] in disk.TARGETS for s in starts)
    for s in starts:
        if s["value"]["targets"] in ("one", "minority", "majority", "all"):
            assert set(s["value"]["nodes"]) <= set(NODES)
    stops = [s["f"] for s in a if s["f"] in disk.FS - disk.STARTS]
    assert len(stops) == len(starts)


def test_power_cut_targets_option_limits_the_choice():
    s = make_schedule(["power-cut"], nodes=NODES, time_limit=200, rng=random.Random(1), options={"disk": {"targets": ["all"]}})
    assert {x["value"]["nodes"] == NODES for x in s if x["f"] == "start-power-cut"} == {True}
    s = make_schedule(["power-cut"], nodes=NODES, time_limit=60, rng=random.Random(1), options={"disk": {"targets": ["replicas"]}, "topic": "t"})
    assert all(x["value"] == {"targets": "replicas", "topic": "t", "partition": 0} for x in s if x["f"] == "start-power-cut")


def test_corrupt_steps_record_file_choice_mode_and_seed():
    s = make_schedule(["corrupt-segment"], nodes=NODES, time_limit=200, rng=random.Random(5), options={"disk": {"corrupt_modes": ["truncate"]}})
    vals = [x["value"] for x in s if x["f"] == "start-corrupt-segment"]
    assert vals and all(v["mode"] == "truncate" and v["target"] in disk.CORRUPT_TARGETS and isinstance(v["seed"], int) and len(v["nodes"]) == 1 for v in vals)


@pytest.mark.parametrize("bad, words", [
    ({"targets": ["everyone"]}, "targets"),
    ({"corrupt_modes": []}, "corrupt_modes"),
    ({"headroom": -1}, "headroom"),
    ({"colour": 1}, "unknown disk option"),
    ("all", "must be a map"),
])
def test_bad_disk_options_are_one_clear_error(bad, words):
    with pytest.raises(ScheduleError, match=words):
        build_nemesis(["power-cut"], {"disk": bad})


def test_heal_argv_is_a_constant_script_with_positional_paths():
    argv = disk.heal_argv("/opt/prozess/bin/prozess-disk")
    assert argv[:2] == ["sh", "-c"] and "/opt/prozess" not in argv[2]
    assert argv[-2:] == ["/opt/prozess/bin/prozess-disk", disk.MARKER]


class _NoLayer:
    """A stand-in cluster whose nodes answer every exec with exit 127 (no prozess-disk): the unavailable path."""

    nodes = NODES
    brokers = NODES

    def exec(self, node, argv, timeout=30, input=None):
        from prozess.cluster.backends.base import ExecResult

        return ExecResult(127, "", "prozess-disk: not found")


def test_nodes_without_the_layer_make_disk_faults_unavailable():
    from prozess.nemesis.combined import Combined, unavailable_faults

    out = unavailable_faults(_NoLayer(), ["power-cut", "partition"])
    assert set(out) == {"power-cut"} and out["power-cut"].startswith("unavailable:")
    nem = Combined(["power-cut"])
    nem.cluster = _NoLayer()
    from prozess.nemesis.executor import Executor

    nem.ex = Executor(nem.cluster)
    t, value = nem.invoke("start-power-cut", {"targets": "one", "nodes": ["n2"]})
    assert t == "info" and value["error"].startswith("unavailable:") and value["nodes"] == ["n2"]


def test_corrupt_target_leader_is_named_only_and_keeps_the_seeded_choices_of_the_others():
    assert "leader" in disk.CORRUPT_TARGETS and "leader" not in disk.DEFAULTS["corrupt_targets"]
    opts = {"disk": {"corrupt_targets": ["leader"], "corrupt_modes": ["bitflip"]}, "topic": "t"}
    s = make_schedule(["corrupt-segment"], nodes=NODES, time_limit=200, rng=random.Random(5), options=opts)
    vals = [x["value"] for x in s if x["f"] == "start-corrupt-segment"]
    assert vals and all(v["targets"] == "leader" and v["target"] == "leader" and "nodes" not in v and v["topic"] == "t"
                        and v["partition"] == 0 for v in vals)
    # The same rng draws as for a file target: naming `leader` changes the node choice alone.
    newest = make_schedule(["corrupt-segment"], nodes=NODES, time_limit=200, rng=random.Random(5),
                           options={**opts, "disk": {"corrupt_targets": ["newest"], "corrupt_modes": ["bitflip"]}})
    assert [x["value"]["seed"] for x in newest if x["f"] == "start-corrupt-segment"] == [v["seed"] for v in vals]


class _Layer:
    """A stand-in executor whose every node runs a layer that answers each command (records what it was sent)."""

    cluster = None

    def __init__(self):
        self.sent = []

    def run(self, node, argv, check=True, timeout=30):
        import json

        from prozess.cluster.backends.base import ExecResult

        req = json.loads(argv[-1])
        self.sent.append((node, req))
        reply = {"ok": True, "file": "t-0/00000000000000000000.log", "offset": 5, "length": 64, "inode": 1} if req["cmd"] == "corrupt" else {"ok": True}
        return ExecResult(0, json.dumps(reply) + "\n", "")


def test_corrupt_leader_damages_the_newest_segment_of_that_partition_on_its_leader():
    from types import SimpleNamespace

    asked = []
    ex = _Layer()
    nem = SimpleNamespace(ex=ex, opts=SimpleNamespace(topic=None), default_topic="run-0",
                          targets=lambda v: asked.append(dict(v)) or ["n2"])
    out = disk.apply(nem, "start-corrupt-segment", {"targets": "leader", "target": "leader", "mode": "bitflip", "seed": 7, "topic": None})
    assert asked == [{"targets": "leader", "target": "leader", "mode": "bitflip", "seed": 7, "topic": "run-0", "partition": 0}]
    corrupt = [req for node, req in ex.sent if req["cmd"] == "corrupt"]
    assert corrupt == [{"cmd": "corrupt", "target": "newest", "mode": "bitflip", "seed": 7, "topic": "run-0", "partition": 0}]
    assert [n for n, req in ex.sent if req["cmd"] == "corrupt"] == ["n2"]
    assert out["nodes"] == ["n2"] and out["topic"] == "run-0" and out["partition"] == 0 and out["regions"]["n2"]["offset"] == 5
