"""Fault accounting: each nemesis action's outcome, counts per kind, windows only for applied actions,
and the verdict rule (a requested kind that never took effect is unknown). Also the live-target lookup's
choice of partitions and its bounded wait (a stand-in cluster answers, since only the waiting logic is tested
here; the real lookup runs in tests/integration/test_fault_accounting.py)."""

from __future__ import annotations

import random

import pytest

from prozess.history import Op
from prozess.nemesis.accounting import account, never_applied, summary_lines, verdict_notes
from prozess.nemesis.executor import NemesisError
from prozess.nemesis.targets import leader_candidates, resolve

S = 1_000_000_000


class Nem:
    """Builds a nemesis op list: action(f, value_in, value_out, t0, t1)."""

    def __init__(self):
        self.ops: list[Op] = []

    def action(self, f, t0, t1, out=None, *, error=None, value=None, complete=True):
        self.ops.append(Op(len(self.ops), int(t0 * S), "info", "nemesis", f, value or {}))
        if complete:
            self.ops.append(Op(len(self.ops), int(t1 * S), "info", "nemesis", f, out if out is not None else (value or {}), error=error))
        return self


def test_applied_and_failed_actions_are_counted_and_only_applied_ones_open_windows():
    n = (
        Nem()
        .action("start-partition", 5, 5.2, {"grudge": "halves", "drops": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}})
        .action("kill", 5.3, 5.5, {"targets": "leader", "error": "NemesisError: no leader is known"})
        .action("start", 10, 10.4, {"started": []})
        .action("stop-partition", 10.5, 10.6, {})
        .action("start-partition", 15, 15.1, {"nodes": ["n2"]})
        .action("kill", 15.2, 15.6, {"targets": "one", "nodes": ["n3"]})
        .action("start", 20, 21, {"started": ["n3"]})
        .action("stop-partition", 21.1, 21.2, {})
    )
    schedule = [{"at": 5, "f": "start-partition"}, {"at": 5, "f": "kill"}, {"at": 10, "f": "start"}, {"at": 10, "f": "stop-partition"},
                {"at": 15, "f": "start-partition"}, {"at": 15, "f": "kill"}, {"at": 20, "f": "start"}, {"at": 20, "f": "stop-partition"},
                {"at": 25, "f": "kill"}]
    acc = account(n.ops, faults=["partition+kill"], schedule=schedule)
    kill, part = acc["kinds"]["kill"], acc["kinds"]["partition"]
    assert (kill["scheduled"], kill["invoked"], kill["applied"], kill["failed"], kill["not-reached"]) == (3, 2, 1, 1, 1)
    assert (part["scheduled"], part["applied"], part["failed"]) == (2, 2, 0)
    assert kill["failures"][0]["reason"] == "NemesisError: no leader is known"
    # the failed kill opens no window; the applied one runs from its start to the completion of `start`
    assert [(w["start_s"], w["end_s"], w["nodes"]) for w in kill["windows"]] == [(15.2, 21.0, ["n3"])]
    assert [(w["start_s"], w["end_s"]) for w in part["windows"]] == [(5.0, 10.6), (15.0, 21.2)]
    assert part["windows"][0]["nodes"] == ["n1", "n2", "n3"]
    assert acc["never-applied"] == {}
    assert acc["failed"] == 1
    assert "kill: 3 scheduled, 1 applied, 1 failed, 1 not reached (first failure: NemesisError: no leader is known)" in summary_lines(acc)
    outcomes = [(a["f"], a["outcome"]) for a in acc["actions"]]
    assert ("kill", "failed") in outcomes and ("kill", "applied") in outcomes


def test_a_kind_that_never_took_effect_makes_a_valid_verdict_unknown_with_the_reason():
    n = Nem().action("kill", 5, 5.1, {"error": "NemesisError: no leader is known for any of t-0"}).action("start", 10, 10.1, {"started": []})
    acc = account(n.ops, faults=["kill"])
    assert acc["kinds"]["kill"]["applied"] == 0 and acc["kinds"]["kill"]["windows"] == []
    assert "no leader is known" in acc["never-applied"]["kill"]
    results = {"valid": True}
    verdict_notes(results, acc)
    assert results["valid"] == "unknown" and "fault kill never took effect" in results["error"]
    assert "no leader is known" in results["error"]
    # an anomaly found under the faults that did happen is still an anomaly
    invalid = {"valid": False}
    verdict_notes(invalid, acc)
    assert invalid["valid"] is False and "kill" in invalid["faults-not-applied"]


