"""The pytest plugin, driven through pytester: option precedence, markers, failure messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from prozess.pytest_plugin import Campaign, format_failure

pytest_plugins = ["pytester"]

SPEC_PROBE = """
import json, pytest

@pytest.mark.prozess(workload="queue", faults=["partition"], preset="safe", time_limit=12, client={"acks": "1"})
@pytest.mark.parametrize("faults", [["kill"], ["partition", "kill"]])
def test_probe(prozess_spec, faults):
    print("SPEC", json.dumps({"faults": prozess_spec.faults, "time_limit": prozess_spec.time_limit,
                              "acks": prozess_spec.client["acks"], "seed": prozess_spec.seed,
                              "backend": prozess_spec.backend, "nodes": prozess_spec.cluster.get("nodes"),
                              "results_dir": prozess_spec.results_dir}))
"""


def _specs(result):
    import json

    return [json.loads(line.split("SPEC ", 1)[1]) for line in result.outlines if "SPEC " in line]


def test_marker_gives_campaign_defaults(pytester: pytest.Pytester):
    pytester.makepyfile(SPEC_PROBE)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    specs = _specs(result)
    assert {s["time_limit"] for s in specs} == {12}
    assert {s["acks"] for s in specs} == {"1"}
    assert specs[0]["faults"] == ["partition"]  # the marker; the parametrized arg is the test's own
    assert len({s["seed"] for s in specs}) == 2  # seeds derive from the test id


def test_command_line_beats_ini_beats_default(pytester: pytest.Pytester):
    pytester.makepyfile(SPEC_PROBE)
    pytester.makeini("[pytest]\nprozess_backend = netns\nprozess_nodes = 5\nprozess_seed = 9\nprozess_results_dir = from-ini\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--prozess-seed", "7", "--prozess-time-limit", "99")
    result.assert_outcomes(passed=2)
    for s in _specs(result):
        assert s["backend"] == "netns" and s["nodes"] == 5 and s["results_dir"] == "from-ini"
        assert s["seed"] == 7  # command line over ini
        assert s["time_limit"] == 99  # command line over the marker


def test_bad_option_value_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(SPEC_PROBE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--prozess-nodes", "many")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--prozess-nodes*'many' is not a valid int*"])


def test_unknown_spec_field_in_marker_is_named(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.prozess(workload="queue", fautls=["kill"])
        def test_typo(prozess_spec):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown field(s) fautls*"])


def test_failure_message_names_anomalies_example_and_report(tmp_path: Path):
    (tmp_path / "report.html").write_text("<html></html>")
    results = {
        "valid": False,
        "checkers": {
            "queue": {
                "valid": False,
                "anomaly-types": ["lost-write"],
                "anomalies": {"lost-write": {"count": 3, "examples": [{"explanation": "x=4 was acknowledged at offset 7 but never read", "ops": [12, 15]}]}},
            },
            "stats": {"valid": True},
        },
    }
    message = format_failure(Campaign(False, results, tmp_path, {"name": "acks0"}))
    assert "acks0 is invalid" in message
    assert "lost-write: 3" in message
    assert "x=4 was acknowledged at offset 7 but never read (ops 12, 15)" in message
    assert f"report: {tmp_path / 'report.html'}" in message


def test_unknown_message_gives_the_checkers_reason(tmp_path: Path):
    results = {"valid": "unknown", "checkers": {"txn": {"valid": "unknown", "error": "cycle search timed out"}}}
    message = format_failure(Campaign("unknown", results, None, {"name": "t"}))
    assert "is unknown" in message and "checker txn could not decide: cycle search timed out" in message


def test_campaigns_do_not_share_the_markers_dicts(pytester: pytest.Pytester):
    """Each campaign's spec is its own copy: a topic prefix set for one must not leak into the next."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.prozess(workload="queue", workload_options={"key_count": 4})
        @pytest.mark.parametrize("n", [1, 2])
        def test_probe(prozess_spec, n):
            assert "topic_prefix" not in prozess_spec.workload_options
            prozess_spec.workload_options["topic_prefix"] = f"mine-{n}"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_fault_accounting_in_junit_properties_and_the_unknown_message(tmp_path: Path):
    from prozess.history import Op
    from prozess.nemesis.accounting import account, verdict_notes
    from prozess.pytest_plugin import junit_properties

    ops = [Op(0, 1, "info", "nemesis", "kill", {}), Op(1, 2, "info", "nemesis", "kill", {"error": "NemesisError: no leader is known"}),
           Op(2, 3, "info", "nemesis", "start-partition", {}), Op(3, 4, "info", "nemesis", "start-partition", {"nodes": ["n1"]})]
    results = {"valid": True, "faults": account(ops, faults=["partition+kill"])}
    verdict_notes(results, results["faults"])
    campaign = Campaign(results["valid"], results, None, {"name": "t"})
    props = dict(junit_properties(campaign))
    assert props["prozess.verdict"] == "unknown"
    assert (props["prozess.faults.kill.applied"], props["prozess.faults.kill.failed"]) == (0, 1)
    assert (props["prozess.faults.partition.applied"], props["prozess.faults.partition.failed"]) == (1, 0)
    message = format_failure(campaign)
    assert "fault kill never took effect" in message and "no leader is known" in message
    assert "faults: kill: 1 scheduled, 0 applied, 1 failed" in message


VERSION_PROBE = """
import json

def test_probe(prozess_spec, prozess_kafka):
    print("SPEC", json.dumps({"kafka": prozess_kafka, "cluster": prozess_spec.cluster}))
"""


def test_kafka_version_list_parametrizes_campaigns(pytester: pytest.Pytester):
    pytester.makepyfile(VERSION_PROBE)
    result = pytester.runpytest("-s", "-v", "-p", "no:cacheprovider", "--prozess-kafka-version", "3.9.1:zookeeper, 4.4.0")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_probe?kafka3.9.1-zk?*", "*test_probe?kafka4.4.0?*"])
    clusters = [s["cluster"] for s in _specs(result)]
    assert [(c["kafka_version"], c["metadata"]) for c in clusters] == [("3.9.1", "zookeeper"), ("4.4.0", "kraft")]


def test_without_a_version_list_campaigns_run_once_on_the_default(pytester: pytest.Pytester):
    pytester.makepyfile(VERSION_PROBE)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    spec = _specs(result)[0]
    assert spec["kafka"] is None and "kafka_version" not in spec["cluster"]


@pytest.mark.parametrize("bad", ["4.0.0:zookeeper", "3.6.2", "latest"])
def test_bad_kafka_version_is_a_usage_error(pytester: pytest.Pytester, bad):
    pytester.makepyfile(VERSION_PROBE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--prozess-kafka-version", bad)
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--prozess-kafka-version*"]) if result.errlines else result.stdout.fnmatch_lines(["*--prozess-kafka-version*"])
