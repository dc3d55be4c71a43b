"""The netns backend: Kafka processes on this host, each node in its own network namespace.

No engine needed, only root. Per cluster: a bridge holding the gateway address of the
cluster's subnet, one namespace per node joined to it by a veth pair, an iptables
FORWARD rule that lets bridged traffic pass (docker's FORWARD policy may drop it), and a
tmpfs root for the nodes' data and logs. Each node sees its own /etc/prozess: files in
/etc/netns/<ns>/prozess are bind-mounted over the host's (empty) /etc/prozess by
`ip netns exec`, so the same start script and faketime path work as in a container.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from prozess.cluster.backends.base import ExecResult, ExecTimeout, decode
from prozess.cluster.kafka import CONFIG_DIR, NodeLayout
from prozess.cluster.paths import NODE_DIR
from prozess.cluster.spec import KAFKA_VERSION

__all__ = ["NetnsBackend", "NetnsError"]

ETC_NETNS = Path("/etc/netns")
MARKER = ".made-by-prozess"


class NetnsError(RuntimeError):
    """The netns backend cannot run here (not root, no java, ...); the message says what to do."""


def _run(argv: list[str], *, check: bool = True, timeout: float = 30, input: bytes | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, capture_output=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed: {decode(r.stderr).strip()}")
    return r


class NetnsBackend:
    name = "netns"
    uses_pool = True

    def __init__(self, state: dict[str, Any], *, data_tmpfs: bool | None = None, log: Callable[[str], None] | None = None):
        self.state = state
        opts = state.setdefault("backend_options", {})
        self.data_tmpfs = opts.setdefault("data_tmpfs", True) if data_tmpfs is None else data_tmpfs
        opts["data_tmpfs"] = self.data_tmpfs
        self.log = log or (lambda msg: None)
        tag = hashlib.sha1(state["name"].encode()).hexdigest()[:6]
        self.tag = tag
        self.bridge = f"pzb{tag}"

    # --- names and layout ---------------------------------------------------------
    def ns(self, node: str) -> str:
        return f"pz{self.tag}{node}"

    def node_layout(self, node: str) -> NodeLayout:
        res = self.state.get("resources", {})
        root = res.get("root") or "/nonexistent"
        from prozess.cluster.jars import jars_dir

        return NodeLayout(
            bin=str(NODE_DIR / "bin"),
            libs=str(jars_dir(self.state.get("spec", {}).get("kafka_version", KAFKA_VERSION))),
            data=f"{root}/{node}/data",
            logs=f"{root}/{node}/logs",
            pidfile=f"{root}/{node}/kafka.pid",
            java=res.get("java") or shutil.which("java") or "java",
        )

    def close(self) -> None:
        pass

    # --- lifecycle ---------------------------------------------------------------------
    def prepare(self, spec) -> None:
        if os.geteuid() != 0:
            raise NetnsError("the netns backend needs root (network namespaces, bridges, iptables); run as root or use --backend docker")
        for tool in ("ip", "iptables"):
            if not shutil.which(tool):
                raise NetnsError(f"the netns backend needs `{tool}`; install iproute2 and iptables (prozess setup does)")
        java = shutil.which("java")
        if not java:
            raise NetnsError("the netns backend runs Kafka on this host and needs Java 17+; install openjdk-17-jre-headless")
        if not any(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")) and not Path("/usr/lib/faketime/libfaketime.so.1").exists():
            raise NetnsError("the netns backend needs libfaketime on this host; install it (Debian: apt-get install libfaketime)")
        from prozess.cluster.jars import ensure_jars

        ensure_jars(spec.kafka_version)
        self.state.setdefault("resources", {})["java"] = java

    def create(self, state: dict[str, Any], save: Callable[[], None]) -> None:
        res = state.setdefault("resources", {})
        root = tempfile.mkdtemp(prefix=f"prozess-{state['name']}-")
        res["root"] = root
        save()
        if self.data_tmpfs:
            _run(["mount", "-t", "tmpfs", "-o", "size=4g,mode=0755", "tmpfs", root])
            res["tmpfs"] = True
            save()
        etc = Path(CONFIG_DIR)
        if not etc.exists():
            etc.mkdir(parents=True)
            (etc / MARKER).write_text("bind-mount target of prozess's netns nodes; removed with the last such cluster\n")
        prefix = str(state["subnet"]).split("/")[1]
        res["bridge"] = self.bridge
        save()
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{state['gateway']}/{prefix}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
        res["iptables"] = [rule]
        save()
        _run(["iptables", "-I", *rule])
        res.setdefault("netns", [])
        res.setdefault("veths", [])
        res.setdefault("etc_netns", [])
        for i, node in enumerate(state["nodes"], 1):
            ns = self.ns(node)
            host_if, peer_if = f"pzv{self.tag}{node}", f"pzp{self.tag}{node}"
            res["netns"].append(ns)
            res["etc_netns"].append(str(ETC_NETNS / ns))
            res["veths"].append(host_if)
            save()
            (ETC_NETNS / ns / "prozess").mkdir(parents=True, exist_ok=True)
            _run(["ip", "netns", "add", ns])
            _run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if])
            _run(["ip", "link", "set", peer_if, "netns", ns])
            _run(["ip", "link", "set", host_if, "master", self.bridge, "up"])
            _run(["ip", "-n", ns, "link", "set", peer_if, "name", "eth0"])
            _run(["ip", "-n", ns, "addr", "add", f"{state['addresses'][node]}/{prefix}", "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            for sub in ("data", "logs"):
                Path(root, node, sub).mkdir(parents=True, exist_ok=True)

    def destroy(self, state: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        res = state.get("resources", {})
        for ns in res.get("netns", []):
            self._kill_all(ns)
            r = _run(["ip", "netns", "del", ns], check=False)
            if r.returncode != 0 and Path("/run/netns", ns).exists():
                problems.append(f"ip netns del {ns}: {decode(r.stderr).strip()}")
        for veth in res.get("veths", []):
            if Path("/sys/class/net", veth).exists():
                _run(["ip", "link", "del", veth], check=False)
        if res.get("bridge") and Path("/sys/class/net", res["bridge"]).exists():
            r = _run(["ip", "link", "del", res["bridge"]], check=False)
            if r.returncode != 0:
                problems.append(f"ip link del {res['bridge']}: {decode(r.stderr).strip()}")
        for rule in res.get("iptables", []):
            for _ in range(10):  # delete every copy of the rule
                if _run(["iptables", "-C", *rule], check=False).returncode != 0:
                    break
                _run(["iptables", "-D", *rule], check=False)
        for d in res.get("etc_netns", []):
            shutil.rmtree(d, ignore_errors=True)
        root = res.get("root")
        if root and os.path.isdir(root):
            if res.get("tmpfs"):
                for _ in range(20):
                    if _run(["umount", root], check=False).returncode == 0 or not os.path.ismount(root):
                        break
                    time.sleep(0.25)
                if os.path.ismount(root):
                    problems.append(f"cannot unmount {root}")
            shutil.rmtree(root, ignore_errors=True)
        return problems

    def after_last_down(self) -> None:
        """With the last netns cluster gone: remove /etc/prozess if prozess made it, and an empty /etc/netns."""
        etc = Path(CONFIG_DIR)
        if (etc / MARKER).exists() and [p.name for p in etc.iterdir()] == [MARKER]:
            shutil.rmtree(etc, ignore_errors=True)
        try:
            ETC_NETNS.rmdir()
        except OSError:
            pass

    def _kill_all(self, ns: str) -> None:
        """SIGKILLs every process in the namespace and waits (bounded) until they are gone."""
        for _ in range(50):
            r = _run(["ip", "netns", "pids", ns], check=False)
            pids = [int(p) for p in decode(r.stdout).split() if p.isdigit()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    # --- commands and files ----------------------------------------------------------------
    def _exec_bytes(self, node: str, argv: list[str], timeout: float, input: bytes | None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["ip", "netns", "exec", self.ns(node), *argv], capture_output=True, timeout=timeout, input=input)
        except subprocess.TimeoutExpired:
            raise ExecTimeout(f"on {node}: {argv!r} did not finish within {timeout} s") from None

    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> ExecResult:
        r = self._exec_bytes(node, argv, timeout, input)
        return ExecResult(r.returncode, decode(r.stdout), decode(r.stderr))

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None:
        script = 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"'
        r = self._exec_bytes(node, ["sh", "-c", script, "put_file", path, f"{mode:o}"], 30, data)
        if r.returncode != 0:
            raise OSError(f"on {node}: writing {path} failed: {decode(r.stderr).strip()}")

    def get_file(self, node: str, path: str) -> bytes:
        r = self._exec_bytes(node, ["cat", path], 60, None)
        if r.returncode != 0:
            raise FileNotFoundError(f"on {node}: {path}: {decode(r.stderr).strip()}")
        return r.stdout

