"""The one workload registry (prozess.workloads.registry): the spec, the runner and the checkers' defaults
all read it, and every workload it builds speaks the workload protocol. Built offline: no client connects
until a process opens one."""

from __future__ import annotations

import pytest

from prozess.workload_checkers import DEFAULT_CHECKERS
from prozess.workloads.clients.base import ClientOptions
from prozess.workloads.protocol import Workload
from prozess.workloads.registry import REGISTRY, WORKLOADS, build, entry


def test_every_workload_has_its_default_checkers_and_no_row_is_orphaned():
    assert set(WORKLOADS) == set(DEFAULT_CHECKERS) and WORKLOADS[0] == "queue"


#: what each workload needs beyond its defaults to be built (mirror names its target cluster)
NEEDS = {"mirror": {"target_bootstrap": "127.0.0.1:1"}}


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_entry_builds_a_workload_that_speaks_the_protocol(name):
    w = build(name, {"topic_prefix": "pz-reg", **NEEDS.get(name, {})}, "confluent", ClientOptions(), concurrency=8)
    assert isinstance(w, Workload)
    assert w.name == name
    assert isinstance(w.options, entry(name).options)
    assert entry(name).options.from_dict(dict(NEEDS.get(name, {}))).to_dict()


@pytest.mark.parametrize("name", WORKLOADS)
def test_the_checkers_default_to_the_registry_row(name):
    from prozess.checkers import CHECKERS, default_names

    assert default_names({"workload": name}) == list(entry(name).checkers)
    assert set(entry(name).checkers) <= set(CHECKERS)


def test_the_queue_builder_keeps_what_the_runner_did():
    """Transactions in the client make queue ops transactions unless `txn` is given; the op timeout is the client's."""
    w = build("queue", {"topic_prefix": "p"}, "confluent", ClientOptions(transactions=True, timeout_s=7.0))
    assert w.options.txn is True and w.options.op_timeout_s == 7.0 and w.options.topic_prefix == "p"
    w = build("queue", {"txn": False}, "confluent", ClientOptions(transactions=True))
    assert w.options.txn is False


def test_unknown_names_and_options_are_bad_input_naming_the_choices():
    from prozess.spec import SpecError, TestSpec

    with pytest.raises(KeyError, match="choose one of queue, eos"):
        entry("qeue")
    with pytest.raises(SpecError, match="choose one of queue, eos, group, compaction, mirror"):
        TestSpec(workload="qeue").validate()
    with pytest.raises(SpecError, match="unknown eos workload option"):
        TestSpec(workload="eos", workload_options={"nope": 1}).validate()
    assert REGISTRY["eos"] is entry("eos")
