"""Tansu as a system under test (prozess.cluster.system.System): stateless brokers on PostgreSQL.

Tansu (the Rust crate `tansu`) is a Kafka-API broker whose brokers keep no state:
every broker serves every partition, group and transaction straight from a shared
storage engine. Here that engine is PostgreSQL on a node of its own ("pg1"), so the
nemesis can cut, kill, pause and skew it like any node; brokers are n1..nN.

- install: the `tansu` binary, cached by version in <cache>/tansu/<version>/bin, built
  once with `cargo install tansu --version V --locked --features postgres` when missing.
- storage: PostgreSQL from Debian, fsync and synchronous commit on, loaded with the
  schema in node/tansu-schema.sql (the crate ships only SQLite DDL).
- leader: every broker leads every partition (each answers Metadata naming itself as
  leader, replica and ISR). `leader()` is the first broker, in node order, whose
  process runs: the one a client bootstrapping from the broker list reaches first.
- controller: none; `active_controller()` is the storage node while PostgreSQL runs,
  because it alone orders every write.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prozess.cluster.artifacts import install_atomically, run_build
from prozess.cluster.kafka import CLIENT_PORT, CONFIG_DIR, FAKETIME_PATH, NodeLayout, node_env
from prozess.cluster.paths import NODE_DIR, cache_dir
from prozess.cluster.spec import TANSU_VERSION, ClusterSpec
from prozess.cluster.system import Nodes
from prozess.cluster.system_parts import SpecSystem, partition_metadata, script_pid, script_signal, script_start
from prozess.setup import SetupError

__all__ = ["TANSU_VERSION", "PG_PORT", "TansuError", "TansuSystem", "tansu_binary", "tansu_ready", "ensure_tansu", "tansu_env"]

PG_PORT = 5432
SCHEMA = NODE_DIR / "tansu-schema.sql"
#: Where the binary sits inside a docker node (the node image copies it there).
NODE_BINARY = "/opt/prozess/tansu/bin/tansu"


class TansuError(SetupError):
    """The Tansu binary could not be found or built; the message says what to do."""


def tansu_dir(version: str) -> Path:
    return cache_dir() / "tansu" / version


def tansu_binary(version: str) -> Path:
    return tansu_dir(version) / "bin" / "tansu"


def tansu_ready(version: str) -> bool:
    b = tansu_binary(version)
    return b.is_file() and os.access(b, os.X_OK)


def ensure_tansu(version: str = TANSU_VERSION, *, log=print, timeout: float = 3600) -> Path:
    """The cached binary for `version`; builds it with cargo (15-30 minutes) when missing."""
    if tansu_ready(version):
        return tansu_binary(version)
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not os.access(cargo, os.X_OK):
        raise TansuError("building Tansu needs Rust's cargo; install it (Debian: apt-get install cargo) and retry `prozess setup`")

    def build(tmp: Path) -> None:
        argv = [cargo, "install", "tansu", "--version", version, "--locked", "--features", "postgres", "--root", str(tmp)]
        r = run_build(argv, timeout, TansuError, f"cargo install tansu {version} did not finish within {timeout:.0f} s")
        if r.returncode != 0:
            raise TansuError(f"cargo install tansu {version} failed: {(r.stdout + r.stderr).strip()[-800:]}")

    log(f"building Tansu {version} with cargo install (once per machine; takes 15-30 minutes)")
    install_atomically(tansu_dir(version), version, build)
    return tansu_binary(version)


def storage_url(spec: ClusterSpec, addresses: dict[str, str]) -> str:
    return f"postgres://postgres:postgres@{addresses[spec.storage_nodes[0]]}:{PG_PORT}/postgres"


def tansu_env(spec: ClusterSpec, node: str, addresses: dict[str, str], binary: str) -> str:
    """/etc/prozess/tansu.env for broker `node`: binary, listener, advertised address, storage."""
    ip = addresses[node]
    values = {
        "TANSU_BIN": binary,
        "TANSU_CLUSTER": "prozess",
        "TANSU_LISTENER": f"tcp://{ip}:{CLIENT_PORT}",
        "TANSU_ADVERTISED": f"tcp://{ip}:{CLIENT_PORT}",
        "TANSU_STORAGE": storage_url(spec, addresses),
    }
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


class TansuSystem(SpecSystem):
    """Tansu `spec.tansu_version`: brokers n1..nN on PostgreSQL on the storage node."""

    name = "tansu"
    version_key = "tansu_version"
    spec: ClusterSpec
    mode = "postgres"   # one storage engine: the mode never changes

    def describe(self) -> str:
        return f"Tansu {self.version} (PostgreSQL storage)"

    # --- artifacts and configuration ---------------------------------------------------
    def install(self) -> Path:
        return ensure_tansu(self.version)

    def binary_on_node(self, layout: NodeLayout) -> str:
        """The binary's path as a node sees it: the cache on this host (netns), else the image's copy."""
        return str(tansu_binary(self.version)) if layout.bin == str(NODE_DIR / "bin") else NODE_BINARY

    def node_files(self, node: str, addresses: dict[str, str], cluster_id: str, layout: NodeLayout) -> dict[str, bytes]:
        files = {
            f"{CONFIG_DIR}/node.env": node_env(self.spec, cluster_id, layout).encode(),
            FAKETIME_PATH: b"+0\n",
        }
        if node in self.spec.storage_nodes:
            files[f"{CONFIG_DIR}/tansu-schema.sql"] = SCHEMA.read_bytes()
        else:
            files[f"{CONFIG_DIR}/tansu.env"] = tansu_env(self.spec, node, addresses, self.binary_on_node(layout)).encode()
        return files

    # --- processes -----------------------------------------------------------------------
    def _scripts(self, node: str) -> tuple[str, str]:
        return ("pg-start", "pg-pid") if node in self.spec.storage_nodes else ("tansu-start", "tansu-pid")

    def process_name(self, node: str) -> str:
        return "PostgreSQL" if node in self.spec.storage_nodes else "Tansu"

    def start(self, nodes: Nodes, node: str) -> None:
        script_start(nodes, node, [self._scripts(node)[0]], self.process_name(node))

    def signal(self, nodes: Nodes, node: str, sig: str) -> None:
        script_signal(nodes, node, ["proc-signal", self._scripts(node)[1], sig], sig, self.process_name(node))

    def pid(self, nodes: Nodes, node: str) -> int | None:
        return script_pid(nodes, node, [self._scripts(node)[1]])

    # --- paths -----------------------------------------------------------------------------
    def data_dir(self, node: str, layout: NodeLayout) -> str:
        return f"{layout.data}/pg" if node in self.spec.storage_nodes else layout.data

    def log_files(self, node: str, layout: NodeLayout) -> list[str]:
        if node in self.spec.storage_nodes:
            return [f"{layout.logs}/postgres.log", f"{layout.logs}/schema.log", f"{layout.logs}/initdb.log", f"{CONFIG_DIR}/node.env"]
        return [f"{layout.logs}/tansu.log", f"{CONFIG_DIR}/tansu.env", f"{CONFIG_DIR}/node.env", FAKETIME_PATH]

    # --- metadata ------------------------------------------------------------------------------
    def answering_brokers(self, nodes: Nodes, timeout: float = 2) -> list[str]:
        """The brokers that accept a TCP connection on the client port now."""
        def ask(node: str) -> bool:
            try:
                with socket.create_connection((nodes.address(node), CLIENT_PORT), timeout=timeout):
                    return True
            except OSError:
                return False

        brokers = self.spec.broker_nodes
        with ThreadPoolExecutor(max_workers=max(1, len(brokers))) as pool:
            return [n for n, ok in zip(brokers, pool.map(ask, brokers)) if ok]

    def registered_brokers(self, nodes: Nodes, timeout: float = 5) -> list[str]:
        return self.answering_brokers(nodes, timeout=min(timeout, 2))

    def partition(self, nodes: Nodes, topic: str, partition: int = 0):
        return partition_metadata(nodes, topic, partition)

    def leader(self, nodes: Nodes, topic: str, partition: int = 0) -> str | None:
        for node in self.spec.broker_nodes:
            if self.pid(nodes, node) is not None:
                return node
        return None

    def active_controller(self, nodes: Nodes) -> str | None:
        pg = self.spec.storage_nodes[0]
        return pg if self.pid(nodes, pg) is not None else None

    def health(self, nodes: Nodes) -> str | None:
        if self.active_controller(nodes) is None:
            return "PostgreSQL is not running on the storage node"
        missing = [n for n in self.spec.broker_nodes if n not in self.answering_brokers(nodes)]
        if missing:
            return f"brokers not answering: {', '.join(missing)}"
        try:
            nodes.admin().list_topics(timeout=5)
        except Exception as e:
            return f"brokers do not answer metadata: {e}"
        return None
