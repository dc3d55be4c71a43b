"""The op dispatch and naming shared by the confluent workloads: each outcome of a client call becomes the right completion."""

from __future__ import annotations

import pytest

from prozess.workloads.adapter import invoke_op, require_confluent, run_prefix
from prozess.workloads.clients.base import FAIL, INFO, ClientOpError, ClientOptions
from prozess.workloads.eos import EosOptions, EosWorkload
from prozess.workloads.group import GroupOptions, GroupWorkload


class Client:
    def __init__(self):
        self.calls = []

    def read(self, value):
        self.calls.append(value)
        return {"read": value}

    def fail(self, value):
        raise ClientOpError(FAIL, "certainly not done")

    def lose(self, value):
        raise ClientOpError(INFO, "outcome unknown", {"partial": True})


OPS = {"read": Client.read, "fail": Client.fail, "lose": Client.lose}


def test_an_ok_call_completes_with_its_return_value():
    c = Client()
    assert invoke_op("w", OPS, c, {"f": "read", "value": 3}) == ("ok", {"read": 3}, None)
    assert c.calls == [3]


def test_a_client_error_completes_with_its_outcome_and_the_best_known_value():
    assert invoke_op("w", OPS, Client(), {"f": "fail", "value": 1}) == (FAIL, 1, "certainly not done")
    assert invoke_op("w", OPS, Client(), {"f": "lose", "value": 1}) == (INFO, {"partial": True}, "outcome unknown")


def test_crash_is_info_only_where_the_workload_has_crashes():
    assert invoke_op("w", OPS, Client(), {"f": "crash", "value": None}, crash="abandoned") == ("info", None, "abandoned")
    with pytest.raises(ValueError, match="w workload has no op 'crash'"):
        invoke_op("w", OPS, Client(), {"f": "crash", "value": None})


def test_an_unknown_op_is_a_programming_error_not_a_completion():
    with pytest.raises(ValueError, match="w workload has no op 'nope'"):
        invoke_op("w", OPS, Client(), {"f": "nope"})


def test_a_missing_value_reaches_the_handler_as_empty():
    c = Client()
    invoke_op("w", OPS, c, {"f": "read"}, empty={})
    assert c.calls == [{}]


def test_only_the_confluent_client_is_accepted():
    require_confluent("eos", "confluent")
    with pytest.raises(ValueError, match=r"the eos workload needs the confluent client \(why\); got 'kafka-python'"):
        require_confluent("eos", "kafka-python", " (why)")
    with pytest.raises(ValueError, match="the group workload needs the confluent client"):
        GroupWorkload(GroupOptions(), "kafka-python")


def test_topics_are_fresh_per_run_unless_the_prefix_is_chosen():
    run = ClientOptions(group_id="Run_7")
    assert run_prefix(EosOptions(), run) == "prozess-eos-run-7"
    assert run_prefix(EosOptions(topic_prefix="mine"), run) == "mine"
    assert run_prefix(GroupOptions(), ClientOptions()) == "prozess-group"
    assert EosWorkload(EosOptions(), client_options=run).input_topic.startswith("prozess-eos-run-7")
