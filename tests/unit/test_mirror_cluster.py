"""A mirror campaign's set-up without docker: mm2.properties, its settings, node naming and routing, the mirror faults.

The two clusters here are stand-ins that record calls (the real ones run in
tests/integration/test_mirror_docker.py); what is tested is how the mirror
cluster names and routes nodes, what MM2's configuration says, and what the
mirror fault package schedules, refuses and does.
"""

from __future__ import annotations

import random

import pytest

from prozess.cluster.backends.base import ExecResult
from prozess.cluster.mirror import MM2, MirrorCluster, MirrorSettings, mm2_properties, target_node
from prozess.cluster.control import ClusterControl
from prozess.nemesis import mirror as mirror_faults
from prozess.nemesis import packages


class FakeBackend:
    def __init__(self, name: str, calls: list):
        self.name, self.calls = name, calls

    def exec(self, node, argv, *, timeout=30, input=None):
        self.calls.append((self.name, node, list(argv), input))
        if argv and argv[0].endswith("mm2-pid"):
            return ExecResult(0, "4242\n", "")
        return ExecResult(0, "", "")


class FakeCluster:
    backend_name = "docker"

    def __init__(self, name: str, subnet: str, calls: list, leaders: dict | None = None):
        self.name, self.calls = name, calls
        self.nodes = ["n1", "n2", "n3"]
        self.brokers = list(self.nodes)
        self.zookeepers: list[str] = []
        self.subnet = subnet
        self.leaders = leaders or {}
        self.backend = FakeBackend(name, calls)
        self.state = {"name": name, "mirror": {"addresses": {"source": f"{subnet}.110", "target": "x"}}}
        self.spec = None

    def address(self, node):
        return f"{self.subnet}.{10 + int(node[1:])}"

    def exec(self, node, argv, *, timeout=30, check=False, input=None):
        self.calls.append((self.name, node, list(argv), input))
        return ExecResult(0, "", "")

    def leader(self, topic, partition=0):
        return self.leaders.get(topic)

    def isr(self, topic, partition=0):
        return ["n1", "n3"]

    def replicas(self, topic, partition=0):
        return ["n1", "n2", "n3"]

    def kafka_pid(self, node):
        return 7

    def bootstrap_servers(self):
        return ",".join(f"{self.address(n)}:9092" for n in self.nodes)


@pytest.fixture
def mirror():
    calls: list = []
    source = FakeCluster("mm2-abc", "10.1.1", calls, {"prozess-x-0": "n2"})
    target = FakeCluster("mm2-abc-t", "10.1.2", calls, {"source.prozess-x-0": "n3"})
    return MirrorCluster(source, target, MirrorSettings()), calls


def test_node_names_are_unambiguous_and_route_to_their_cluster(mirror):
    m, calls = mirror
    assert m.nodes == ["n1", "n2", "n3", "t1", "t2", "t3", MM2]
    assert m.brokers == ["n1", "n2", "n3"]
    assert [m.side_of(n) for n in ("n2", "t2", MM2)] == ["source", "target", "mm2"]
    assert m.address("n1") == "10.1.1.11" and m.address("t1") == "10.1.2.11" and m.address(MM2) == "10.1.1.110"
    m.exec("t3", ["true"])
    m.exec("n1", ["true"])
    m.exec(MM2, ["true"])
    assert [(c, n) for c, n, _, _ in calls] == [("mm2-abc-t", "n3"), ("mm2-abc", "n1"), ("mm2-abc", MM2)]
    with pytest.raises(Exception, match="no node 't9'"):
        m.exec("t9", ["true"])
    assert target_node("t2") == "n2" and target_node("n2") is None and target_node("tx") is None


def test_leaders_are_the_sources_and_a_mirrored_topics_are_named_in_the_target(mirror):
    m, _ = mirror
    assert m.leader("prozess-x-0") == "n2"
    assert m.leader("source.prozess-x-0") == "t3"
    assert m.isr("source.prozess-x-0") == ["t1", "t3"] and m.isr("prozess-x-0") == ["n1", "n3"]


