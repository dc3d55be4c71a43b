"""Spec values that reach a node are validated, and JVM options reach the JVM as separate arguments."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from prozess.cluster.kafka import NodeLayout, jvm_opts, node_env
from prozess.cluster.spec import ClusterSpec, SpecError
from prozess.spec import SpecError as RunSpecError
from prozess.spec import TestSpec

KAFKA_START = Path(__file__).resolve().parents[2] / "cluster" / "node" / "bin" / "kafka-start"


@pytest.mark.parametrize(
    "heap",
    ["512m -XX:OnOutOfMemoryError=touch /tmp/owned", "512m\n-Xdebug", "$(id)", "512mb", "-1g", "0", "", "1g;", "1 g"],
)
def test_heap_must_be_a_jvm_size(heap):
    with pytest.raises(SpecError, match="heap"):
        ClusterSpec(heap=heap)


@pytest.mark.parametrize("heap", ["512m", "2g", "1024K", "536870912"])
def test_heap_sizes_pass(heap):
    assert f"-Xmx{heap}" in jvm_opts(ClusterSpec(heap=heap))


def test_a_toml_spec_with_a_heap_that_carries_options_is_refused(tmp_path):
    spec = tmp_path / "t.toml"
    spec.write_text('[cluster]\nheap = "512m -XX:OnOutOfMemoryError=/bin/sh"\n')
    with pytest.raises(RunSpecError, match="heap"):
        TestSpec.from_toml(spec).validate()


@pytest.mark.parametrize(
    "overrides",
    [{"log.dirs": "/tmp\nprocess.roles=controller"}, {"a\nb": "1"}, {"x=y": "1"}, {"": "1"}, {"k": "v\r"}],
)
def test_broker_overrides_are_one_line_key_value(overrides):
    with pytest.raises(SpecError, match="broker_overrides"):
        ClusterSpec(broker_overrides=overrides)


def test_client_properties_are_one_line_key_value():
    with pytest.raises(RunSpecError, match="client.properties"):
        TestSpec(client={"library": "confluent", "acks": "all", "isolation": "read_committed", "properties": {"sasl.mechanism": "PLAIN\nx=y"}}).validate()


def _split_by_kafka_start(node_env_text: str, tmp_path: Path) -> list[str]:
    """Runs kafka-start's own splitting line (taken from the script) after sourcing node.env; returns "$@"."""
    lines = KAFKA_START.read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("set -f;"))
    split = "\n".join(lines[i : i + 2])
    assert "set -- $KAFKA_JVM_OPTS" in split
    env = tmp_path / "node.env"
    env.write_text(node_env_text)
    script = f'set -eu\n. "{env}"\n{split}\nfor a in "$@"; do printf "%s\\0" "$a"; done\n'
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True, cwd=tmp_path).stdout
    return out.decode().split("\0")[:-1]


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_kafka_start_passes_each_jvm_option_as_one_argument(tmp_path):
    spec = ClusterSpec(heap="768m")
    env = node_env(spec, "cid", NodeLayout())
    assert _split_by_kafka_start(env, tmp_path) == jvm_opts(spec)
    # an option with spaces or glob characters (were one ever allowed) still stays one argument
    (tmp_path / "evil").write_text("")
    env = env.replace("-Xms64m", "-Dx=a b *")
    assert "-Dx=a b *" in _split_by_kafka_start(env, tmp_path)


def test_kafka_start_expands_jvm_options_only_through_the_array():
    text = KAFKA_START.read_text()
    uses = [line for line in text.splitlines() if "$KAFKA_JVM_OPTS" in line and not line.lstrip().startswith("#")]
    assert uses == ["'; set -- $KAFKA_JVM_OPTS; unset IFS; set +f"]
    assert '"$JAVA" "$@"' in text


def test_a_workload_table_names_its_workload_and_gives_its_options(tmp_path):
    """TOML allows no `workload = "..."` beside a [workload] table, so the table's `name` names it."""
    p = tmp_path / "spec.toml"
    p.write_text('[workload]\nname = "compaction"\nkey_count = 4\n')
    spec = TestSpec.from_toml(p)
    assert spec.workload == "compaction" and spec.workload_options == {"key_count": 4}
    p.write_text('[workload]\nkey_count = 4\n')
    assert TestSpec.from_toml(p).workload == "queue"  # no name: the default workload, with these options
    p.write_text('[workload]\nname = "queue"\n[workload_options]\nkey_count = 4\n')
    with pytest.raises(RunSpecError, match=r"both \[workload\] and \[workload_options\]"):
        TestSpec.from_toml(p)
