"""Grudge builders: shapes proved by properties over node counts and seeds."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prozess.nemesis import grudge as g

node_lists = st.integers(min_value=2, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)])
seeds = st.integers(min_value=0, max_value=2**32)


def links_up(grudge, a, b):
    return b not in grudge.get(a, ()) and a not in grudge.get(b, ())


def sees(grudge, nodes, a):
    return {b for b in nodes if b == a or links_up(grudge, a, b)}


def is_symmetric(grudge):
    return all(a in grudge.get(b, ()) for a, ps in grudge.items() for b in ps)


@given(node_lists)
def test_halves_splits_into_two_complete_sides_smaller_first(nodes):
    gr = g.halves(nodes)
    comps = g.components(gr, nodes)
    assert len(comps) == 2
    assert comps[0] == nodes[: len(nodes) // 2]
    assert len(comps[0]) <= len(comps[1])
    assert is_symmetric(gr)
    for a in nodes:
        for b in nodes:
            same = (a in comps[0]) == (b in comps[0])
            assert links_up(gr, a, b) == same or a == b


@given(node_lists, seeds)
def test_random_halves_is_seeded_and_a_split(nodes, seed):
    a = g.random_halves(nodes, random.Random(seed))
    b = g.random_halves(nodes, random.Random(seed))
    assert a == b
    comps = g.components(a, nodes)
    assert sorted(len(c) for c in comps) == sorted([len(nodes) // 2, len(nodes) - len(nodes) // 2])


@given(node_lists, seeds)
def test_isolate_one_cuts_exactly_one_node_off(nodes, seed):
    gr = g.isolate_one(nodes, random.Random(seed))
    comps = g.components(gr, nodes)
    assert sorted(len(c) for c in comps) == [1, len(nodes) - 1] if len(nodes) > 2 else [1, 1]
    lone = [c for c in comps if len(c) == 1][0][0]
    assert gr[lone] == frozenset(nodes) - {lone}


@given(st.integers(min_value=3, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)]), seeds)
def test_majorities_ring_every_node_sees_a_majority_and_nobody_sees_all(nodes, seed):
    gr = g.majorities_ring(nodes, random.Random(seed))
    m = len(nodes) // 2 + 1
    views = [frozenset(sees(gr, nodes, a)) for a in nodes]
    assert all(len(v) >= m for v in views)
    assert is_symmetric(gr)
    if len(nodes) >= 4:
        # the point of the ring: nodes disagree about who the majority is
        assert len(set(views)) > 1
        assert any(len(v) < len(nodes) for v in views)


def test_majorities_ring_of_five_sees_exactly_three_each():
    nodes = [f"n{i}" for i in range(1, 6)]
    gr = g.majorities_ring(nodes, random.Random(7))
    assert all(len(sees(gr, nodes, a)) == 3 for a in nodes)
    assert len({frozenset(sees(gr, nodes, a)) for a in nodes}) == 5


@given(st.integers(min_value=3, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)]))
def test_bridge_middle_node_sees_everyone_sides_do_not(nodes):
    gr = g.bridge(nodes)
    mid = nodes[len(nodes) // 2]
    assert gr[mid] == frozenset()
    assert not links_up(gr, nodes[0], nodes[-1])
    assert len(g.components(gr, nodes)) == 1  # connected only through the bridge


def test_split_controller_combined_and_dedicated():
    nodes = ["n1", "n2", "n3"]
    gr, sides = g.split_controller(nodes, nodes, "n2", random.Random(1))
    assert sides == [["n1", "n3"], ["n2"]]
    assert gr["n2"] == {"n1", "n3"}
    nodes = ["n1", "n2", "n3", "n4", "n5", "n6"]  # n1..n3 controllers, n4..n6 brokers
    gr, sides = g.split_controller(nodes, ["n4", "n5", "n6"], "n1", random.Random(3))
    small = sides[1]
    assert "n1" in small and len(small) == 2 and small[1] in ("n4", "n5", "n6")
    assert set(sides[0]) == set(nodes) - set(small)
    assert len([b for b in sides[0] if b in ("n4", "n5", "n6")]) == 2  # B1, B2
    with pytest.raises(g.GrudgeError, match="active controller"):
        g.split_controller(nodes, ["n4"], "n9", random.Random(0))


def test_custom_components_and_map_and_bad_names():
    nodes = ["n1", "n2", "n3"]
    assert g.to_json(g.custom([["n1"], ["n2", "n3"]], nodes)) == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}
    assert g.to_json(g.custom({"n1": ["n2"]}, nodes)) == {"n1": ["n2"], "n2": ["n1"], "n3": []}
    with pytest.raises(g.GrudgeError, match="unknown node"):
        g.custom([["n1"], ["n7"]], nodes)
    with pytest.raises(g.GrudgeError, match="list of components"):
        g.custom("n1|n2", nodes)


def test_too_few_nodes_is_a_clear_error():
    with pytest.raises(g.GrudgeError, match="at least 2 nodes"):
        g.halves(["n1"])
    with pytest.raises(g.GrudgeError, match="not one of the nodes"):
        g.isolate_one(["n1", "n2"], node="n5")


def test_isolate_from_cuts_only_the_named_links():
    nodes = ["n1", "n2", "n3", "zk1", "zk2", "zk3"]
    cut = g.isolate_from("n2", ["zk1", "zk2", "zk3"], nodes)
    assert cut["n2"] == {"zk1", "zk2", "zk3"}
    assert all(cut[z] == {"n2"} for z in ("zk1", "zk2", "zk3"))
    assert "n1" not in cut and "n3" not in cut  # the controller still reaches the other brokers
    with pytest.raises(g.GrudgeError):
        g.isolate_from("n9", ["zk1"], nodes)
    with pytest.raises(g.GrudgeError):
        g.isolate_from("n1", ["n1"], nodes)


def test_zookeeper_grudges_are_known_names():
    assert set(g.ZOOKEEPER_GRUDGES) <= set(g.GRUDGES)
