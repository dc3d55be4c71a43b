"""ClusterSpec: presets, validation errors that name the field, and a lossless dict round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from prozess.cluster.spec import MAX_NODES, PRESETS, ClusterSpec, SpecError


def test_defaults_are_the_safe_preset():
    spec = ClusterSpec()
    assert (spec.nodes, spec.replication_factor, spec.min_insync_replicas, spec.unclean_leader_election) == (3, 3, 2, False)
    assert ClusterSpec.preset("safe") == spec
    assert spec.node_names == ["n1", "n2", "n3"] and spec.broker_nodes == spec.controller_nodes == spec.node_names


def test_unsafe_preset_allows_loss():
    spec = ClusterSpec.preset("unsafe", nodes=5)
    assert spec.min_insync_replicas == 1 and spec.unclean_leader_election is True and spec.nodes == 5


def test_dedicated_controllers():
    spec = ClusterSpec(nodes=6, controllers="dedicated", controller_count=3)
    assert spec.controller_nodes == ["n1", "n2", "n3"] and spec.broker_nodes == ["n4", "n5", "n6"]
    assert spec.roles("n1") == ["controller"] and spec.roles("n5") == ["broker"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"nodes": 0}, "nodes"),
        ({"nodes": MAX_NODES + 1}, "nodes"),
        ({"controllers": "zk"}, "controllers"),
        ({"nodes": 3, "controllers": "dedicated", "controller_count": 3}, "controller_count"),
        ({"replication_factor": 4}, "replication_factor"),
        ({"min_insync_replicas": 4}, "min_insync_replicas"),
        ({"broker_overrides": {"a": 1}}, "broker_overrides"),
        ({"kafka_version": "4.4.0; rm"}, "kafka_version"),
    ],
)
def test_bad_spec_names_the_field(kwargs, field):
    with pytest.raises(SpecError, match=field):
        ClusterSpec(**kwargs)


def test_unknown_preset_and_unknown_field():
    with pytest.raises(SpecError, match="unknown cluster preset 'fast'.*safe"):
        ClusterSpec.preset("fast")
    with pytest.raises(SpecError, match="unknown field.*brokers"):
        ClusterSpec.from_dict({"brokers": 3})


@given(
    nodes=st.integers(3, MAX_NODES),
    preset=st.sampled_from(sorted(PRESETS)),
    overrides=st.dictionaries(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,2}", fullmatch=True), st.text("abc123", max_size=5), max_size=3),
)
def test_dict_round_trip(nodes, preset, overrides):
    spec = ClusterSpec.preset(preset, nodes=nodes, broker_overrides=overrides)
    assert ClusterSpec.from_dict(spec.to_dict()) == spec
