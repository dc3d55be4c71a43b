"""A run that cannot work says so at once: conflicting client settings are refused before any cluster
starts (exit 2 naming the fix), and a main phase whose every op fails to get a client stops early."""

from __future__ import annotations

from typer.testing import CliRunner

from prozess.cli import app
from prozess.conflicts import client_conflicts
from prozess.interpreter import EarlyStop as _EarlyStop


def test_acks_0_with_idempotence_is_a_conflict_naming_the_fix():
    (msg,) = client_conflicts({"acks": "0", "idempotence": True})
    assert "acks=0" in msg and "idempotence" in msg and "add --no-idempotence" in msg
    assert client_conflicts({"acks": "0", "idempotence": False}) == []
    assert client_conflicts({"acks": "all", "idempotence": True}) == []
    assert client_conflicts({"acks": "1", "idempotence": False, "retries": 0}) == []
    assert "retries=0" in client_conflicts({"acks": "all", "idempotence": True, "retries": 0})[0]
    # client properties count too, in either spelling
    assert client_conflicts({"acks": "all", "idempotence": False}, {"enable.idempotence": "true", "acks": "1"})
    assert client_conflicts({"acks": "0", "idempotence": True}, {"enable_idempotence": "false"}) == []


def test_prozess_run_exits_2_at_once(tmp_path):
    r = CliRunner().invoke(app, ["run", "--workload", "queue", "--acks", "0", "--faults", "kill", "--time-limit", "60",
                                 "--results-dir", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert "acks=0 conflicts with idempotence" in r.output and "--no-idempotence" in r.output
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_early_stop_when_every_op_fails_to_get_a_client_the_same_way():
    e = _EarlyStop(concurrency=4, after_s=5)
    err = "no client: Failed to create producer: acks must be set to all when enable.idempotence is true"
    assert not any(e.see(t * 0.5, "fail", err) for t in range(9))  # before 5 s: no decision
    assert e.see(5.1, "fail", err) and "every op of the first 5 s failed the same way" in e.error and "acks must be set" in e.error
    assert not e.see(6, "fail", err)  # decided once


def test_no_early_stop_after_one_ok_op_or_different_errors():
    e = _EarlyStop(concurrency=2, after_s=1)
    e.see(0.1, "ok", None)
    assert not e.see(2, "fail", "no client: x") and e.error is None
    e = _EarlyStop(concurrency=2, after_s=1)
    e.see(0.1, "fail", "no client: x")
    e.see(0.2, "fail", "no client: y")
    assert not e.see(2, "fail", "no client: x") and e.error is None


def test_early_stop_also_when_no_topic_can_be_created():
    e = _EarlyStop(concurrency=2, after_s=1)
    err = "topic setup: creating topic a@b-0: Broker: Invalid topic"
    e.see(0.5, "fail", err)
    e.see(0.6, "fail", err)
    assert e.see(1.5, "fail", err) and "Invalid topic" in e.error
