"""The test spec of a queue run: TOML + flags, validation messages, replay from test.json, `prozess run` bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prozess.spec import SpecError, TestSpec, read_properties


def test_toml_then_flags_override(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text(
        'name = "x"\nseed = 7\ntime_limit = 30\nfaults = ["kill"]\n'
        '[cluster]\nnodes = 5\n[client]\nacks = "1"\nlibrary = "kafka-python"\n[workload]\nkey_count = 3\n'
    )
    spec = TestSpec.from_toml(p)
    assert spec.seed == 7 and spec.cluster == {"nodes": 5} and spec.client["acks"] == "1"
    assert spec.workload_options == {"key_count": 3} and spec.client["isolation"] == "read_committed"
    spec.override(time_limit=10.0, client_acks="all", cluster_nodes=None)
    assert spec.time_limit == 10.0 and spec.client["acks"] == "all" and spec.cluster == {"nodes": 5}
    spec.validate()


def test_spec_round_trips_through_test_json():
    spec = TestSpec(seed=3, faults=["partition"], workload_options={"txn": True}, client={"library": "confluent", "transactions": True})
    spec.validate()
    d = json.loads(json.dumps(spec.to_dict()))
    d.update({"versions": {}, "started": "now", "bootstrap_servers": "a:1"})  # what the runner adds
    again = TestSpec.from_dict(d)
    assert again.to_dict() == spec.to_dict()
    assert again.cluster_spec() == spec.cluster_spec()


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"time_limit": -1}, "time_limit"),
        ({"concurrency": 0}, "concurrency"),
        ({"client_acks": "2"}, "acks"),
        ({"client_library": "java"}, "library"),
        ({"preset": "nope"}, "preset"),
        ({"workload": "bank"}, "workload"),
        ({"workload_key_count": 0}, "key_count"),
        ({"client_transactions": True, "client_idempotence": False}, "idempotence"),
    ],
)
def test_bad_values_name_the_field(changes, words):
    spec = TestSpec().override(**changes)
    with pytest.raises(SpecError, match=words):
        spec.validate()


def test_unknown_toml_field_is_named(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text("time_limt = 3\n")
    with pytest.raises(SpecError, match="time_limt"):
        TestSpec.from_toml(p)


def test_properties_file(tmp_path):
    p = tmp_path / "c.properties"
    p.write_text("# sasl\nsecurity.protocol=SASL_SSL\nsasl.mechanism: PLAIN\n\n")
    assert read_properties(p) == {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}
    (tmp_path / "bad.properties").write_text("novalue\n")
    with pytest.raises(SpecError, match="bad.properties:1"):
        read_properties(tmp_path / "bad.properties")


def test_seed_is_fixed_once():
    spec = TestSpec()
    s = spec.resolve_seed()
    assert spec.resolve_seed() == s and spec.to_dict()["seed"] == s


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--acks", "7", "--bootstrap", "127.0.0.1:1"], "acks"),
        (["--time-limit", "0", "--bootstrap", "127.0.0.1:1"], "time_limit"),
        (["--client-properties", "/nonexistent/c.properties", "--bootstrap", "127.0.0.1:1"], "does not exist"),
    ],
)
def test_prozess_run_bad_input_exits_2_with_one_clear_line(argv, words, tmp_path):
    from prozess.cli import app

    r = CliRunner().invoke(app, ["run", "--results-dir", str(tmp_path), *argv])
    assert r.exit_code == 2, r.output
    assert words in r.output
    assert not any(tmp_path.iterdir())  # nothing was started or stored


def test_bootstrap_with_faults_is_refused_before_anything_starts():
    spec = TestSpec(bootstrap="127.0.0.1:9092", faults=["kill"])
    with pytest.raises(SpecError, match="--cluster NAME"):
        spec.validate()
    with pytest.raises(SpecError, match="not both"):
        TestSpec(bootstrap="127.0.0.1:9092", attach="pz-1").validate()