def test_partial_failures_keep_the_verdict():
    n = Nem().action("pause", 1, 1.1, {"error": "NemesisError: boom"}).action("resume", 2, 2.1).action("pause", 3, 3.1, {"nodes": ["n1"]}).action("resume", 4, 4.1)
    acc = account(n.ops, faults=["pause"])
    results = {"valid": True}
    verdict_notes(results, acc)
    assert results == {"valid": True}
    assert (acc["kinds"]["pause"]["applied"], acc["kinds"]["pause"]["failed"]) == (1, 1)


def test_unreached_unscheduled_unavailable_and_unfinished_actions():
    # requested but never scheduled
    assert "no action of this kind was scheduled" in never_applied(account([], faults=["clock"], schedule=[]))["clock"]
    # unavailable (netem without sch_netem)
    n = Nem().action("start-netem", 1, 1.1, {"error": "unavailable: kernel has no netem"})
    acc = account(n.ops, faults=["netem"], unavailable={"netem": "unavailable: kernel has no netem"})
    assert acc["kinds"]["netem"]["unavailable"] == 1 and acc["never-applied"]["netem"].startswith("unavailable")
    # a start that never completed (the run ended mid-action) failed; an applied one never healed stays open
    n = Nem().action("kill", 1, 1.2, {"nodes": ["n1"]}).action("start-partition", 2, 0, complete=False)
    acc = account(n.ops, faults=["kill", "partition"], end_time=9 * S)
    assert acc["kinds"]["partition"]["failed"] == 1 and "never completed" in acc["kinds"]["partition"]["failures"][0]["reason"]
    (w,) = acc["kinds"]["kill"]["windows"]
    assert w["healed"] is False and w["end_s"] == 9.0


def test_heal_all_closes_every_open_window_and_a_runner_exception_counts_as_failed():
    n = Nem().action("kill", 1, 1.2, {"nodes": ["n1"]}).action("pause", 2, 2.1, {"nodes": ["n2"]}, error="RuntimeError: x").action("heal-all", 8, 9)
    acc = account(n.ops, faults=["kill", "pause"])
    assert [(w["kind"], w["end_s"], w["healed"]) for w in acc["kinds"]["kill"]["windows"]] == [("kill", 9.0, True)]
    assert acc["kinds"]["pause"]["failed"] == 1 and acc["kinds"]["pause"]["windows"] == []
    assert acc["edges"]["kill"] == ["kill", "start"] and acc["edges"]["start"] == ["kill", "stop"]


class Lookup:
    """Answers leader/controller questions from a table; None until `ready_after` calls were made."""

    def __init__(self, leaders, ready_after=0, controller="n2"):
        self.leaders, self.ready_after, self.calls, self.controller = leaders, ready_after, [], controller

    def leader(self, topic, partition):
        self.calls.append((topic, partition))
        return self.leaders.get((topic, partition)) if len(self.calls) > self.ready_after else None

    def active_controller(self):
        self.calls.append("controller")
        return self.controller if len(self.calls) > self.ready_after else None


def test_leader_candidates_are_every_run_partition_unless_a_topic_is_named():
    run = [("run-0", 0), ("run-0", 1), ("run-1", 0)]
    assert leader_candidates(None, 0, run) == run
    assert leader_candidates("other", 3, run) == [("other", 3)]


def test_resolve_waits_for_a_leader_then_names_the_partition():
    c = Lookup({("run-0", 1): "n3"}, ready_after=4)
    t = [0.0]
    node = resolve(c, "leader", [("run-0", 0), ("run-0", 1)], wait_s=10, rng=random.Random(1), sleep=lambda s: t.__setitem__(0, t[0] + s), clock=lambda: t[0])
    assert node == "n3" and node.where == "run-0-1"
    assert t[0] > 0  # it waited


def test_resolve_fails_after_the_wait_naming_what_it_asked():
    t = [0.0]
    with pytest.raises(NemesisError, match=r"no leader is known for any of nope-0 after waiting 3 s"):
        resolve(Lookup({}), "leader", [("nope", 0)], wait_s=3, sleep=lambda s: t.__setitem__(0, t[0] + s), clock=lambda: t[0])
    assert 3 <= t[0] <= 4
    with pytest.raises(NemesisError, match="no partition"):
        resolve(Lookup({}), "leader", [], wait_s=0)
    assert resolve(Lookup({}, controller="n1"), "controller", wait_s=0) == "n1"
