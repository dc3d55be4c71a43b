"""The ssh backend end to end: a 3-node cluster on sshd containers prozess makes itself,
driven through paramiko only once they run (configs, start, kill, files, logs).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from prozess.cluster import ClusterSpec, open_cluster
from prozess.cluster.testing import consume_all, host_resources, produce_acked

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster():
    from prozess.cluster.engine import engine_answers

    if not engine_answers():
        pytest.skip("the ssh test runs sshd in prozess's own containers and needs a docker engine")
    c = open_cluster(ClusterSpec(), backend="ssh", name=f"pzt-ssh-{secrets.token_hex(2)}")
    c.up(timeout=400)
    yield c
    c.down()


def test_commands_go_over_ssh_with_quoted_argv(cluster):
    r = cluster.exec("n1", ["sh", "-c", 'echo "$SSH_CONNECTION"'])
    assert r.stdout.split()[2] == cluster.address("n1") and r.stdout.split()[3] == "22"
    tricky = "it's; $(touch /tmp/pwned) `id` \"q\" \\ *"
    assert cluster.exec("n2", ["echo", tricky]).stdout == tricky + "\n"
    assert cluster.exec("n2", ["test", "-e", "/tmp/pwned"]).returncode == 1
    assert cluster.exec("n3", ["cat"], input=b"through paramiko").stdout == "through paramiko"
    cluster.put_file("n3", "/tmp/prozess-test/f", b"sftp", mode=0o600)
    assert cluster.get_file("n3", "/tmp/prozess-test/f") == b"sftp"
    assert type(cluster.backend).__name__ == "SshBackend"


def test_produce_kill_leader_and_read_back(cluster):
    topic = "ssh-kill"
    cluster.create_topic(topic, partitions=1, replication_factor=3)
    before = produce_acked(cluster.bootstrap_servers(), topic, [f"v{i}" for i in range(200)])
    assert len(before) == 200
    old = cluster.leader(topic, 0)
    cluster.kill_kafka(old)
    assert not cluster.kafka_running(old)
    new, deadline = None, time.monotonic() + 90
    while time.monotonic() < deadline and (new is None or new == old):
        time.sleep(1)
        new = cluster.leader(topic, 0)
    assert new and new != old
    cluster.start_kafka(old)
    cluster.wait_healthy(180)
    got = consume_all(cluster.bootstrap_servers(), topic, expect=200, client="kafka-python")
    assert not set(before) - set(got)


def test_down_leaves_nothing(cluster):
    key = Path(cluster.state["resources"]["key_file"])
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    made = host_resources(cluster.name)
    assert len(made["containers"]) == 3 and made["networks"] and made["state"], made
    cluster.down()
    assert not any(host_resources(cluster.name).values())
    assert not key.exists()
