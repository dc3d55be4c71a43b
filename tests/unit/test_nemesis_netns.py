"""Fault mechanics for real, in network namespaces this test creates (no Kafka, no docker).

Three nodes are network namespaces joined by a bridge in a fourth (the "hub",
which also plays the control host); each node runs a small TCP server standing in
for the broker process. The nemesis applies real iptables rules, real tc qdiscs and
real signals through `ip netns exec`, and every check is made from inside the
nodes: connections fail during a partition and work after heal, a stopped server
stops answering, a tbf link is measurably slower. Needs root and `ip netns`;
skipped elsewhere. Clock faults need libfaketime in a node and are proved on the
docker cluster (tests/integration/test_nemesis_faults.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import NamedTuple

import pytest

from prozess.nemesis import link
from prozess.nemesis.combined import Combined
from prozess.nemesis.executor import Executor
from prozess.nemesis.heal import heal_all, leftovers
from prozess.nemesis.partition import control_address

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None,
    reason="needs root, ip and iptables to make network namespaces",
)

PORT = 9092
# The stand-in broker: answers every connection with the number of bytes it read.
SERVER = r"""
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(64)
def serve(c):
    n = 0
    with c:
        while True:
            b = c.recv(65536)
            if not b: break
            n += len(b)
        c.sendall(str(n).encode())
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
"""
CLIENT = r"""
import socket, sys, time
host, port, size, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
t = time.monotonic()
try:
    c = socket.create_connection((host, port), timeout=timeout)
    c.settimeout(timeout)
    c.sendall(b"x" * size); c.shutdown(socket.SHUT_WR)
    reply = c.recv(100).decode()
    print("ok" if reply == str(size) else "bad:" + reply, round(time.monotonic() - t, 3))
except OSError as e:
    print("fail", type(e).__name__)
"""


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


class NetnsCluster:
    """Nodes as network namespaces; implements the part of the Cluster interface the nemesis uses."""

    def __init__(self, tag: str, n: int = 3):
        self.tag = tag
        self.nodes = [f"n{i}" for i in range(1, n + 1)]
        self.brokers = list(self.nodes)
        self.hub = f"pzh-{tag}"
        self.subnet = f"10.251.{int(tag) % 200 + 10}"
        self.faketime_path = None
        self.pids: dict[str, int] = {}

    def ns(self, node: str) -> str:
        return f"pz{node}-{self.tag}"

    def address(self, node: str) -> str:
        return f"{self.subnet}.{self.nodes.index(node) + 1}"

    def control_address(self) -> str:
        return f"{self.subnet}.254"

    # --- lifecycle
    def up(self) -> "NetnsCluster":
        sh = lambda *a: subprocess.run(list(a), check=True, capture_output=True)
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "addr", "add", f"{self.control_address()}/24", "dev", "br0")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        for i, node in enumerate(self.nodes, 1):
            ns = self.ns(node)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", self.hub, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.hub, "link", "set", f"v{i}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(node)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", self.control_address())
            self.start_kafka(node)
        return self

    def down(self) -> None:
        for node in self.nodes:
            pid = self.pids.get(node)
            if pid:
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            subprocess.run(["ip", "netns", "del", self.ns(node)], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.hub], capture_output=True)

    # --- the Cluster interface
    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> Result:
        ns = self.hub if node == "hub" else self.ns(node)
        p = subprocess.run(["ip", "netns", "exec", ns, *argv], input=input, capture_output=True, timeout=timeout)
        return Result(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))

    def kafka_pid(self, node: str) -> int | None:
        pid = self.pids.get(node)
        if not pid:
            return None
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        if state in ("Z", "X"):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return None
        return pid

    def kafka_running(self, node: str) -> bool:
        return self.kafka_pid(node) is not None

    def start_kafka(self, node: str) -> None:
        if self.kafka_running(node):
            return
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(node), sys.executable, "-c", SERVER, str(PORT)], start_new_session=True)
        self.pids[node] = p.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "ok" not in self.probe(node, node, 1, 0.5):
            time.sleep(0.1)

    def kill_kafka(self, node: str, sig: str = "KILL") -> None:
        pid = self.kafka_pid(node)
        if pid:
            os.kill(pid, getattr(signal, "SIG" + sig))
            if sig == "KILL":
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

    def pause_kafka(self, node: str) -> None:
        os.kill(self.pids[node], signal.SIGSTOP)

    def resume_kafka(self, node: str) -> None:
        pid = self.kafka_pid(node)
        if pid:
            os.kill(pid, signal.SIGCONT)

    def active_controller(self) -> str:
        return "n1"

    def leader(self, topic: str, partition: int) -> str:
        return "n2"

    # --- observations from inside
    def probe(self, src: str, dst: str, size: int = 4, timeout: float = 1.0) -> str:
        """From inside `src`: send `size` bytes to dst's server; "ok <seconds>" or "fail ..."."""
        host = self.address(dst) if dst != "hub" else self.control_address()
        r = self.exec(src, [sys.executable, "-c", CLIENT, host, str(PORT), str(size), str(timeout)], timeout=timeout + 30)
        return r.stdout.strip()


