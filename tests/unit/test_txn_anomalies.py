"""The cycle anomaly table: each row names the cycles it should, and the searches are derived from it."""

from __future__ import annotations

import itertools

import pytest

from prozess.checkers.txn_anomalies import SPECS, CycleSpec, classify, stages

KINDS = ("ww", "wr", "rw", "process", "realtime")


def _by_definition(kinds: list[str]) -> str:
    """Elle's names written out longhand, to hold the table against."""
    rw = [i for i, k in enumerate(kinds) if k == "rw"]
    n = len(kinds)
    if len(rw) == 1:
        base = "G-single"
    elif rw:
        base = "G2-item" if any((i + 1) % n in rw for i in rw) else "G-nonadjacent"
    else:
        base = "G1c" if "wr" in kinds else "G0"
    return base + ("-realtime" if "realtime" in kinds else "-process" if "process" in kinds else "")


def test_the_table_names_every_cycle_of_up_to_five_edges_as_elle_does():
    for n in range(1, 6):
        for kinds in itertools.product(KINDS, repeat=n):
            assert classify(list(kinds)) == _by_definition(list(kinds)), kinds


def test_every_row_names_some_cycle():
    names = {classify(list(k)) for n in range(1, 5) for k in itertools.product(KINDS, repeat=n)}
    for spec in SPECS:
        assert {spec.name, spec.name + "-process", spec.name + "-realtime"} <= names


def test_a_new_row_is_all_it_takes_to_name_a_new_anomaly():
    row = CycleSpec("G-two-wr", ("wr",), multiple="wr")
    assert row.matches(["wr", "wr", "realtime"]) and not row.matches(["wr", "ww"])


def test_searches_follow_the_rows_and_the_graph_searched():
    assert stages(("G1c",), ("wr", "process", "realtime")) == (
        ("G1c", ("wr",)), ("G1c-process", ("wr", "process")), ("G1c-realtime", ("wr", "process", "realtime")))
    assert stages(("G0", "G1c"))[:3] == (("G0", ("ww",)), ("G1c", ("ww", "wr")), ("G0-process", ("ww", "process")))
    assert stages(("G2-item",), variants=("-realtime",)) == (("G2-item-realtime", KINDS),)


def test_a_cycle_no_row_describes_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="no cycle anomaly"):
        classify(["bogus"])
