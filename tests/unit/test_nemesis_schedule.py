"""Schedules: seeded, composable, bounded by the quiet phase, saved and replayed exactly."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.nemesis.combined import Combined
from prozess.nemesis.schedule import (
    FAULTS,
    START_STOP,
    Options,
    ScheduleError,
    delays,
    make_schedule,
    parse_faults,
    validate_schedule,
)

NODES = ["n1", "n2", "n3"]
STARTS = {a for a, _ in START_STOP.values()} | {"strobe-clock"}
STOPS = {b for _, b in START_STOP.values()}

fault_specs = st.lists(st.sampled_from(FAULTS), min_size=1, max_size=4, unique=True).flatmap(
    lambda ks: st.sampled_from([",".join(ks), "+".join(ks)])
)


@settings(max_examples=60, deadline=None)
@given(fault_specs, st.integers(0, 2**31), st.floats(20, 300), st.floats(2, 30), st.floats(0.1, 0.9), st.floats(0, 20))
def test_every_start_is_stopped_before_the_quiet_phase(faults, seed, time_limit, interval, duty, quiet):
    steps = make_schedule(faults, nodes=NODES, time_limit=time_limit, rng=random.Random(seed), options={"interval": interval, "duty": duty, "quiet": quiet, "topic": "t"})
    assert steps == make_schedule(faults, nodes=NODES, time_limit=time_limit, rng=random.Random(seed), options={"interval": interval, "duty": duty, "quiet": quiet, "topic": "t"})
    active: dict[str, int] = {}
    last = 0.0
    for s in steps:
        assert s["at"] >= last
        last = s["at"]
        assert s["at"] <= time_limit - quiet + 0.01
        kind = next((k for k, (a, b) in START_STOP.items() if s["f"] in (a, b)), "clock" if s["f"] == "strobe-clock" else None)
        if s["f"] in STARTS:
            assert active.get(kind, 0) == 0, f"{kind} started twice without a stop"
            active[kind] = 1
        elif s["f"] in STOPS:
            active[kind] = 0
    assert not any(active.values())
    json.dumps(steps)  # plain data, saved as is


def test_composed_group_starts_together_and_stops_in_reverse():
    steps = make_schedule("partition+kill", nodes=NODES, time_limit=30, rng=random.Random(3), options={"interval": 10, "duty": 0.5, "quiet": 5})
    fs = [s["f"] for s in steps[:4]]
    assert fs == ["start-partition", "kill", "start", "stop-partition"]
    assert steps[0]["at"] == 5.0 and steps[2]["at"] == 10.0


def test_alternating_groups_use_each_kind():
    steps = make_schedule("partition,kill,pause,clock", nodes=NODES, time_limit=400, rng=random.Random(1), options={"interval": 4, "quiet": 0})
    fs = {s["f"] for s in steps}
    assert {"start-partition", "kill", "pause", "reset-clock", "check-offsets"} <= fs


def test_all_means_every_kind_and_none_means_nothing():
    assert parse_faults("all") == [[k] for k in FAULTS]
    assert parse_faults(["partition+kill", "clock"]) == [["partition", "kill"], ["clock"]]
    assert make_schedule("none", nodes=NODES, time_limit=60, rng=random.Random(0)) == []
    assert make_schedule(None, nodes=NODES, time_limit=60, rng=random.Random(0)) == []


def test_random_choices_are_made_in_the_schedule_not_later():
    steps = make_schedule("partition,kill", nodes=NODES, time_limit=200, rng=random.Random(5), options={"grudges": ["random-halves"], "targets": ["minority"]})
    for s in steps:
        if s["f"] == "start-partition":
            assert set(s["value"]["drops"]) == set(NODES)
        if s["f"] == "kill":
            assert len(s["value"]["nodes"]) == 1


@pytest.mark.parametrize(
    "faults, options, match",
    [
        ("partition,kil", {}, "unknown fault"),
        ("partition+partition", {}, "twice"),
        ("partition", {"duty": 1.5}, "duty"),
        ("partition", {"interval": 0}, "interval"),
        ("partition", {"grudges": ["triangle"]}, "unknown grudge"),
        ("partition", {"grudges": ["custom"]}, "custom_grudge"),
        ("kill", {"targets": ["some"]}, "unknown targets"),
        ("kill", {"bogus": 1}, "unknown nemesis option 'bogus'"),
        ("partition", {"clients": "all"}, "clients"),
    ],
)
def test_bad_options_name_the_problem(faults, options, match):
    with pytest.raises(ScheduleError, match=match):
        make_schedule(faults, nodes=NODES, time_limit=60, rng=random.Random(0), options=options)


def test_saved_schedule_replays_exactly_through_the_nemesis():
    test = {"faults": ["partition", "kill", "clock"], "time_limit": 120, "nemesis": {"interval": 6}, "cluster": {"nodes": 3}}
    first = Combined()
    first.faults = test["faults"]
    first.opts = Options.from_dict(test["nemesis"])
    plan = first.schedule(test, random.Random(42)).as_delays()
    saved = json.loads(json.dumps(test))  # as test.json would hold it
    assert saved["nemesis_schedule"] == first.steps
    again = Combined()
    # a different rng: the saved schedule wins
    assert again.schedule(saved, random.Random(7)).as_delays() == plan
    assert [d for d, _, _ in plan][0] == pytest.approx(3.0)


def test_delays_are_differences_of_times():
    steps = [{"at": 1.0, "f": "kill", "value": {}}, {"at": 3.5, "f": "start", "value": {}}]
    assert list(delays(steps)) == [(1.0, "kill", {}), (2.5, "start", {})]


def test_bad_saved_schedule_is_rejected_with_the_step():
    with pytest.raises(ScheduleError, match="step 1"):
        validate_schedule([{"at": 2, "f": "kill", "value": {}}, {"at": 1, "f": "start", "value": {}}])
    with pytest.raises(ScheduleError, match="unknown f"):
        validate_schedule([{"at": 2, "f": "explode", "value": {}}])


def test_build_nemesis_speaks_the_runner_protocol_and_rejects_bad_names_early():
    from prozess.nemesis import build_nemesis
    from prozess.nemesis.protocol import Nemesis

    nem = build_nemesis(["partition+kill", "clock"], {"interval_s": 6, "quiet_s": 3})
    assert isinstance(nem, Nemesis)
    assert (nem.opts.interval, nem.opts.quiet) == (6, 3)
    with pytest.raises(ScheduleError, match="unknown fault"):
        build_nemesis(["partiton"], {})
    with pytest.raises(ScheduleError, match="unknown nemesis option"):
        build_nemesis(["kill"], {"intervall": 3})


def test_fault_edges_pair_every_start_with_its_stop():
    from prozess.nemesis import fault_edge

    for kind, (start, stop) in START_STOP.items():
        assert fault_edge(start) == (kind, "start") and fault_edge(stop) == (kind, "stop")
    assert fault_edge("strobe-clock") == ("clock", "start")
    assert fault_edge("check-offsets") is None


def test_faults_without_a_cluster_fail_setup_with_a_clear_message():
    from prozess.nemesis import NemesisError, build_nemesis

    with pytest.raises(NemesisError, match="need nodes"):
        build_nemesis(["kill"], {}).setup(None, {"faults": ["kill"]})


def test_timed_schedule_does_not_drift_when_steps_take_time():
    from prozess.nemesis.combined import TimedSchedule

    now = [100.0]
    steps = [{"at": 5.0, "f": "kill", "value": {}}, {"at": 10.0, "f": "start", "value": {}}, {"at": 12.0, "f": "pause", "value": {}}]
    it = iter(TimedSchedule(steps, clock=lambda: now[0]))
    assert next(it)[0] == 5.0
    now[0] += 5.0 + 3.0  # waited 5 s, then the kill took 3 s
    assert next(it)[0] == 2.0  # still starts at second 10
    now[0] += 2.0 + 4.0  # the start took 4 s: now at second 16, past 12
    assert next(it) == (0.0, "pause", {})