def can(c: NetnsCluster, a: str, b: str) -> bool:
    return c.probe(a, b).startswith("ok")


@pytest.fixture(scope="module")
def cluster():
    c = NetnsCluster(str(os.getpid() % 10000))
    try:
        yield c.up()
    finally:
        c.down()


@pytest.fixture
def nemesis(cluster, tmp_path):
    nem = Combined(faults="all", options={"topic": "t"}, log=tmp_path / "nemesis.jsonl")
    nem.setup(cluster, {"time_limit": 10})
    yield nem
    nem.teardown()
    assert leftovers(Executor(cluster)) == {}


def test_partition_halves_cuts_links_from_inside_and_heal_restores_them(cluster, nemesis, tmp_path):
    # A rule of the node's own, which heal must leave alone.
    cluster.exec("n1", ["iptables", "-w", "-A", "INPUT", "-s", "192.0.2.77", "-j", "DROP"])
    assert can(cluster, "n1", "n2") and can(cluster, "n2", "n3")
    t, v = nemesis.invoke("start-partition", {"grudge": "halves"})
    assert "error" not in v, v
    assert v["components"] == [["n1"], ["n2", "n3"]]
    assert not can(cluster, "n1", "n2") and not can(cluster, "n2", "n1") and not can(cluster, "n3", "n1")
    assert can(cluster, "n2", "n3")
    assert can(cluster, "hub", "n1")  # clients="none": the control host still reaches everyone
    t, v = nemesis.invoke("stop-partition", {})
    assert can(cluster, "n1", "n2") and can(cluster, "n3", "n1")
    rules = cluster.exec("n1", ["iptables", "-w", "-S", "INPUT"]).stdout
    assert "-A INPUT -s 192.0.2.77/32 -j DROP" in rules
    cluster.exec("n1", ["iptables", "-w", "-D", "INPUT", "-s", "192.0.2.77", "-j", "DROP"])
    log = (tmp_path / "nemesis.jsonl").read_text().splitlines()
    assert any('"start-partition"' in line and "iptables-restore" in line for line in log)


def test_partition_with_clients_on_the_majority_side(cluster, nemesis):
    t, v = nemesis.invoke("start-partition", {"grudge": "isolate-one", "node": "n3", "clients": "majority"})
    assert v["clients-with"] == ["n1", "n2"]
    assert not can(cluster, "hub", "n3") and can(cluster, "hub", "n1")
    nemesis.invoke("stop-partition", {})
    assert can(cluster, "hub", "n3")


def test_leader_and_controller_grudges_isolate_the_live_node(cluster, nemesis):
    t, v = nemesis.invoke("start-partition", {"grudge": "leader", "topic": "t", "partition": 0})
    assert v["drops"]["n2"] == ["n1", "n3"]  # the stand-in says n2 leads
    assert not can(cluster, "n2", "n1") and can(cluster, "n1", "n3")
    nemesis.invoke("stop-partition", {})
    t, v = nemesis.invoke("start-partition", {"grudge": "controller"})
    assert v["drops"]["n1"] == ["n2", "n3"]
    nemesis.invoke("stop-partition", {})
    assert can(cluster, "n1", "n2")


def test_iptables_statistic_loss_drops_and_heals(cluster, nemesis):
    t, v = nemesis.invoke("start-loss", {"nodes": ["n2"], "probability": 1.0})
    assert "error" not in v, v
    assert not can(cluster, "n1", "n2") and can(cluster, "n1", "n3")
    nemesis.invoke("stop-loss", {})
    assert can(cluster, "n1", "n2")


def test_tbf_slows_a_transfer_measurably(cluster, nemesis):
    size = 256 * 1024
    fast = float(cluster.probe("n1", "n2", size, 20).split()[1])
    t, v = nemesis.invoke("start-bandwidth", {"nodes": ["n1"], "rate": "1mbit"})
    assert "error" not in v, v
    out = cluster.probe("n1", "n2", size, 30)
    assert out.startswith("ok"), out
    slow = float(out.split()[1])
    # 256 KiB at 1 Mbit/s takes about 2 s; unshaped it takes milliseconds.
    assert slow > 1.5 and slow > 10 * fast, (fast, slow)
    nemesis.invoke("stop-bandwidth", {})
    assert float(cluster.probe("n1", "n2", size, 20).split()[1]) < 1.0
    assert link.prozess_qdiscs(Executor(cluster), "n1") == []