def test_process_control_on_mm2_runs_mirrormakers_scripts(mirror):
    m, calls = mirror
    assert m.kafka_pid(MM2) == 4242
    m.kill_kafka(MM2, "STOP")
    assert calls[-1][2] == ["/opt/prozess/bin/proc-signal", "mm2-pid", "STOP"]
    with pytest.raises(ValueError, match="signal"):
        m.kill_kafka(MM2, "BOGUS")


def test_the_mirror_cluster_is_a_cluster_control(mirror):
    m, _ = mirror
    assert isinstance(m, ClusterControl)


def test_mm2_properties_copy_source_to_target_only_with_extra_lines_winning():
    text = mm2_properties("s:9092", "t:9092", topics="prozess.*", source_rf=3, target_rf=3,
                          extra={"target.producer.acks": "0", "offset.lag.max": "10"})
    conf = dict(line.split(" = ", 1) for line in text.splitlines())
    assert conf["source.bootstrap.servers"] == "s:9092" and conf["target.bootstrap.servers"] == "t:9092"
    assert conf["source->target.enabled"] == "true" and conf["target->source.enabled"] == "false"
    assert conf["source->target.topics"] == "prozess.*" and conf["sync.group.offsets.enabled"] == "true"
    assert conf["target.producer.acks"] == "0" and conf["offset.lag.max"] == "10"
    assert conf["replication.factor"] == "3"


@pytest.mark.parametrize("bad, match", [
    ({"target_nodes": 0}, "target_nodes"),
    ({"mm2_properties": {"a\nb": "1"}}, "mm2_properties"),
    ({"mm2_properties": {"acks": "0\nx=1"}}, "mm2_properties"),
    ({"mm2_heap": "lots"}, "mm2_heap"),
    ({"mm2_version": "latest"}, "mm2_version"),
    ({"target_cluster": ["x"]}, "target_cluster"),
])
def test_bad_settings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        MirrorSettings.from_options(bad)


def test_bad_mirror_options_are_a_spec_error_naming_them():
    from prozess.spec import SpecError, TestSpec

    with pytest.raises(SpecError, match="mm2_properties"):
        TestSpec(workload="mirror", workload_options={"mm2_properties": {"x": "1\n2"}}).validate()
    TestSpec(workload="mirror", workload_options={"mm2_properties": {"target.producer.acks": "0"}}).validate()


# --- the mirror fault package -------------------------------------------------------------------

def test_mirror_kinds_are_listed_but_not_in_all():
    for kind in mirror_faults.KINDS:
        assert packages.package_of(kind) is mirror_faults.PACKAGE
        assert kind not in packages.FAULTS
    assert packages.fault_edge("kill-mirror") == ("mirror-kill", "start")
    assert packages.fault_edge("resume-mirror") == ("mirror-pause", "stop")


def test_the_partition_side_is_drawn_by_the_seed():
    def sides(seed):
        rng = random.Random(seed)
        return [mirror_faults.start_steps("mirror-partition", None, [], [], rng, 5)[0][1]["side"] for _ in range(20)]

    assert sides(1) == sides(1) and set(sides(1)) == {"source", "target"}
    assert mirror_faults.start_steps("mirror-kill", None, [], [], random.Random(0), 5) == [("kill-mirror", {"nodes": [MM2]})]


class _Ex:
    def __init__(self, cluster):
        self.cluster = cluster
        self.runs: list = []

    def run(self, node, argv, *, input=None, timeout=30, check=True, ok_codes=(0,)):
        self.runs.append((node, list(argv), input))
        return ExecResult(0, "", "")


class _Nem:
    def __init__(self, cluster):
        self.cluster = cluster
        self.ex = _Ex(cluster)
        self.killed: set = set()
        self.paused: set = set()


def test_a_cut_from_one_side_drops_that_sides_addresses_on_mm2_only(mirror):
    m, _ = mirror
    nem = _Nem(m)
    out = mirror_faults.start_partition(nem, {"side": "target"})
    assert out["drops"] == {MM2: ["t1", "t2", "t3"]} and out["nodes"] == [MM2]
    (node, argv, doc), = nem.ex.runs
    assert node == MM2 and b"-s 10.1.2.11 -j DROP" in doc and b"10.1.1." not in doc
    with pytest.raises(Exception, match="side"):
        mirror_faults.start_partition(nem, {"side": "both"})


