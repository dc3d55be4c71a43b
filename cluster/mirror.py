"""A mirror campaign's nodes: a source cluster, a target cluster and a MirrorMaker 2 node, as one cluster.

`MirrorCluster` joins two prozess `Cluster`s (each on its own docker network)
and one more container, the MM2 node, which joins both networks (docker's
`network.connect`) and runs `org.apache.kafka.connect.mirror.MirrorMaker` in
dedicated mode from an mm2.properties prozess writes. It implements the same
`ClusterControl` contract as one cluster, so the runner, the nemesis, heal-all
and `prozess heal` / `prozess cluster down` work on it unchanged:

- node names are unambiguous across the two clusters: the source's n1..nN, the
  target's t1..tM (its n1..nM), and ``mm2``;
- `brokers`, leaders and controllers are the source's (a `kill` of `leader`
  kills a source leader); a leader of a mirrored topic (`<alias>.<topic>`) is
  looked up in the target and named tK;
- process control on ``mm2`` starts, signals and finds MirrorMaker 2 (scripts
  `mm2-start`, `mm2-pid`, `proc-signal` in the mirror image);
- `address("mm2")` is its address on the source network; `side_addresses`
  gives each side's addresses for faults that cut MM2 from one cluster.

Persistence: the target is a cluster of its own (`<source>-t`); the source's
state records it and the MM2 container under "mirror", and the container is
labelled and listed as one of the source's, so removing the source removes it.
`prozess.cluster.attach_cluster(source)` gives back a `MirrorCluster`, and `down()` removes
the source with MM2 first, then the target (whose network MM2 had joined).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

from prozess.cluster import addresses as addr
from prozess.cluster.backends.base import ExecError, ExecResult
from prozess.cluster.cluster import ClusterError, ProcessControl, signal_name
from prozess.cluster.jars import MIRROR_VERSION
from prozess.cluster.kafka import FAKETIME_PATH, NodeLayout
from prozess.cluster.system_parts import ProcessError, script_pid, script_signal, script_start

__all__ = ["MM2", "MirrorCluster", "MirrorError", "MirrorSettings", "attach_mirror", "mm2_properties", "open_mirror", "setup_options", "target_node"]

MM2 = "mm2"
SOURCE_ALIAS = "source"
TARGET_ALIAS = "target"
MM2_HOST_INDEX = 100          # the MM2 node's host number on both clusters' subnets (nodes use 1..N)
MM2_LAYOUT = NodeLayout(pidfile="/run/kafka/mm2.pid")
MIRROR_LIBS = "/opt/prozess/mirror-libs"
TARGET_PREFIX = "t"           # target node tK is the target cluster's nK
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._>-]*$")  # mm2.properties keys: "source->target.enabled"


class MirrorError(ClusterError):
    """A mirror campaign's clusters or MM2 node could not be made or reached; the message says why."""


@dataclasses.dataclass
class MirrorSettings:
    """What a mirror campaign makes besides the source: the target's shape and MM2's configuration."""

    target_nodes: int = 3
    target_cluster: dict[str, Any] = dataclasses.field(default_factory=dict)  # ClusterSpec fields that differ from the source's
    mm2_version: str = MIRROR_VERSION
    mm2_heap: str = "384m"
    mm2_properties: dict[str, str] = dataclasses.field(default_factory=dict)  # extra or overriding mm2.properties lines
    # Which source topics MM2 copies: every one (MM2's default exclusions keep internal topics out); the source
    # is made for the campaign, so it holds only the workload's topics, whatever their prefix.
    topics: str = ".*"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "MirrorSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        out = cls(**{k: v for k, v in options.items() if k in names})
        out.validate()
        return out

    def validate(self) -> None:
        if not isinstance(self.target_nodes, int) or not 1 <= self.target_nodes <= 9:
            raise ValueError(f"target_nodes is {self.target_nodes!r}; it must be a whole number from 1 to 9")
        if not isinstance(self.target_cluster, dict):
            raise ValueError("target_cluster must be a mapping of cluster spec fields (e.g. {\"min_insync_replicas\": 1})")
        if not isinstance(self.mm2_properties, dict):
            raise ValueError("mm2_properties must be a mapping of mm2.properties keys to values")
        for k, v in self.mm2_properties.items():
            if not PROPERTY_NAME.match(str(k)) or any(c in str(v) for c in "\r\n"):
                raise ValueError(f"mm2_properties entry {k!r} = {v!r} is not a one-line property; use a property name and a one-line value")
        from prozess.cluster.spec import HEAP

        if not HEAP.match(str(self.mm2_heap)):
            raise ValueError(f"mm2_heap is {self.mm2_heap!r}; use a JVM size such as 384m or 1g")
        if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", str(self.mm2_version)):
            raise ValueError(f"mm2_version is {self.mm2_version!r}; use a connect-mirror release such as {MIRROR_VERSION}")