def test_netem_is_probed_and_reported_unavailable_when_the_kernel_lacks_it(cluster, nemesis):
    plain = subprocess.run(["ip", "netns", "exec", cluster.ns("n3"), "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], capture_output=True)
    if plain.returncode == 0:
        subprocess.run(["ip", "netns", "exec", cluster.ns("n3"), "tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
    t, v = nemesis.invoke("start-netem", {"nodes": ["n1"], "delay_ms": 50})
    if plain.returncode == 0:
        assert "error" not in v and nemesis.unavailable == {}
    else:
        assert v["error"] == "unavailable: kernel has no netem"
        assert nemesis.unavailable == {"netem": "unavailable: kernel has no netem"}
    nemesis.invoke("stop-netem", {})


def test_kill_and_start_pause_and_resume_real_processes(cluster, nemesis):
    pid = cluster.kafka_pid("n2")
    t, v = nemesis.invoke("kill", {"targets": "leader", "topic": "t"})
    assert v["nodes"] == ["n2"]
    assert not os.path.exists(f"/proc/{pid}") and not can(cluster, "n1", "n2")
    t, v = nemesis.invoke("start", {})
    assert v["started"] == ["n2"] and can(cluster, "n1", "n2")
    t, v = nemesis.invoke("pause", {"nodes": ["n3"]})
    out = cluster.probe("n1", "n3", 4, 1.0)
    assert out.startswith("fail"), out  # a stopped process does not answer
    nemesis.invoke("resume", {})
    assert can(cluster, "n1", "n3")


def test_restart_replaces_the_process_and_it_answers_again(cluster, nemesis):
    pid = cluster.kafka_pid("n1")
    t, v = nemesis.invoke("restart", {"nodes": ["n1"]})
    assert "error" not in v, v.get("error")
    assert cluster.kafka_pid("n1") not in (None, pid)
    assert can(cluster, "n2", "n1")


def test_heal_all_as_a_runner_op_clears_everything(cluster, nemesis):
    nemesis.invoke("start-partition", {"grudge": "bridge"})
    nemesis.invoke("pause", {"nodes": ["n1"]})
    assert leftovers(Executor(cluster))
    t, v = nemesis.invoke("heal-all", None)
    assert t == "info" and v["problems"] == []
    assert leftovers(Executor(cluster)) == {}


def test_control_address_is_the_default_gateway_when_the_cluster_does_not_say(cluster):
    class Bare:
        nodes = cluster.nodes

        def exec(self, node, argv, **kw):
            return cluster.exec(node, argv, **kw)

    assert control_address(Executor(Bare()), "n1") == cluster.control_address()


def _crash_child(tag: str) -> None:
    """Applies every fault it can, says so, then waits to be SIGKILLed."""
    c = NetnsCluster(tag)
    c.pids = {n: int(p) for n, p in (x.split("=") for x in os.environ["PZ_PIDS"].split(","))}
    nem = Combined(faults="all", options={"topic": "t"})
    nem.setup(c, {})
    for f, v in [
        ("start-partition", {"grudge": "halves"}),
        ("start-loss", {"nodes": ["n2"], "probability": 0.5}),
        ("start-bandwidth", {"nodes": ["n3"], "rate": "2mbit"}),
        ("pause", {"nodes": ["n2"]}),
        ("kill", {"nodes": ["n3"]}),
    ]:
        t, out = nem.invoke(f, v)
        assert "error" not in out, (f, out)
    print("applied", flush=True)
    time.sleep(120)


def test_sigkill_mid_fault_then_heal_leaves_nothing_behind(cluster):
    env = {**os.environ, "PZ_PIDS": ",".join(f"{n}={p}" for n, p in cluster.pids.items())}
    child = subprocess.Popen([sys.executable, "-m", "tests.unit.test_nemesis_netns", cluster.tag], stdout=subprocess.PIPE, env=env, cwd=os.getcwd())
    try:
        line = child.stdout.readline().decode()
        assert line.strip() == "applied", line
    finally:
        child.kill()
        child.wait()
    ex = Executor(cluster)
    before = leftovers(ex)
    assert any("iptables" in x for x in before["n1"]) and any("qdisc" in x for x in before["n3"])
    assert any("stopped" in x for x in before["n2"]) and "kafka: not running" in before["n3"]
    report = heal_all(ex)
    assert report["problems"] == []
    assert leftovers(ex) == {}
    assert all(can(cluster, a, b) for a in cluster.nodes for b in cluster.nodes if a != b)


if __name__ == "__main__":
    _crash_child(sys.argv[1])
