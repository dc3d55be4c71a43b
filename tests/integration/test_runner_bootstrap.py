"""`prozess run --bootstrap` against a Kafka that prozess did not start (a real single-node broker on 127.0.0.1).

Client settings come from a .properties file and pass through to every client.
Both client libraries; short runs (8 s) that must come out valid, exit 0.
"""

from __future__ import annotations

import json

import pytest
from local_kafka import local_kafka  # noqa: F401  (fixture)
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_run_against_an_existing_cluster_is_valid(local_kafka, client, tmp_path):
    from prozess.cli import app

    props = tmp_path / "client.properties"
    props.write_text("# passed through to producer, consumer and admin\nclient.id=from-properties\n" if client == "confluent" else "# nothing needed\n")
    argv = ["run", "--bootstrap", local_kafka.bootstrap, "--client-properties", str(props), "--client", client,
            "--replication-factor", "1", "--min-insync-replicas", "1", "--time-limit", "8", "--rate", "300",
            "--concurrency", "5", "--seed", "9", "--results-dir", str(tmp_path / "results"), "--name", f"existing-{client}",
            "--no-progress", "--json"]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output[-3000:]
    run_dir = next((tmp_path / "results" / f"existing-{client}").iterdir())
    res = json.loads((run_dir / "results.json").read_text())
    assert res["valid"] is True and res["run"]["ops"] > 1000
    test = json.loads((run_dir / "test.json").read_text())
    assert test["bootstrap"] == local_kafka.bootstrap and test["client"]["properties_file"] == str(props)
    # The final phase's ops, and only those, carry "final": true (what truncated-tail needs offline).
    from prozess.history import read_history

    ops = read_history(run_dir / "history.jsonl").ops
    final = [o for o in ops if o.extra and o.extra.get("final") is True]
    assert any(o.f == "assign" and o.type == "ok" for o in final) and any(o.f == "poll" and o.type == "ok" for o in final)
    first = ops.index(final[0])
    assert all(o.extra is None or o.process == "nemesis" for o in ops[:first])


def test_unreachable_bootstrap_is_unknown_not_valid(tmp_path):
    """Nothing listens there: every op fails to happen, and the verdict must not be `valid`."""
    from local_kafka import free_port

    from prozess.cli import app

    argv = ["run", "--bootstrap", f"127.0.0.1:{free_port()}", "--replication-factor", "1", "--time-limit", "3",
            "--concurrency", "2", "--results-dir", str(tmp_path), "--name", "nowhere", "--no-progress"]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code in (1, 3), r.output[-2000:]


def test_transactional_run_is_valid(local_kafka, tmp_path):
    """--transactions: sends and mixed txns commit through the transactional producer; the history checks valid."""
    from prozess.cli import app

    argv = ["run", "--bootstrap", local_kafka.bootstrap, "--transactions", "--replication-factor", "1",
            "--min-insync-replicas", "1", "--time-limit", "6", "--rate", "200", "--concurrency", "4", "--seed", "4",
            "--results-dir", str(tmp_path), "--name", "txn", "--no-progress"]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output[-3000:]
    run_dir = next((tmp_path / "txn").iterdir())
    ops = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    txns = [o for o in ops if o["f"] == "txn" and o["type"] == "ok"]
    fails = [o for o in ops if o["type"] == "fail"]
    assert len(txns) > 50 and len(fails) <= len(ops) // 20, fails[:3]  # a fail is allowed (certainly not done), but rare
