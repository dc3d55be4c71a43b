"""The cluster control contract (prozess.cluster.control): the Cluster implements all of it, and the
stand-in clusters of the nemesis tests implement the parts they claim.

The Cluster is checked on its class (making one needs a backend); the stand-ins are checked as
instances with `isinstance` on the runtime-checkable protocols, which is what a nemesis relies on.
"""

from __future__ import annotations

import typing

import pytest

from prozess.cluster import control
from prozess.cluster.control import (
    Addresses, ClusterControl, LeaderLookup, Lifecycle, LogFiles, NodeCommands, NodeLayouts, ProcessControl, ReplicaLookup,
)


def members(proto: type) -> set[str]:
    """The names a protocol asks for: its methods, properties and annotated attributes, inherited ones too."""
    out: set[str] = set()
    for cls in proto.__mro__:
        if cls in (object, typing.Protocol, typing.Generic):
            continue
        out |= {n for n in vars(cls) if not n.startswith("_")}
        out |= set(getattr(cls, "__annotations__", {}))
    return out


def test_the_cluster_class_has_every_member_of_the_contract():
    from prozess.cluster.cluster import Cluster

    missing = sorted(n for n in members(ClusterControl) if not hasattr(Cluster, n) and n not in ("spec",))
    assert not missing, f"Cluster lacks {missing}"
    # `spec` is set per instance in __init__ (from the saved state)
    assert "self.spec = " in __import__("inspect").getsource(Cluster.__init__)


def test_every_part_is_in_the_whole_and_runtime_checkable():
    parts = (NodeCommands, Addresses, ProcessControl, LeaderLookup, ReplicaLookup, NodeLayouts, LogFiles, Lifecycle)
    for p in parts:
        assert members(p) <= members(ClusterControl), p
        assert getattr(p, "_is_runtime_protocol", False), p
    assert set(control.__all__) == {p.__name__ for p in (*parts, ClusterControl)}


def test_the_cluster_uses_its_system_for_the_data_dir():
    """data_dir is what the targeted nemesis wipes; it comes from the system, not the backend's internals."""
    from prozess.cluster.cluster import Cluster
    from prozess.cluster.kafka import NodeLayout

    class _System:
        def data_dir(self, node, layout):
            return f"{layout.data}/for-{node}"

    class _Backend:
        def node_layout(self, node):
            return NodeLayout(data="/d")

    c = Cluster.__new__(Cluster)
    c.state = {"name": "t", "backend": "docker"}
    c.system, c.backend = _System(), _Backend()
    c.spec = type("S", (), {"node_names": ["n1", "n2"]})()
    assert c.data_dir("n2") == "/d/for-n2"
    with pytest.raises(Exception, match="no node 'n9'"):
        c.data_dir("n9")


def test_the_netns_stand_in_cluster_provides_what_the_fault_mechanics_call():
    from tests.unit.test_nemesis_netns import NetnsCluster

    c = NetnsCluster("1")  # nothing is created until up()
    for p in (NodeCommands, Addresses, ProcessControl, LeaderLookup):
        assert isinstance(c, p), p.__name__
    assert not isinstance(c, ClusterControl)  # it stands in for part of a cluster, and says which part


def test_the_node_without_disk_layer_provides_node_commands():
    from tests.unit.test_nemesis_disk import _NoLayer

    assert isinstance(_NoLayer(), NodeCommands)
    assert not isinstance(_NoLayer(), ProcessControl)


def test_a_stand_in_missing_a_method_is_not_taken_for_the_contract():
    class Half:
        nodes = ["n1"]
        brokers = ["n1"]

    assert not isinstance(Half(), NodeCommands)
