"""report.html from run directories and bare histories (no browser: see tests/browser for that)."""

import json
import re
import shutil

import pytest

from prozess.report import ReportSourceError, write_report
from prozess.report.demo import make_demo_run


@pytest.fixture(scope="module")
def invalid_run(tmp_path_factory):
    run = make_demo_run(tmp_path_factory.mktemp("runs") / "demo" / "20260101T000000Z", lost=2, seed=1)
    return run, write_report(run)


def test_invalid_report_has_verdict_anomaly_and_links_to_ops(invalid_run):
    run, path = invalid_run
    assert path == run / "report.html"
    html = path.read_text()
    assert re.search(r'id="verdict-label">INVALID<', html)
    assert 'id="anomaly-lost-write"' in html
    results = json.loads((run / "results.json").read_text())
    for ex in results["checkers"]["queue"]["anomalies"]["lost-write"]["examples"]:
        assert ex["explanation"].replace("'", "&#39;") in html
        for i in ex["ops"]:
            assert f'href="#op-{i}" data-op="{i}"' in html
    # the lost write's row says which fault was in force when it was acknowledged
    assert "partition (" in html


def test_header_has_spec_and_exact_commands(invalid_run):
    run, path = invalid_run
    html = path.read_text()
    for fact in ("seed", "Kafka", "cluster", "client", "faults", "duration", "ops"):
        assert f'data-fact="{fact}"' in html
    assert "4.1.0" in html and "min ISR 2" in html
    assert f"prozess check {run}" in html and f"prozess replay {run}" in html


def test_plots_are_written_and_embedded(invalid_run):
    run, path = invalid_run
    for name in ("latency", "throughput"):
        svg = (run / "plots" / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert path.read_text().count('src="data:image/svg+xml;base64,') == 2


def test_report_needs_no_network(invalid_run):
    html = invalid_run[1].read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "@import" not in html


def test_node_logs_are_linked_relative_to_the_report(invalid_run):
    html = invalid_run[1].read_text()
    assert 'href="nodes/n1/server.log"' in html


def test_valid_run_and_out_dir(tmp_path):
    run = make_demo_run(tmp_path / "run", lost=0, seed=3)
    out = tmp_path / "elsewhere"
    path = write_report(run, out)
    assert path == out / "report.html" and (out / "plots" / "latency.svg").exists()
    html = path.read_text()
    assert 'id="verdict-label">VALID<' in html and 'class="anomaly' not in html
    assert 'href="../run/nodes/n1/server.log"' in html


def test_bare_history_is_checked_and_reported_beside_it(tmp_path):
    run = make_demo_run(tmp_path / "run", lost=0, seed=4)
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(run / "history.jsonl", lone / "h.jsonl")
    path = write_report(lone / "h.jsonl")
    assert path == lone / "report.html"
    html = path.read_text()
    assert re.search(r'id="verdict-label">(VALID|INVALID|UNKNOWN)<', html)
    assert "Checked while building this report" in html
    assert "prozess replay" not in html  # a bare history has no spec to replay


def test_run_with_only_a_history_says_what_is_missing(tmp_path):
    run = make_demo_run(tmp_path / "t" / "20260101T000000Z", seed=5)
    for name in ("test.json", "results.json", "nemesis.jsonl"):
        (run / name).unlink()
    shutil.rmtree(run / "nodes")
    html = write_report(run).read_text()
    assert "test.json is missing" in html and "results.json is missing" in html
    assert "No node logs were collected" in html


def test_unknown_verdict_shows_the_error(tmp_path):
    run = make_demo_run(tmp_path / "run", seed=6)
    (run / "results.json").write_text(json.dumps({"valid": "unknown", "anomaly-types": [], "error": "txn checker timed out", "checkers": {}}))
    html = write_report(run).read_text()
    assert 'id="verdict-label">UNKNOWN<' in html and "txn checker timed out" in html


def test_long_keys_and_hostile_text_are_escaped(tmp_path):
    key = "k" * 300 + "</script><b>"
    run = make_demo_run(tmp_path / "run", keys=[key, "y"], lost=1, seed=2)
    html = write_report(run).read_text()
    assert "</script><b>" not in html
    assert html.count("</script>") == 3  # the two JSON blocks and the script


def test_bad_sources_get_one_clear_error(tmp_path):
    with pytest.raises(ReportSourceError, match="no such file"):
        write_report(tmp_path / "nope")
    with pytest.raises(ReportSourceError, match="no history.jsonl"):
        write_report(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0}\n{"index": 1}\n')
    with pytest.raises(ReportSourceError, match="cannot read the history"):
        write_report(bad)


def test_jepsen_edn_history(tmp_path):
    edn = tmp_path / "history.edn"
    edn.write_text(
        "{:index 0 :time 0 :type :invoke :process 0 :f :send :value [[:send :x 1]]}\n"
        "{:index 1 :time 1000000 :type :ok :process 0 :f :send :value [[:send :x [0 1]]]}\n"
        "{:index 2 :time 2000000 :type :info :process :nemesis :f :start-partition :value nil}\n"
        "{:index 3 :time 2500000 :type :info :process :nemesis :f :start-partition :value :majority}\n"
        "{:index 4 :time 3000000 :type :invoke :process 1 :f :poll :value [[:poll]]}\n"
        "{:index 5 :time 4000000 :type :ok :process 1 :f :poll :value [[:poll {:x [[0 1]]}]]}\n"
    )
    path = write_report(edn, tmp_path / "out")
    html = path.read_text()
    assert re.search(r'id="verdict-label">(VALID|INVALID|UNKNOWN)<', html)
    assert "never healed" in html  # the partition was never stopped


def test_run_that_recorded_no_ops_still_gets_a_report(tmp_path):
    run = tmp_path / "t" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "test.json").write_text(json.dumps({"name": "t", "seed": 1}))
    (run / "results.json").write_text(json.dumps({"valid": "unknown", "error": "no ops recorded",
                                                  "run": {"interrupted": False, "error": "ClusterError: not healthy"}}))
    html = write_report(run).read_text()
    assert 'id="verdict-label">UNKNOWN<' in html
    assert "ClusterError: not healthy" in html and "history.jsonl is missing" in html


