"""`prozess serve` against hostile run stores and hostile requests, on the real server over loopback.

Each test starts the real ThreadingHTTPServer on 127.0.0.1 (port 0) and speaks
HTTP to it with http.client, so the Host header and the raw path can be chosen.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path

import pytest

from prozess.report.server import make_server

OPS = [
    {"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", 1]]},
    {"index": 1, "time": 1_000_000, "type": "ok", "process": 0, "f": "send", "value": [["send", "x", [0, 1]]]},
]


def _run(path: Path, ops=OPS, results: object | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "history.jsonl").write_text("".join(json.dumps(o) + "\n" for o in ops))
    (path / "test.json").write_text(json.dumps({"name": path.parent.name, "workload": "queue"}))
    if results is not None:
        (path / "results.json").write_text(results if isinstance(results, str) else json.dumps(results))
    return path


@pytest.fixture
def serve(tmp_path):
    """Starts the real server on a free loopback port; yields (results dir, get(path, host=...))."""
    servers = []

    def start(root: Path, **kw):
        server = make_server(root, port=0, **kw)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]

        def get(path: str, host: str | None = f"127.0.0.1:{port}", timeout: float = 120) -> tuple[int, str]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            if host is not None:
                conn.putheader("Host", host)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            conn.close()
            return resp.status, body

        get.port = port  # type: ignore[attr-defined]
        return get

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_symlinks_out_of_the_results_dir_are_not_followed(tmp_path, serve):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0 secret\n")
    root = tmp_path / "results"
    run = _run(root / "t" / "20260101T000000Z")
    (run / "nodes" / "n1").mkdir(parents=True)
    (run / "nodes" / "n1" / "server.log").write_text("broker log line\n")
    (run / "nodes" / "n1" / "leak").symlink_to(outside / "passwd")
    (root / "evil").symlink_to(outside)
    get = serve(root)

    assert get("/evil/passwd")[0] == 404
    status, body = get("/evil/")
    assert status == 404 and "passwd" not in body
    status, body = get("/t/20260101T000000Z/nodes/n1/leak")
    assert status == 404 and "secret" not in body
    # what is inside is still served: regular files and listings
    status, body = get("/t/20260101T000000Z/nodes/n1/server.log")
    assert status == 200 and body == "broker log line\n"
    status, body = get("/t/20260101T000000Z/nodes/n1/")
    assert status == 200 and "server.log" in body
    # and `..` never climbs out
    assert "secret" not in get("/../outside/passwd")[1]
    assert "secret" not in get("/t/%2e%2e/%2e%2e/outside/passwd")[1]


def test_a_run_named_like_a_url_scheme_links_as_a_relative_path(tmp_path, serve):
    root = tmp_path / "results"
    _run(root / "javascript:alert(document.domain)")
    _run(root / "t" / "javascript:alert(1)")
    get = serve(root)
    status, html = get("/")
    assert status == 200
    assert 'href="javascript:' not in html
    assert 'href="./javascript%3Aalert%28document.domain%29/report.html"' in html
    assert 'href="./t/javascript%3Aalert%281%29/report.html"' in html
    # the directory listing of the test folder escapes its links as well
    status, listing = get("/t/")
    assert status == 200 and 'href="javascript:' not in listing and "javascript%3Aalert" in listing
    # and the escaped link leads to the run's report
    status, report = get("/t/javascript%3Aalert%281%29/report.html")
    assert status == 200 and "<html" in report


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "127.0.0.1:1", "localhost", None, ""])
def test_requests_for_another_host_are_refused(tmp_path, serve, host):
    root = tmp_path / "results"
    _run(root / "t" / "20260101T000000Z")
    get = serve(root)
    status, body = get("/", host=None if host is None else host.format(port=get.port))
    assert status == 421 and "<html" not in body
    assert get("/t/20260101T000000Z/history.jsonl", host="attacker.example")[0] == 421


def test_requests_for_this_server_on_loopback_are_answered(tmp_path, serve):
    root = tmp_path / "results"
    _run(root / "t" / "20260101T000000Z")
    get = serve(root)
    for host in (f"127.0.0.1:{get.port}", f"localhost:{get.port}", f"LOCALHOST:{get.port}"):
        assert get("/", host=host)[0] == 200


def test_a_huge_time_span_builds_a_small_report_quickly(tmp_path, serve):
    """Times 0 and 9e18: the plots bound their bucket count, so the build is quick and small."""
    root = tmp_path / "results"
    ops = [dict(OPS[0]), dict(OPS[1], time=9_000_000_000_000_000_000)]
    run = _run(root / "t" / "20260101T000000Z", ops)
    # 1 GiB of address space is far below what one bucket per 600 s of 9e18 ns would need (GBs)
    get = serve(root, report_memory=2 * 2**30, report_timeout=60)
    t0 = time.monotonic()
    status, body = get("/t/20260101T000000Z/report.html")
    assert status == 200, body
    assert time.monotonic() - t0 < 60
    assert (run / "report.html").stat().st_size < 5_000_000


def test_report_building_stops_at_its_time_limit(tmp_path, serve):
    root = tmp_path / "results"
    run = _run(root / "t" / "20260101T000000Z")
    get = serve(root, report_timeout=0.05)
    t0 = time.monotonic()
    status, body = get("/t/20260101T000000Z/report.html")
    assert status == 503 and "longer than 0.05 s" in body
    assert time.monotonic() - t0 < 30
    assert not (run / "report.html").exists()


def test_report_building_stops_at_its_memory_limit(tmp_path, serve):
    root = tmp_path / "results"
    run = _run(root / "t" / "20260101T000000Z")
    get = serve(root, report_memory=64 * 2**20)  # too little to even import numpy
    status, body = get("/t/20260101T000000Z/report.html")
    assert status in (500, 503) and "could not build the report" in body
    assert not (run / "report.html").exists()


def test_a_malformed_results_json_shows_the_run_as_unreadable(tmp_path, serve):
    root = tmp_path / "results"
    _run(root / "t" / "20260101T000000Z", results="garbage{")
    _run(root / "t" / "20260102T000000Z", results=[1, 2])
    _run(root / "t" / "20260103T000000Z", results={"valid": True, "checkers": {"q": {"anomalies": [1]}}})
    _run(root / "t" / "20260104T000000Z", results={"valid": True, "anomaly-types": [], "checkers": {}})
    get = serve(root)
    status, html = get("/")
    assert status == 200
    assert html.count(">UNREADABLE<") == 3 and html.count(">VALID<") == 1


def test_prozess_runs_lists_a_run_with_a_malformed_results_json(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "results"
    _run(root / "t" / "20260101T000000Z", results="garbage{")
    _run(root / "t" / "20260102T000000Z", results={"valid": True, "checkers": [1]})
    _run(root / "t" / "20260103T000000Z", results={"valid": False, "anomaly-types": [], "checkers": {}})
    (root / "t" / "20260104T000000Z").mkdir()
    (root / "t" / "20260104T000000Z" / "test.json").write_text("[1]")
    p = subprocess.run([sys.executable, "-m", "prozess", "runs", "--results-dir", str(root)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 4
    assert sum("unreadable" in line for line in lines) == 3 and any("INVALID" in line for line in lines)
    p = subprocess.run([sys.executable, "-m", "prozess", "runs", "--json", "--results-dir", str(root)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and len(json.loads(p.stdout)) == 4


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_results_json_shows_the_run_as_unreadable(tmp_path, serve):
    root = tmp_path / "results"
    run = _run(root / "t" / "20260101T000000Z", results={"valid": True})
    (run / "results.json").chmod(0)
    status, html = serve(root)("/")
    assert status == 200 and ">UNREADABLE<" in html


def test_serve_with_a_missing_dir_or_a_taken_port_is_a_clear_error(tmp_path, serve):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "prozess", "serve", "--results-dir", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "no such results directory" in p.stderr
    root = tmp_path / "results"
    root.mkdir()
    get = serve(root)
    p = subprocess.run([sys.executable, "-m", "prozess", "serve", "--results-dir", str(root), "--port", str(get.port)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "cannot serve" in p.stderr
