"""Where things are inside a node: the layout every system's node files and scripts agree on.

Pure data, shared by the Kafka broker's files (`kafka.py`) and the ZooKeeper
ensemble's (`zookeeper.py`), so neither renders through the other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONFIG_DIR", "FAKETIME_PATH", "NodeLayout"]

CONFIG_DIR = "/etc/prozess"
FAKETIME_PATH = f"{CONFIG_DIR}/faketime"


@dataclass(frozen=True)
class NodeLayout:
    """Where a node keeps Kafka's pieces (paths as the node itself sees them)."""

    bin: str = "/opt/prozess/bin"
    libs: str = "/opt/prozess/libs"
    data: str = "/var/lib/kafka/data"
    logs: str = "/var/log/kafka"
    pidfile: str = "/run/kafka/kafka.pid"
    java: str = "java"
