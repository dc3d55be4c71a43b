"""The run index and the loopback server (a real HTTP server on a free loopback port)."""

import json
import threading
import urllib.request

import pytest

from prozess.report import build_index, list_runs
from prozess.report.demo import make_demo_run
from prozess.report.server import check_loopback, make_server
from prozess.report.setup_steps import steps


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    make_demo_run(root / "queue-safe" / "20260102T000000Z", lost=0, seed=1, name="queue-safe")
    make_demo_run(root / "queue-unsafe" / "20260103T000000Z", lost=2, seed=2, name="queue-unsafe")
    old = make_demo_run(root / "queue-safe" / "20260101T000000Z", lost=0, seed=3, name="queue-safe")
    (old / "results.json").write_text(json.dumps({"valid": "unknown", "error": "boom"}))
    (root / "latest").symlink_to(root / "queue-unsafe" / "20260103T000000Z")
    return root


def test_runs_newest_first_with_verdicts_counts_and_durations(results):
    runs = list_runs(results)
    assert [r["run"] for r in runs] == ["queue-unsafe/20260103T000000Z", "queue-safe/20260102T000000Z", "queue-safe/20260101T000000Z"]
    assert [r["verdict"] for r in runs] == ["invalid", "valid", "unknown"]
    assert runs[0]["anomalies"] == {"lost-write": 2}
    assert all(r["duration_s"] and r["duration_s"] > 1 for r in runs)


def test_index_html_links_each_report_and_filters_by_verdict(results):
    html = build_index(results)
    for r in list_runs(results):
        assert r["href"] == f"./{r['run']}/report.html"  # plain names need no escaping
        assert f'href="{r["href"]}"' in html
    assert 'data-verdict="invalid"' in html and "lost-write: 2" in html


def test_missing_results_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="results directory"):
        list_runs(tmp_path / "nope")


def test_serve_builds_reports_on_first_view(results):
    server = make_server(results, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}/"
        index = urllib.request.urlopen(base, timeout=10).read().decode()
        assert "queue-unsafe" in index
        run = results / "queue-safe" / "20260102T000000Z"
        assert not (run / "report.html").exists()
        page = urllib.request.urlopen(base + "queue-safe/20260102T000000Z/report.html", timeout=60).read().decode()
        assert 'id="verdict-label">VALID<' in page and (run / "report.html").exists()
        log = urllib.request.urlopen(base + "queue-safe/20260102T000000Z/nodes/n1/server.log", timeout=10).read()
        assert b"Kafka server started" in log
    finally:
        server.shutdown()
        server.server_close()


def test_serve_refuses_anything_but_loopback(tmp_path):
    check_loopback("127.0.0.1")
    check_loopback("::1")
    check_loopback("localhost")
    for host in ("0.0.0.0", "192.168.1.5", "example.org"):
        with pytest.raises(ValueError, match="loopback"):
            make_server(tmp_path, port=0, host=host)


def test_setup_step_for_the_browser_is_optional():
    (step,) = steps()
    assert step.optional and "chromium" in step.name
