"""prozess.cluster: real Apache Kafka clusters (KRaft) on docker, netns or SSH nodes.

Public API: ClusterSpec, open_cluster, attach_cluster, list_clusters, Cluster,
ExecResult, ClusterError. Heavy libraries (docker, paramiko, confluent_kafka) are
imported only where used.
"""

from __future__ import annotations

from prozess.cluster.spec import KAFKA_VERSION, PRESETS, ClusterSpec, SpecError

__all__ = [
    "ClusterSpec", "SpecError", "PRESETS", "KAFKA_VERSION", "Cluster", "ClusterError", "ExecResult", "ExecError",
    "ExecTimeout", "open_cluster", "attach_cluster", "list_clusters",
]


def __getattr__(name: str):
    if name == "attach_cluster":  # a mirror campaign's source comes back with its target and MM2 node
        from prozess.cluster.attach import attach_cluster

        return attach_cluster
    if name in ("Cluster", "ClusterError", "open_cluster", "list_clusters"):
        from prozess.cluster import cluster

        return getattr(cluster, name)
    if name in ("ExecResult", "ExecError", "ExecTimeout"):
        from prozess.cluster.backends import base

        return getattr(base, name)
    raise AttributeError(name)
