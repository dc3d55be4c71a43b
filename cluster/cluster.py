"""The Cluster: a real Kafka cluster (KRaft or ZooKeeper mode) on nodes a backend provides.

The cluster joins a backend (which nodes, how to run commands on them) and a system
(prozess.cluster.system: what runs on them, how it is started and asked who leads);
Apache Kafka (prozess.cluster.kafka_system) is the system today. Its methods keep
Kafka's names (`start_kafka`, `kill_kafka`, ...) and act on the node's process, which
is ZooKeeper on a ZooKeeper node.

`open_cluster(spec, backend=...)` names a new cluster; `up()` makes its nodes, writes
each node's config, starts Kafka and waits until every broker is registered; `down()`
removes everything `up` made. Its state is persisted (prozess.cluster.state) so that
`attach_cluster(name)` in another process (`prozess heal`, `prozess cluster down`) acts
on the same nodes. Kafka runs as its own process on each node (never PID 1), so
killing, pausing and restarting it are node-local operations like Jepsen's db
kill!/start!.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from prozess.cluster import addresses as addr
from prozess.cluster.backends import backend_class
from prozess.cluster.backends.base import ExecError, ExecResult
from prozess.cluster.kafka import CLIENT_PORT, FAKETIME_PATH, NodeLayout, new_cluster_id
from prozess.cluster.kafka_system import KafkaSystem, ProcessError
from prozess.cluster.spec import ClusterSpec
from prozess.cluster.state import StateError, all_states, delete_state, load_state, save_state, state_lock, state_path, valid_name

__all__ = ["Cluster", "ClusterError", "open_cluster", "attach_cluster", "list_clusters", "system_for"]


def system_for(spec: ClusterSpec):
    """The system on trial that `spec.system` names (Apache Kafka or Tansu)."""
    if spec.system == "tansu":
        from prozess.cluster.tansu import TansuSystem

        return TansuSystem(spec)
    return KafkaSystem(spec)

SIGNALS = {"KILL", "TERM", "STOP", "CONT", "INT", "HUP"}
LEADER_SEEN = 3  # metadata answers in a row that must name a leader for a new topic (see create_topic)


def signal_name(sig: str) -> str:
    """`sig` as the scripts name it ("sigstop" -> "STOP"); ValueError naming the known ones if it is none of them."""
    name = sig.upper().removeprefix("SIG")
    if name not in SIGNALS:
        raise ValueError(f"signal {name!r} is not one of {', '.join(sorted(SIGNALS))}")
    return name


class ProcessControl:
    """Pause, resume and liveness of a node's process, for anything with `kill_kafka` and `kafka_pid`
    (a cluster, or a mirror set-up routing to its clusters and its MirrorMaker 2 node)."""

    def kill_kafka(self, node: str, sig: str = "KILL") -> None:
        raise NotImplementedError

    def kafka_pid(self, node: str) -> int | None:
        raise NotImplementedError

    def pause_kafka(self, node: str) -> None:
        self.kill_kafka(node, "STOP")

    def resume_kafka(self, node: str) -> None:
        self.kill_kafka(node, "CONT")

    def kafka_running(self, node: str) -> bool:
        return self.kafka_pid(node) is not None


class ClusterError(RuntimeError):
    """A cluster could not be brought up, reached or torn down; the message says why and what to do."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Cluster(ProcessControl):
    """One Kafka cluster. Kafka nodes are "n1".."nN" (node nK has Kafka id K); in ZooKeeper
    mode the ensemble's nodes "zk1".."zkK" follow them.

    It implements `prozess.cluster.control.ClusterControl`, the contract the nemesis and
    the runner program against."""

    faketime_path: str = FAKETIME_PATH

    def __init__(self, state: dict[str, Any], *, keep: bool = False, log: Callable[[str], None] | None = None, **backend_options: Any):
        self.state = state
        self.keep = keep
        self.log = log or (lambda msg: None)
        self.spec = ClusterSpec.from_dict(state["spec"])
        self.backend = backend_class(state["backend"])(state, log=self.log, **backend_options)
        self.system = system_for(self.spec)
        self._admin = None

    # --- identity -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.state["name"]

    @property
    def backend_name(self) -> str:
        return self.state["backend"]

    @property
    def nodes(self) -> list[str]:
        return self.spec.node_names

    @property
    def brokers(self) -> list[str]:
        return self.spec.broker_nodes

    @property
    def controllers(self) -> list[str]:
        """KRaft controllers (empty in ZooKeeper mode, where the controller is one of the brokers)."""
        return self.spec.controller_nodes

    @property
    def zookeepers(self) -> list[str]:
        """The ZooKeeper ensemble's nodes (empty in KRaft mode)."""
        return self.spec.zookeeper_nodes

    def roles(self, node: str) -> list[str]:
        return self.system.roles(self._node(node))

    def layout(self, node: str) -> NodeLayout:
        """Where the node keeps its jars, data, logs and pidfile (as the node sees them)."""
        return self.backend.node_layout(node)

    def data_dir(self, node: str) -> str:
        """Where the node's process keeps its durable data, as its system says (Kafka: the log directory)."""
        return self.system.data_dir(self._node(node), self.layout(node))

    def _node(self, node: str) -> str:
        if node not in self.nodes:
            raise ClusterError(f"cluster {self.name} has no node {node!r}; its nodes are {', '.join(self.nodes)}")
        return node

    def address(self, node: str) -> str:
        return self.state["addresses"][self._node(node)]

    def broker_id(self, node: str) -> int:
        return self.nodes.index(self._node(node)) + 1

    def node_of(self, broker_id: int) -> str | None:
        kafka = self.spec.kafka_nodes
        return kafka[broker_id - 1] if 1 <= broker_id <= len(kafka) else None

    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.address(n)}:{CLIENT_PORT}" for n in self.brokers)

    def __repr__(self) -> str:
        return f"Cluster({self.name!r}, backend={self.backend_name!r}, nodes={len(self.nodes)})"

    # --- lifecycle -----------------------------------------------------------------------
    def _save(self) -> None:
        save_state(self.state)

    def up(self, timeout: float = 180) -> "Cluster":
        """Creates the nodes, starts Kafka on each and waits until every broker is registered.

        Idempotent: on a cluster that is already up it only restarts stopped brokers and waits.
        On any failure (or Ctrl-C) everything made so far is removed, unless keep=True.
        """
        if self.state.get("phase") == "down":  # up again after down: start from scratch
            self.state.update(phase="new", resources={}, addresses={}, subnet=None, gateway=None)
            self.state.pop("kafka_cluster_id", None)
        try:
            if self.state.get("phase") in (None, "new"):
                self.backend.prepare(self.spec)
                with state_lock():
                    if state_path(self.name).exists():
                        raise ClusterError(f"a cluster named {self.name!r} exists already; `prozess cluster down {self.name}` or pick another name")
                    if self.backend.uses_pool:
                        subnet = addr.pick_subnet([s["subnet"] for s in all_states() if s.get("subnet")])
                        self.state["subnet"] = str(subnet)
                        self.state["gateway"] = addr.gateway_address(subnet)
                        self.state["addresses"] = {n: addr.node_address(subnet, i) for i, n in enumerate(self.nodes, 1)}
                        self.state["blackhole"] = addr.add_blackhole()
                    self.state["phase"] = "creating"
                    self._save()
                self.log(f"creating {len(self.nodes)} {self.backend_name} nodes for {self.name}")
                self.backend.create(self.state, self._save)
                self._write_configs()
                self.state["phase"] = "created"
                self._save()
            if self.zookeepers:  # the ensemble first: brokers register with it as they start
                self.log(f"starting ZooKeeper on {', '.join(self.zookeepers)}")
                self._each(self.start_kafka, self.zookeepers)
            if self.spec.storage_nodes:  # Tansu's storage first: brokers read it from their first request
                self.log(f"starting PostgreSQL on {', '.join(self.spec.storage_nodes)}")
                self._each(self.start_kafka, self.spec.storage_nodes)
            self.log(f"starting {self.system.describe()} on {', '.join(self.spec.kafka_nodes)}")
            self._each(self.start_kafka, self.spec.kafka_nodes)
            self.wait_healthy(timeout)
            self.state["phase"] = "up"
            self._save()
            return self
        except BaseException:
            if not self.keep:
                try:
                    self.down()
                except Exception as e:  # keep the original error; say what is left
                    self.log(f"tearing down {self.name} after a failed up also failed: {e}")
            raise

    def _write_configs(self) -> None:
        cid = self.state.setdefault("kafka_cluster_id", new_cluster_id())
        self._save()

        def write(node: str) -> None:
            for path, data in self.system.node_files(node, self.state["addresses"], cid, self.backend.node_layout(node)).items():
                self.backend.put_file(node, path, data)

        self._each(write)

    def _each(self, fn: Callable[[str], Any], nodes: list[str] | None = None) -> list[Any]:
        nodes = self.nodes if nodes is None else nodes
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            return list(pool.map(fn, nodes))

    def down(self) -> None:
        """Removes everything `up` made (nodes, networks, namespaces, rules, temp dirs); idempotent."""
        self._admin = None
        problems = self.backend.destroy(self.state) if self.state.get("phase") not in (None, "new") else []
        self.backend.close()
        with state_lock():
            if problems:
                self.state["phase"] = "broken"
                self._save()
                raise ClusterError(f"could not remove all of cluster {self.name}: " + "; ".join(problems))
            delete_state(self.name)
            self.state["phase"] = "down"
            if not any(s.get("subnet") for s in all_states()):
                addr.remove_blackhole()
            cleanup = getattr(self.backend, "after_last_down", None)
            if cleanup and not any(s.get("backend") == self.backend_name for s in all_states()):
                cleanup()

    def __enter__(self) -> "Cluster":
        if self.state.get("phase") != "up":
            self.up()
        return self

    def __exit__(self, *exc) -> None:
        if not self.keep:
            self.down()

    # --- commands on nodes -----------------------------------------------------------------
    def exec(self, node: str, argv: list[str], *, timeout: float = 30, check: bool = False, input: bytes | None = None) -> ExecResult:
        """Runs argv as root inside the node (its network namespace and files)."""
        if not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv):
            raise TypeError(f"argv must be a list of strings, got {argv!r}")
        r = self.backend.exec(self._node(node), list(argv), timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise ExecError(node, list(argv), r)
        return r

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None:
        self.backend.put_file(self._node(node), path, data, mode)

    def get_file(self, node: str, path: str) -> bytes:
        return self.backend.get_file(self._node(node), path)

    def start_kafka(self, node: str) -> None:
        """Starts the node's process (Kafka, or ZooKeeper on a ZooKeeper node) unless it runs."""
        try:
            self.system.start(self, self._node(node))
        except ProcessError as e:
            raise ClusterError(str(e)) from None

    def kill_kafka(self, node: str, sig: str = "KILL") -> None:
        """Sends `sig` (KILL, TERM, STOP, CONT, ...) to the node's process; after KILL/TERM waits until it is gone."""
        sig = signal_name(sig)
        try:
            self.system.signal(self, self._node(node), sig)
        except ProcessError as e:
            raise ClusterError(str(e)) from None

    def kafka_pid(self, node: str) -> int | None:
        return self.system.pid(self, self._node(node))

    # --- Kafka metadata -------------------------------------------------------------------
    def admin(self):
        """A confluent-kafka AdminClient on this cluster (cached)."""
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient({
                "bootstrap.servers": self.bootstrap_servers(),
                "socket.timeout.ms": 5000,
                "socket.connection.setup.timeout.ms": 3000,
                "reconnect.backoff.max.ms": 1000,
                "allow.auto.create.topics": False,  # asking for a topic's leader must not create it
                "log_level": 2,
            })
        return self._admin

    def _metadata(self, topic: str | None = None, timeout: float = 5):
        return self.admin().list_topics(topic=topic, timeout=timeout)

    def registered_brokers(self, timeout: float = 5) -> list[str]:
        return self.system.registered_brokers(self, timeout=timeout)

    def _partition(self, topic: str, partition: int):
        return self.system.partition(self, topic, partition)

    def leader(self, topic: str, partition: int = 0) -> str | None:
        return self.system.leader(self, topic, partition)

    def isr(self, topic: str, partition: int = 0) -> list[str]:
        p = self._partition(topic, partition)
        return [self.node_of(b) for b in p.isrs if self.node_of(b)] if p is not None else []

    def replicas(self, topic: str, partition: int = 0) -> list[str]:
        p = self._partition(topic, partition)
        return [self.node_of(b) for b in p.replicas if self.node_of(b)] if p is not None else []

    def active_controller(self) -> str | None:
        """The node acting as controller now: the KRaft quorum leader, or in ZooKeeper mode the
        broker the brokers name as controller; None when none is known or its process is gone."""
        return self.system.active_controller(self)

    def zookeeper_leader(self) -> str | None:
        """The ZooKeeper ensemble's leader (None in KRaft mode or while the ensemble has none)."""
        return self.system.zookeeper_leader(self) if self.zookeepers else None

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int | None = None,
                     config: dict[str, str] | None = None, timeout: float = 60) -> None:
        """Creates a topic (no error if it exists) and waits until every partition has a leader.

        The leader must be seen in `LEADER_SEEN` metadata answers in a row: each answer comes from
        one broker, and in ZooKeeper mode the controller updates the brokers' metadata one by one,
        so a broker that has the new leader can answer before one that has not yet."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        rf = replication_factor or self.spec.replication_factor
        fut = self.admin().create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=rf, config=dict(config or {}))], request_timeout=30
        )[name]
        try:
            fut.result(timeout=timeout)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise ClusterError(f"creating topic {name!r} (partitions={partitions}, rf={rf}) failed: {e}") from None
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            seen = seen + 1 if all(self.leader(name, p) for p in range(partitions)) else 0
            if seen >= LEADER_SEEN:
                return
            time.sleep(0.5 if not seen else 0.2)
        raise ClusterError(f"topic {name!r} has partitions without a leader after {timeout:.0f} s")

    def wait_healthy(self, timeout: float = 120) -> None:
        """Waits until every broker is registered and a controller is active (and ZooKeeper has a leader)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                problem = self.system.health(self)
                if problem:
                    last = problem
                else:
                    return
            except Exception as e:
                last = f"metadata request failed: {e}"
            if time.monotonic() >= deadline:
                break
            time.sleep(1)
        tails = []
        for n in self.nodes:
            try:
                log = self.get_file(n, self.system.log_files(n, self.layout(n))[0]).decode(errors="replace")
                errors = [line for line in log.splitlines() if " ERROR " in line or "Exception" in line][-3:]
                tails.append(f"{n}: running={self.kafka_running(n)} " + (" | ".join(errors) or "no errors in server.log"))
            except Exception as e:
                tails.append(f"{n}: {e}")
        raise ClusterError(f"cluster {self.name} not healthy after {timeout:.0f} s ({last}); " + "; ".join(tails))

    def status(self, probe_topic: str | None = None) -> dict[str, Any]:
        """Registered brokers, active controller, per-node Kafka pid, and leader/ISR of a probe topic."""
        out: dict[str, Any] = {"name": self.name, "backend": self.backend_name, "phase": self.state.get("phase"),
                               "bootstrap_servers": self.bootstrap_servers(), "spec": self.spec.to_dict(),
                               "system": self.system.describe()}
        out["nodes"] = {n: {"address": self.address(n), "roles": self.spec.roles(n), "kafka_pid": self.kafka_pid(n)} for n in self.nodes}
        try:
            out["registered_brokers"] = self.registered_brokers()
        except Exception as e:
            out["registered_brokers"] = f"unknown: {e}"
        out["active_controller"] = self.active_controller()
        if self.zookeepers:
            out["zookeeper_leader"] = self.zookeeper_leader()
        if probe_topic:
            try:
                md = self._metadata(probe_topic)
                t = md.topics.get(probe_topic)
                out["probe"] = {probe_topic: {p: {"leader": self.node_of(pm.leader) if pm.leader >= 0 else None,
                                                  "isr": [self.node_of(b) for b in pm.isrs]}
                                              for p, pm in sorted(t.partitions.items())}} if t and t.error is None else None
            except Exception as e:
                out["probe"] = f"unknown: {e}"
        return out

    def collect_logs(self, dest_dir: str | os.PathLike) -> list[Path]:
        """Copies each node's Kafka logs and configs into dest_dir/<node>/; returns the files written."""
        written: list[Path] = []

        def collect(node: str) -> None:
            lay = self.backend.node_layout(node)
            d = Path(dest_dir) / node
            d.mkdir(parents=True, exist_ok=True)
            for src in self.system.log_files(node, lay):
                try:
                    data = self.get_file(node, src)
                except Exception:
                    continue
                p = d / os.path.basename(src)
                p.write_bytes(data)
                written.append(p)

        self._each(collect)
        return written


