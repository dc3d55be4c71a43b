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
