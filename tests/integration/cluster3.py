"""A real 3-node Kafka cluster (prozess.cluster, docker backend) shared by one test module."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="module")
def cluster3():
    """Three KRaft nodes, safe preset; always torn down. Skips (with the reason) where docker cannot run."""
    from prozess.cluster import ClusterSpec, open_cluster

    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        pytest.skip(f"docker engine unavailable: {e}")
    c = open_cluster(ClusterSpec.preset("safe"), backend="docker", name=f"pzwl-{secrets.token_hex(2)}")
    try:
        c.up(timeout=420)
        yield c
    finally:
        c.down()
