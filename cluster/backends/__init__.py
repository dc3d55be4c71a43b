"""Backends provide nodes: `docker` (containers), `netns` (host processes in network
namespaces) and `ssh` (hosts reached with paramiko). They share one small interface
(base.Backend); everything Kafka-specific lives in prozess.cluster.cluster."""

from __future__ import annotations

__all__ = ["backend_class", "BACKENDS"]

BACKENDS = ("docker", "netns", "ssh")


def backend_class(name: str):
    if name == "docker":
        from prozess.cluster.backends.docker import DockerBackend

        return DockerBackend
    if name == "netns":
        from prozess.cluster.backends.netns import NetnsBackend

        return NetnsBackend
    if name == "ssh":
        from prozess.cluster.backends.ssh import SshBackend

        return SshBackend
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