def test_informational_anomalies_are_shown_but_do_not_invalidate(tmp_path):
    run = make_demo_run(tmp_path / "run", seed=7)
    results = json.loads((run / "results.json").read_text())
    results["checkers"]["txn"] = {"valid": True, "anomaly-types": [], "anomalies": {}, "informational-types": ["G-single-process"],
                                  "informational": {"G-single-process": {"count": 2, "definition": "A G-single cycle that also needs process order.",
                                                                         "examples": [{"explanation": "Let T1 = op 3 ...", "ops": [3, 5]}]}}}
    (run / "results.json").write_text(json.dumps(results))
    html = write_report(run).read_text()
    assert 'id="verdict-label">VALID<' in html
    assert 'class="anomaly informational" id="anomaly-G-single-process"' in html
    assert "allowed by this test" in html and 'data-op="5"' in html
    assert 'id="informational-only">No anomaly makes this run invalid; the 1 type below is reported' in html


def test_the_informational_only_line_is_absent_when_an_anomaly_invalidates(tmp_path):
    run = make_demo_run(tmp_path / "run", seed=7)
    results = json.loads((run / "results.json").read_text())
    results["valid"] = False
    results["anomaly-types"] = ["lost-write"]
    results["checkers"]["queue"] = {"valid": False, "anomaly-types": ["lost-write"],
                                    "anomalies": {"lost-write": {"count": 1, "examples": [{"explanation": "lost", "ops": [3]}]}}}
    (run / "results.json").write_text(json.dumps(results))
    html = write_report(run).read_text()
    assert 'id="anomaly-lost-write"' in html and 'id="informational-only"' not in html


def test_header_shows_the_topics_replication_settings_over_the_clusters(tmp_path):
    """A run on a cluster started safe whose topics were made unsafe says so (test.json `topics`)."""
    run = make_demo_run(tmp_path / "demo" / "20260101T000000Z", lost=0, seed=1)
    test = json.loads((run / "test.json").read_text())
    test["topics"] = {**(test.get("topics") or {}), "replication_factor": 3, "min_insync_replicas": 1, "unclean_leader_election": True}
    (run / "test.json").write_text(json.dumps(test))
    html = write_report(run).read_text()
    assert "min ISR 1" in html and "unclean leader election ON" in html and "min ISR 2" not in html


def test_header_names_the_system_and_shows_no_spec_internals(tmp_path):
    """The cluster line holds no `system=`/`tansu_version=` leftovers; a Tansu run names Tansu, not a Kafka version."""
    run = make_demo_run(tmp_path / "demo" / "20260101T000000Z", lost=0, seed=1)
    test = json.loads((run / "test.json").read_text())
    test["cluster"] = {**test["cluster"], "system": "kafka", "tansu_version": "0.6.0"}
    (run / "test.json").write_text(json.dumps(test))
    html = write_report(run).read_text()
    assert "system=" not in html and "tansu_version=" not in html and "Tansu" not in html
    test["cluster"]["system"] = "tansu"
    (run / "test.json").write_text(json.dumps(test))
    html = write_report(run).read_text()
    assert 'data-fact="Kafka">Tansu 0.6.0 (Kafka API)<' in html