def test_mirror_faults_refuse_and_probe_a_cluster_without_mm2():
    class Plain:
        nodes = ["n1", "n2", "n3"]

    nem = _Nem(Plain())
    with pytest.raises(Exception, match="mirror campaign"):
        mirror_faults.kill_mirror(nem, {})
    why = mirror_faults.probe(nem.ex, Plain.nodes, {"mirror-kill", "kill"})
    assert set(why) == {"mirror-kill"} and "mirror campaign" in why["mirror-kill"]


def test_report_labels_say_which_cluster_mm2_was_cut_from():
    from prozess.report.faults import FaultWindow
    from prozess.report.render import _fault_short

    w = FaultWindow.__new__(FaultWindow)
    object.__setattr__(w, "kind", "mirror-partition")
    object.__setattr__(w, "value", {"side": "source", "nodes": [MM2]})
    assert _fault_short(w) == "mirror-partition mm2 from source"
    object.__setattr__(w, "kind", "kill")
    object.__setattr__(w, "value", {"nodes": ["t2"]})
    assert _fault_short(w) == "kill t2"


def test_the_pytest_plugin_pool_makes_one_mirror_set_up_per_settings(monkeypatch):
    import prozess.cluster.mirror as mirror_mod
    from prozess.cluster import ClusterSpec
    from prozess.pytest_plugin import ClusterPool

    made = []

    class SetUp:
        def __init__(self, spec, options):
            self.options = options
            made.append(self)

        def up(self):
            pass

    monkeypatch.setattr(mirror_mod, "open_mirror", lambda spec, options, **kw: SetUp(spec, options))
    pool = ClusterPool("docker", keep=True)
    a = pool.get(ClusterSpec(), mirror_mod.setup_options({"mirror_wait_s": 5, "mm2_properties": {"target.producer.acks": "0"}}))
    assert a.options == {"mm2_properties": {"target.producer.acks": "0"}}
    assert pool.get(ClusterSpec(), mirror_mod.setup_options({"mm2_properties": {"target.producer.acks": "0"}})) is a
    assert pool.get(ClusterSpec(), mirror_mod.setup_options({})) is not a and len(made) == 2


def test_heal_and_cluster_commands_pick_a_mirror_set_up_by_its_source(monkeypatch):
    import prozess.cluster as cluster_pkg
    from prozess.cluster import cli as cluster_cli
    from prozess.nemesis import cli as heal_cli

    states = [{"name": "mm2-abc"}, {"name": "mm2-abc-t", "mirror_of": "mm2-abc"}]
    monkeypatch.setattr(cluster_pkg, "list_clusters", lambda: states, raising=False)
    import prozess.cluster.cluster as cluster_mod

    monkeypatch.setattr(cluster_mod, "list_clusters", lambda: states)
    assert heal_cli._pick_cluster(None) == "mm2-abc"
    assert cluster_cli._resolve_name(None) == "mm2-abc"


def test_mirror_faults_are_scheduled_by_the_seed_and_a_saved_schedule_replays():
    from prozess.nemesis.combined import Combined
    from prozess.nemesis.schedule import validate_schedule

    test = {"time_limit": 120, "cluster": {"nodes": 3}, "faults": ["mirror-partition", "mirror-kill", "mirror-pause"]}
    a = Combined(test["faults"], {"interval": 10}).schedule(dict(test), random.Random(4)).steps
    b = Combined(test["faults"], {"interval": 10}).schedule(dict(test), random.Random(4)).steps
    assert a == b and {s["f"] for s in a} >= {"kill-mirror", "start-mirror", "start-mirror-partition", "pause-mirror"}
    assert validate_schedule(a) == a
    saved = {**test, "nemesis_schedule": a}
    assert Combined(test["faults"]).schedule(saved, random.Random(99)).steps == a  # replay: the saved one, whatever the rng
    assert all(s["value"].get("side") in ("source", "target") for s in a if s["f"] == "start-mirror-partition")


def test_mirror_faults_without_a_mirror_campaign_are_a_spec_error():
    from prozess.spec import SpecError, TestSpec

    with pytest.raises(SpecError, match="mirror-kill act on MirrorMaker 2.*--workload mirror"):
        TestSpec(workload="queue", faults=["partition+mirror-kill"]).validate()
    TestSpec(workload="mirror", faults=["partition+mirror-kill", "mirror-pause"]).validate()
