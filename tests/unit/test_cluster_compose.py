"""docker-compose.yml and its mounted configs stay what the default ClusterSpec renders."""

from __future__ import annotations

import re

from prozess.cluster.compose import REPO_ROOT, render
from prozess.cluster.spec import ClusterSpec


def test_committed_compose_files_match_the_default_spec():
    stale = [rel for rel, text in render().items() if not (REPO_ROOT / rel).is_file() or (REPO_ROOT / rel).read_text() != text]
    assert not stale, f"regenerate with `python -m prozess.cluster.compose`: {stale}"


def test_compose_runs_the_default_spec():
    spec = ClusterSpec()
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    services = re.findall(r"^  (n\d+):$", text, flags=re.M)
    assert services == spec.node_names
    for node in spec.node_names:
        props = (REPO_ROOT / f"cluster/compose/{node}/server.properties").read_text()
        assert f"default.replication.factor={spec.replication_factor}" in props
        assert f"min.insync.replicas={spec.min_insync_replicas}" in props
        assert "unclean.leader.election.enable=false" in props
        assert props.count("@") == len(spec.controller_nodes)  # quorum voters
