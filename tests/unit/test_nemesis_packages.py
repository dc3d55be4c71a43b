"""The fault kinds as packages behave as the nemesis did before: same schedules, pairing and heal.

`fixtures/nemesis_baseline.json` was recorded from the nemesis before its fault kinds
became one module each (seeded schedules of several fault mixes, node sets and
options; the schedules of the runner-facing `Combined` and of every targeted
strategy; the f -> (kind, start|stop) pairing; the heal argv). Each test recomputes
the same thing now and compares: a changed rng draw, a lost step or a renamed f fails.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from prozess.nemesis import disk
from prozess.nemesis.accounting import edges
from prozess.nemesis.combined import Combined
from prozess.nemesis.heal import heal_argv
from prozess.nemesis.schedule import FS, START_STOP, fault_edge, make_schedule, parse_faults
from prozess.nemesis.targeted import Targeted

BASELINE = json.loads((Path(__file__).parent / "fixtures" / "nemesis_baseline.json").read_text())


def _same(x):
    """JSON round trip: tuples become lists, as in the fixture."""
    return json.loads(json.dumps(x))


@pytest.mark.parametrize("case", BASELINE["schedules"], ids=lambda c: f"{c['faults']}-{len(c['nodes'])}n-seed{c['seed']}")
def test_make_schedule_draws_the_same_steps_for_the_same_seed(case):
    steps = make_schedule(case["faults"], nodes=case["nodes"], brokers=case["brokers"], time_limit=case["time_limit"],
                          rng=random.Random(case["seed"]), options=case["options"])
    assert _same(steps) == case["steps"]


@pytest.mark.parametrize("case", BASELINE["combined"], ids=lambda c: f"{c['faults'][0]}-seed{c['seed']}")
def test_the_runner_facing_nemesis_schedules_as_before(case):
    test = {"faults": case["faults"], "time_limit": case["time_limit"], "nemesis": case["options"], "cluster": {"nodes": case["nodes"]}}
    plan = Combined(case["faults"], case["options"]).schedule(test, random.Random(case["seed"])).as_delays()
    assert _same(plan) == case["delays"]


@pytest.mark.parametrize("case", BASELINE["targeted"], ids=lambda c: c["strategy"])
def test_targeted_strategies_schedule_as_before(case):
    test = {"time_limit": case["time_limit"], "workload_options": {}}
    t = Targeted(case["strategy"], case["options"])
    t.topic = case["options"]["topic"]
    assert _same(list(t.schedule(test, random.Random(0)))) == case["steps"]
    assert _same(test.get("targeted")) == case["saved"]


def test_pairing_and_fault_names_are_unchanged():
    # The baseline predates the mirror package (its kinds came later, with fs of their own): compare the rest.
    from prozess.nemesis import mirror

    mirror_fs = mirror.PACKAGE.fs
    assert _same({k: v for k, v in START_STOP.items() if k not in mirror.KINDS}) == BASELINE["start_stop"]
    assert sorted(FS - mirror_fs) == BASELINE["fs"]
    assert {f: e for f, e in edges().items() if f not in mirror_fs} == BASELINE["edges"]
    assert {f: _same(fault_edge(f)) for f in BASELINE["fault_edge"]} == BASELINE["fault_edge"]
    assert {s: parse_faults(s) for s in BASELINE["parse_faults"]} == BASELINE["parse_faults"]


def test_heal_runs_the_same_commands():
    assert heal_argv(None) == BASELINE["heal_argv"]["none"]
    assert heal_argv("/opt/faketime/offset") == BASELINE["heal_argv"]["path"]
    assert disk.heal_argv("/opt/prozess/bin/prozess-disk") == BASELINE["disk_heal_argv"]


# ------------------------------------------------------------------ the packages themselves
def test_every_package_acts_on_the_fs_it_pairs_and_no_two_share_one():
    from prozess.nemesis import packages

    seen: set[str] = set()
    for p in packages.PACKAGES:
        paired = {f for pair in p.pairs.values() for f in pair} | set(p.also_start)
        assert paired <= p.fs, p.name
        assert not (p.fs & seen), p.name
        seen |= p.fs
    assert seen == packages.FS
    assert [p.name for p in packages.HEAL_ORDER] == ["clock", "partition", "link", "disk", "mirror", "process"]
    assert sorted(p.name for p in packages.HEAL_ORDER) == sorted(p.name for p in packages.PACKAGES)


def test_the_reports_table_for_old_runs_is_the_pairing_those_runs_had():
    from prozess.nemesis import packages
    from prozess.report.faults import SAVED_EDGES

    assert SAVED_EDGES == BASELINE["edges"]
    assert all(packages.edges()[f] == edge for f, edge in SAVED_EDGES.items())


def test_the_schedule_writes_the_window_pairing_of_the_selected_kinds_into_the_test():
    test = {"faults": ["partition+kill"], "time_limit": 60, "cluster": {"nodes": 3}}
    Combined(test["faults"]).schedule(test, random.Random(0))
    assert test["fault_edges"] == {"start-partition": ["partition", "start"], "stop-partition": ["partition", "stop"],
                                   "kill": ["kill", "start"], "start": ["kill", "stop"], "pause": ["pause", "start"], "resume": ["pause", "stop"]}
    assert json.loads(json.dumps(test))["fault_edges"] == test["fault_edges"]  # as test.json keeps it
    targeted = {"time_limit": 60}
    Targeted("kill-leader", {"topic": "t"}).schedule(targeted, random.Random(0))
    assert targeted["fault_edges"] == {"start-partition": ["partition", "start"], "stop-partition": ["partition", "stop"],
                                       "kill": ["kill", "start"], "start": ["kill", "stop"]}


def test_combined_composes_only_the_selected_packages():
    """A step of a kind the faults do not name is refused with the reason, before anything touches a node."""
    from prozess.nemesis.combined import compose
    from prozess.nemesis.executor import Executor
    from prozess.nemesis.packages import select

    assert set(compose(select({"partition", "clock"}))) == {"start-partition", "stop-partition", "bump-clock", "strobe-clock", "reset-clock", "check-offsets"}

    class Untouchable:
        nodes = ("n1", "n2", "n3")

        def exec(self, *a, **k):
            raise AssertionError("no command may run")

    nem = Combined(["partition"])
    nem.cluster, nem.ex = Untouchable(), Executor(Untouchable())
    typ, value = nem.invoke("kill", {"nodes": ["n1"]})
    assert typ == "info" and "kill" in value["error"] and "do not name" in value["error"]
    typ, value = nem.invoke("explode", {})
    assert value["error"] == "unknown nemesis f 'explode'"


def test_nothing_under_nemesis_imports_pytest():
    import ast

    import prozess.nemesis

    root = Path(prozess.nemesis.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "pytest"]
    assert offenders == []