def _new_state(spec: ClusterSpec, backend: str, name: str, backend_options: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name, "backend": backend, "spec": spec.to_dict(), "phase": "new", "created": _now(),
        "nodes": spec.node_names, "addresses": {}, "resources": {}, "owner_pid": os.getpid(),
        "backend_options": {k: v for k, v in backend_options.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))},
    }


def open_cluster(spec: ClusterSpec | None = None, *, backend: str = "docker", name: str | None = None, keep: bool = False,
                 log: Callable[[str], None] | None = None, **backend_options: Any) -> Cluster:
    """A new, not yet started cluster; `up()` (or `with`) starts it. The name defaults to pz-<random>."""
    spec = spec or ClusterSpec()
    name = valid_name(name) if name else f"pz-{secrets.token_hex(3)}"
    if state_path(name).exists():
        raise ClusterError(f"a cluster named {name!r} exists already; `prozess cluster down {name}` or pick another name")
    backend_class(backend)  # unknown backend: clear error before anything happens
    return Cluster(_new_state(spec, backend, name, backend_options), keep=keep, log=log, **backend_options)


def attach_cluster(name: str, *, log: Callable[[str], None] | None = None) -> Cluster:
    """The cluster `name` made by any process, from its persisted state; `down()` on it removes it."""
    try:
        state = load_state(name)
    except StateError as e:
        raise ClusterError(str(e)) from None
    return Cluster(state, keep=True, log=log)


def list_clusters() -> list[dict[str, Any]]:
    """The persisted state of every prozess cluster on this machine."""
    return all_states()