def setup_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the mirror workload's options that shapes the set-up (target, MM2), as MirrorSettings names it."""
    names = {f.name for f in dataclasses.fields(MirrorSettings)}
    return {k: v for k, v in options.items() if k in names}


def target_node(node: str) -> str | None:
    """The target cluster's name of mirror node tK (nK), or None when `node` is not a target node."""
    if node.startswith(TARGET_PREFIX) and node[1:].isdigit():
        return f"n{node[1:]}"
    return None


def mm2_properties(source_bootstrap: str, target_bootstrap: str, *, topics: str, source_rf: int, target_rf: int,
                   extra: Mapping[str, str] | None = None) -> str:
    """The mm2.properties of a dedicated MirrorMaker 2 copying `topics` from "source" to "target".

    Defaults are MM2's own except where a test needs them shorter (checkpoint and
    group sync every second, topic/group refresh every 2 s) or where the clusters'
    size decides (replication factors); `extra` overrides any line.
    """
    rf = {k: str(target_rf) for k in ("replication.factor", "checkpoints.topic.replication.factor",
                                       "heartbeats.topic.replication.factor", "offset.storage.replication.factor",
                                       "status.storage.replication.factor", "config.storage.replication.factor")}
    conf = {
        "clusters": f"{SOURCE_ALIAS}, {TARGET_ALIAS}",
        f"{SOURCE_ALIAS}.bootstrap.servers": source_bootstrap,
        f"{TARGET_ALIAS}.bootstrap.servers": target_bootstrap,
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.enabled": "true",
        f"{TARGET_ALIAS}->{SOURCE_ALIAS}.enabled": "false",
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.topics": topics,
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.groups": ".*",
        "sync.group.offsets.enabled": "true",
        "sync.group.offsets.interval.seconds": "1",
        "emit.checkpoints.interval.seconds": "1",
        "refresh.topics.interval.seconds": "2",
        "refresh.groups.interval.seconds": "2",
        "emit.heartbeats.enabled": "false",
        "offset.lag.max": "100",
        "tasks.max": "1",
        **rf,
        # the offset-syncs topic lives in the source
        "offset-syncs.topic.replication.factor": str(source_rf),
        **{f"{SOURCE_ALIAS}->{TARGET_ALIAS}.{k}": v for k, v in rf.items()},
    }
    conf.update({str(k): str(v) for k, v in (extra or {}).items()})
    return "".join(f"{k} = {v}\n" for k, v in conf.items())


MM2_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = /var/log/kafka/mm2-connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""


def _node_env(heap: str) -> str:
    return (f"KAFKA_BIN=/opt/prozess/bin\nKAFKA_LOGS=/var/log/kafka\nKAFKA_PIDFILE={MM2_LAYOUT.pidfile}\n"
            f"JAVA=java\nMM2_LIBS={MIRROR_LIBS}\nMM2_HEAP={heap}\n")


