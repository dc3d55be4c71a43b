"""What the systems under test (Apache Kafka, Tansu) share: roles from the spec, process control, partition metadata.

Each system starts, signals and finds the pid of its processes through small scripts
installed on every node (`cluster/node/bin`); running one and turning a failure into
one `ProcessError` that says what failed where is the same for every system, as are
the roles read from the cluster spec and a partition's broker metadata.
"""

from __future__ import annotations

from typing import Any

from prozess.cluster.system import Nodes

__all__ = ["ProcessError", "SpecSystem", "partition_metadata", "script_pid", "script_signal", "script_start"]


class ProcessError(RuntimeError):
    """A process of the system could not be started or signalled; the message says why."""


class SpecSystem:
    """A system built from a cluster spec (`self.spec`), whose roles and version come straight from it."""

    version_key = ""   # the spec field that holds this system's version

    def __init__(self, spec: Any):
        self.spec = spec

    @property
    def version(self) -> str:
        return getattr(self.spec, self.version_key)

    def roles(self, node: str) -> list[str]:
        return self.spec.roles(node)

    def nodes_with(self, role: str) -> list[str]:
        return [n for n in self.spec.node_names if role in self.spec.roles(n)]


def _run(nodes: Nodes, node: str, argv: list[str], timeout: float):
    return nodes.exec(node, [f"{nodes.layout(node).bin}/{argv[0]}", *argv[1:]], timeout=timeout)


def script_start(nodes: Nodes, node: str, argv: list[str], what: str) -> None:
    """Runs a start script on `node`; ProcessError naming `what` (e.g. "Kafka") when it fails."""
    r = _run(nodes, node, argv, 120)
    if r.returncode != 0:
        raise ProcessError(f"starting {what} on {node} failed (exit {r.returncode}): {(r.stderr + r.stdout).strip()[-800:]}")


def script_signal(nodes: Nodes, node: str, argv: list[str], sig: str, what: str) -> None:
    """Runs a signal script on `node` (its argv ends with the signal); ProcessError when it fails."""
    r = _run(nodes, node, argv, 60)
    if r.returncode != 0:
        raise ProcessError(f"kill -{sig} of {what} on {node} failed: {(r.stderr or r.stdout).strip()[-500:]}")


def script_pid(nodes: Nodes, node: str, argv: list[str]) -> int | None:
    """The pid a pid script prints, or None when the process does not run."""
    r = _run(nodes, node, argv, 15)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else None


def partition_metadata(nodes: Nodes, topic: str, partition: int = 0) -> Any:
    """Broker metadata of one partition (leader, replicas, isrs as broker ids), or None."""
    try:
        md = nodes.admin().list_topics(topic=topic, timeout=5)
    except Exception:
        return None
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return t.partitions.get(partition)