class MirrorCluster(ProcessControl):
    """Source + target + MM2 node as one `ClusterControl` (see the module docstring)."""

    faketime_path: str = FAKETIME_PATH

    def __init__(self, source: Any, target: Any, settings: MirrorSettings, *, keep: bool = False,
                 log: Callable[[str], None] | None = None):
        self.source = source
        self.target = target
        self.settings = settings
        self.keep = keep
        self.log = log or (lambda msg: None)

    # --- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.source.name

    @property
    def spec(self) -> Any:
        return self.source.spec

    @property
    def state(self) -> dict[str, Any]:
        return self.source.state

    @property
    def target_nodes(self) -> list[str]:
        return [f"{TARGET_PREFIX}{n[1:]}" for n in self.target.nodes]

    @property
    def nodes(self) -> list[str]:
        return [*self.source.nodes, *self.target_nodes, MM2]

    @property
    def brokers(self) -> list[str]:
        return list(self.source.brokers)

    @property
    def zookeepers(self) -> list[str]:
        return list(self.source.zookeepers)

    def zookeeper_leader(self) -> str | None:
        return self.source.zookeeper_leader()

    def _route(self, node: str) -> tuple[Any, str]:
        """(the cluster holding `node`, its name there); the MM2 node is the source's backend's "mm2" container."""
        if node in self.source.nodes:
            return self.source, node
        t = target_node(node)
        if t is not None and t in self.target.nodes:
            return self.target, t
        if node == MM2:
            return None, MM2
        raise MirrorError(f"mirror cluster {self.name} has no node {node!r}; its nodes are {', '.join(self.nodes)}")

    def side_of(self, node: str) -> str:
        """"source", "target" or "mm2"."""
        c, _ = self._route(node)
        return MM2 if c is None else ("source" if c is self.source else "target")

    def address(self, node: str) -> str:
        c, n = self._route(node)
        if c is None:
            return self.state["mirror"]["addresses"]["source"]
        return c.address(n)

    def side_addresses(self, side: str) -> dict[str, str]:
        """node -> address of every node of one side ("source" or "target"), as MM2 reaches them."""
        if side == "source":
            return {n: self.source.address(n) for n in self.source.nodes}
        if side == "target":
            return {f"{TARGET_PREFIX}{n[1:]}": self.target.address(n) for n in self.target.nodes}
        raise MirrorError(f"no side {side!r}; use source or target")

    def bootstrap_servers(self) -> str:
        return self.source.bootstrap_servers()

    def target_bootstrap(self) -> str:
        return self.target.bootstrap_servers()

    def workload_options(self) -> dict[str, Any]:
        """What the mirror workload needs to know of this set-up: where MM2 copies to."""
        return {"target_bootstrap": self.target_bootstrap(), "source_alias": SOURCE_ALIAS}

    def describe(self) -> dict[str, Any]:
        """For test.json: the target's name and address and MM2's version."""
        return {"target": self.target.name, "target_bootstrap": self.target_bootstrap(), "target_nodes": self.target_nodes,
                "mm2_version": self.settings.mm2_version, "mm2_node": MM2}

    def __repr__(self) -> str:
        return f"MirrorCluster({self.source.name!r} -> {self.target.name!r})"

    # --- commands ---------------------------------------------------------------------------
    def exec(self, node: str, argv: list[str], *, timeout: float = 30, check: bool = False, input: bytes | None = None) -> ExecResult:
        c, n = self._route(node)
        if c is not None:
            return c.exec(n, argv, timeout=timeout, check=check, input=input)
        if not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv):
            raise TypeError(f"argv must be a list of strings, got {argv!r}")
        r = self.source.backend.exec(MM2, list(argv), timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise ExecError(MM2, list(argv), r)
        return r

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None:
        c, n = self._route(node)
        (c.backend if c is not None else self.source.backend).put_file(n, path, data, mode)

    def get_file(self, node: str, path: str) -> bytes:
        c, n = self._route(node)
        return (c.backend if c is not None else self.source.backend).get_file(n, path)

    def layout(self, node: str) -> NodeLayout:
        c, n = self._route(node)
        return MM2_LAYOUT if c is None else c.layout(n)

    def data_dir(self, node: str) -> str:
        c, n = self._route(node)
        return MM2_LAYOUT.data if c is None else c.data_dir(n)

    # --- processes (Kafka's names; on mm2 they act on MirrorMaker 2) ----------------------
    def start_kafka(self, node: str) -> None:
        c, n = self._route(node)
        if c is not None:
            return c.start_kafka(n)
        try:
            script_start(self, MM2, ["mm2-start"], "MirrorMaker 2")
        except ProcessError as e:
            raise MirrorError(str(e)) from None

    def kill_kafka(self, node: str, sig: str = "KILL") -> None:
        c, n = self._route(node)
        if c is not None:
            return c.kill_kafka(n, sig)
        sig = signal_name(sig)
        try:
            script_signal(self, MM2, ["proc-signal", "mm2-pid", sig], sig, "MirrorMaker 2")
        except ProcessError as e:
            raise MirrorError(str(e)) from None

    def kafka_pid(self, node: str) -> int | None:
        c, n = self._route(node)
        return c.kafka_pid(n) if c is not None else script_pid(self, MM2, ["mm2-pid"])

    # --- metadata: the source's, or the target's for a mirrored topic ---------------------
    def _mirrored(self, topic: str) -> bool:
        return topic.startswith(f"{SOURCE_ALIAS}.")

    def _as_target(self, nodes: list[str]) -> list[str]:
        return [f"{TARGET_PREFIX}{n[1:]}" for n in nodes]

    def leader(self, topic: str, partition: int = 0) -> str | None:
        if self._mirrored(topic):
            n = self.target.leader(topic, partition)
            return self._as_target([n])[0] if n else None
        return self.source.leader(topic, partition)

    def isr(self, topic: str, partition: int = 0) -> list[str]:
        return self._as_target(self.target.isr(topic, partition)) if self._mirrored(topic) else self.source.isr(topic, partition)

    def replicas(self, topic: str, partition: int = 0) -> list[str]:
        return self._as_target(self.target.replicas(topic, partition)) if self._mirrored(topic) else self.source.replicas(topic, partition)

    def active_controller(self) -> str | None:
        return self.source.active_controller()

    def admin(self):
        return self.source.admin()

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int | None = None,
                     config: dict[str, str] | None = None, timeout: float = 60) -> None:
        """Creates a topic in the source (MM2 copies it to the target)."""
        self.source.create_topic(name, partitions, replication_factor, config, timeout)

    def main_log(self, node: str) -> str:
        """The node's main log file: the broker's server.log, or MM2's Connect log on the MM2 node."""
        c, n = self._route(node)
        if c is None:
            return "/var/log/kafka/mm2-connect.log"
        return c.system.log_files(n, c.layout(n))[0]

    def status(self, probe_topic: str | None = None) -> dict[str, Any]:
        """The source's status (`Cluster.status`) with the target's nodes (tK) and the MM2 node added."""
        out = self.source.status(probe_topic)
        out["name"] = f"{self.name} (mirror: source -> {self.target.name}, MirrorMaker 2 {self.settings.mm2_version})"
        for n in self.target.nodes:
            out["nodes"][f"{TARGET_PREFIX}{n[1:]}"] = {"address": self.target.address(n),
                                                      "roles": [f"target {r}" for r in self.target.spec.roles(n)],
                                                      "kafka_pid": self.target.kafka_pid(n)}
        out["nodes"][MM2] = {"address": self.address(MM2), "roles": ["mirrormaker2"], "kafka_pid": self.kafka_pid(MM2)}
        out["target_bootstrap_servers"] = self.target_bootstrap()
        return out

    # --- lifecycle ----------------------------------------------------------------------------
    def up(self, timeout: float = 180) -> "MirrorCluster":
        """Both clusters at once (each waits until it serves), then the MM2 node joining both networks and MM2 started.

        On any failure everything made so far is removed, unless keep=True."""
        try:
            if self.source.backend_name != "docker" or self.target.backend_name != "docker":
                raise MirrorError("a mirror campaign needs the docker backend (its MM2 node joins both clusters' networks)")
            t0 = time.monotonic()
            image = self._prepare_image()
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(c.up, timeout) for c in (self.source, self.target)]
                errors = []
                for f in futures:
                    try:
                        f.result()
                    except BaseException as e:  # wait for both before tearing down
                        errors.append(e)
                if errors:
                    raise errors[0]
            self.log(f"source and target up in {time.monotonic() - t0:.1f} s; creating the MM2 node")
            self._create_mm2(image)
            self.start_kafka(MM2)
            self.state["mirror"]["phase"] = "up"
            self.source._save()
            return self
        except BaseException:
            if not self.keep:
                try:
                    self.down()
                except Exception as e:
                    self.log(f"tearing down {self.name} after a failed up also failed: {e}")
            raise

    def _prepare_image(self) -> str:
        from prozess.cluster.image import ensure_mirror_image

        return ensure_mirror_image(self.source.backend.client, self.spec.kafka_version, self.settings.mm2_version, log=self.log)

    def _create_mm2(self, image: str) -> None:
        """The MM2 container: on the source's network at .(10+MM2_HOST_INDEX), joined to the target's, files in place."""
        import ipaddress

        from prozess.cluster.backends.docker import LABEL

        backend = self.source.backend
        api = backend.client.api
        cname = backend.container_name(MM2)
        src_addr = addr.node_address(ipaddress.ip_network(self.source.state["subnet"]), MM2_HOST_INDEX)
        tgt_addr = addr.node_address(ipaddress.ip_network(self.target.state["subnet"]), MM2_HOST_INDEX)
        mirror = self.state["mirror"]
        mirror.update(container=cname, addresses={"source": src_addr, "target": tgt_addr})
        self.source.state.setdefault("resources", {}).setdefault("containers", []).append(cname)
        self.source._save()
        host_config = api.create_host_config(cap_add=["NET_ADMIN"], init=False)
        net_config = api.create_networking_config(
            {backend.network_name(): api.create_endpoint_config(ipv4_address=src_addr, aliases=[MM2])})
        c = api.create_container(image, name=cname, hostname=MM2, labels={LABEL: self.name}, detach=True,
                                 host_config=host_config, networking_config=net_config)
        backend.client.networks.get(self.target.backend.network_name()).connect(c["Id"], ipv4_address=tgt_addr, aliases=[MM2])
        api.start(c["Id"])
        s = self.settings
        props = mm2_properties(self.bootstrap_servers(), self.target_bootstrap(), topics=s.topics,
                               source_rf=min(self.spec.replication_factor, len(self.source.brokers)),
                               target_rf=min(self.target.spec.replication_factor, len(self.target.brokers)),
                               extra=s.mm2_properties)
        for path, data in {"/etc/prozess/node.env": _node_env(s.mm2_heap), "/etc/prozess/mm2.properties": props,
                           "/etc/prozess/mm2-log4j2.properties": MM2_LOG4J2}.items():
            backend.put_file(MM2, path, data.encode())

    def down(self) -> None:
        """Removes the source with the MM2 node, then the target; idempotent."""
        problems = []
        for c in (self.source, self.target):
            try:
                c.down()
            except Exception as e:
                problems.append(str(e))
        if problems:
            raise MirrorError("; ".join(problems))

    def __enter__(self) -> "MirrorCluster":
        if self.state.get("phase") != "up":
            self.up()
        return self

    def __exit__(self, *exc) -> None:
        if not self.keep:
            self.down()

    def collect_logs(self, dest_dir: str | os.PathLike) -> list[Path]:
        """The source's nodes into dest/nK, the target's into dest/tK, MM2's log and configuration into dest/mm2."""
        dest = Path(dest_dir)
        written = list(self.source.collect_logs(dest))
        tmp = Path(tempfile.mkdtemp(prefix="prozess-target-logs-"))
        try:
            for p in self.target.collect_logs(tmp):
                rel = p.relative_to(tmp)
                node = target_node_of(rel.parts[0])
                out = dest / node / Path(*rel.parts[1:])
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(p), out)
                written.append(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        d = dest / MM2
        d.mkdir(parents=True, exist_ok=True)
        for src in ("/var/log/kafka/mm2.log", "/var/log/kafka/mm2-connect.log", "/etc/prozess/mm2.properties", "/etc/prozess/node.env"):
            try:
                data = self.get_file(MM2, src)
            except Exception:
                continue
            p = d / os.path.basename(src)
            p.write_bytes(data)
            written.append(p)
        return written


def target_node_of(name: str) -> str:
    """The mirror name (tK) of the target cluster's node nK."""
    return f"{TARGET_PREFIX}{name[1:]}" if name.startswith("n") and name[1:].isdigit() else name


def _target_name(source_name: str) -> str:
    return f"{source_name}-t"


def open_mirror(source_spec: Any, options: Mapping[str, Any] | None = None, *, backend: str = "docker", name: str | None = None,
                keep: bool = False, log: Callable[[str], None] | None = None, **backend_options: Any) -> MirrorCluster:
    """A new, not yet started mirror set-up; the source is named `name` (default mm2-<random>), the target `<name>-t`."""
    import secrets

    from prozess.cluster.cluster import open_cluster
    from prozess.cluster.spec import ClusterSpec

    try:
        settings = MirrorSettings.from_options(dict(options or {}))
    except (TypeError, ValueError) as e:
        raise MirrorError(f"mirror set-up: {e}") from None
    name = name or f"mm2-{secrets.token_hex(3)}"
    tdata = {**source_spec.to_dict(), "nodes": settings.target_nodes, **settings.target_cluster}
    try:
        tspec = ClusterSpec.from_dict(tdata)
    except Exception as e:
        raise MirrorError(f"target_cluster: {e}") from None
    source = open_cluster(source_spec, backend=backend, name=name, keep=True, log=log, **backend_options)
    target = open_cluster(tspec, backend=backend, name=_target_name(name), keep=True, log=log, **backend_options)
    source.state["mirror"] = {"target": target.name, "settings": dataclasses.asdict(settings), "phase": "new"}
    target.state["mirror_of"] = source.name  # part of the source's set-up: commands that pick "the only cluster" skip it
    return MirrorCluster(source, target, settings, keep=keep, log=log)


def attach_mirror(source: Any, *, log: Callable[[str], None] | None = None) -> MirrorCluster:
    """The mirror set-up whose source is `source` (an attached Cluster whose state names its target)."""
    from prozess.cluster.cluster import attach_cluster

    m = source.state["mirror"]
    settings = MirrorSettings.from_options(m.get("settings") or {})
    try:
        target = attach_cluster(m["target"], log=log)
    except ClusterError:
        target = _Gone(m["target"])  # removed already: down() and heal skip it
    return MirrorCluster(source, target, settings, keep=True, log=log)


class _Gone:
    """A target cluster whose state is gone (removed by hand): no nodes, and nothing to remove."""

    backend_name = "docker"

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[str] = []
        self.brokers: list[str] = []

    def down(self) -> None:
        pass

    def collect_logs(self, dest: Any) -> list[Path]:
        return []

    def bootstrap_servers(self) -> str:
        return ""
