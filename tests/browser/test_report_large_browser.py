"""The large-history report in real headless Chromium: the table pages through side files, the timeline
draws buckets and, zoomed in, single ops loaded from the side files; nothing is requested outside the run.

The threshold and the side-file size are lowered so a few thousand ops make a large report
with several side files (the real ones are 200,000 and 50,000; benchmarks/report_scale.py
measures those).
"""

import pytest

from prozess.report import large, write_report
from prozess.report.demo import make_demo_run
from tests.browser.test_report_browser import Page, browser, canvas_ink  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(large, "CHUNK", 1000)
    try:
        run = make_demo_run(tmp_path_factory.mktemp("results") / "queue-big" / "20260104T000000Z", n_ops=6000, lost=5, seed=4,
                            name="queue-big")
        write_report(run, large_ops=2000)
    finally:
        mp.undo()
    return run


def test_large_report_pages_from_side_files_and_stays_in_its_directory(browser, big_run, tmp_path):  # noqa: F811
    sides = sorted(p.name for p in (big_run / "history-pages").iterdir())
    assert len(sides) >= 5 and sides[0] == "0000.js"
    html = (big_run / "report.html").read_text()
    assert 'id="history-data"' not in html and 'id="large-data"' in html
    n = sum(1 for _ in open(big_run / "history.jsonl"))
    p = Page(browser)
    try:
        page = p.open((big_run / "report.html").as_uri())
        assert page.inner_text("#verdict-label") == "INVALID"
        assert f"{n} ops" in page.inner_text("#large-history-note")
        assert page.locator("#history-rows tr").count() == 100
        assert "side file history-pages/0000.js" in page.inner_text("#pg-where")
        assert page.query_selector("#history-rows tr td").inner_text() == "0"
        # the last page comes from the last side file
        page.click("#pg-last")
        last = f"history-pages/{len(sides) - 1:04d}.js"
        page.wait_for_function(f"document.getElementById('pg-where').textContent.includes('{last}')")
        where = page.inner_text("#pg-where")
        assert f"of {n}" in where and f"page {-(-n // 100)} of {-(-n // 100)}" in where
        assert page.query_selector("#history-rows tr:last-child td").inner_text() == str(n - 1)
        # an op cited by an anomaly: its link loads its side file and highlights its row
        page.evaluate("document.querySelectorAll('details.more-examples').forEach(d => d.open = true)")
        cited = sorted({int(a.get_attribute("data-op")) for a in page.query_selector_all("section.anomaly a.op-link")})
        assert cited
        for i in cited[:3] + cited[-2:]:
            page.click(f"section.anomaly .oplinks a[data-op='{i}'] >> nth=0")
            row = page.wait_for_selector(f"#history-rows tr#op-{i}.hl", timeout=10_000)
            assert row.query_selector("td").inner_text() == str(i)
            assert "cited" in row.get_attribute("class")
        # a pair whose completion lies in the next side file links across it
        page.fill("#pg-op", "999")
        page.dispatch_event("#pg-op", "change")
        page.wait_for_selector("#history-rows tr#op-999.hl")
        # the whole run is drawn as buckets; a narrow window is drawn op by op from side files
        canvas = page.locator("#timeline-canvas")
        assert canvas.get_attribute("data-mode") == "buckets"
        assert int(canvas.get_attribute("data-drawn")) > n // 3
        assert canvas_ink(page) > 5000
        page.evaluate("window.prozessReport.setView(2e6, 3e6)")
        page.wait_for_function("document.getElementById('timeline-canvas').dataset.mode === 'detail'")
        drawn = int(canvas.get_attribute("data-drawn"))
        assert 0 < drawn < n // 2
        page.evaluate("window.prozessReport.setView(0, 1e12)")
        page.wait_for_function("document.getElementById('timeline-canvas').dataset.mode === 'buckets'")
        for img in page.query_selector_all("figure.plot img"):
            assert img.evaluate("i => i.complete && i.naturalWidth > 100")
        page.screenshot(path=str(tmp_path / "large-report.png"), full_page=True)
        assert p.errors == []
        base = big_run.as_uri() + "/"
        outside = [u for u in p.requests if not (u.startswith("data:") or u.startswith(base))]
        assert outside == [], f"the page requested outside its directory: {outside[:5]}"
        loaded = {u[len(base):] for u in p.requests if u.startswith(base + "history-pages/")}
        assert {"history-pages/0000.js", last} <= loaded and len(loaded) >= 3
    finally:
        p.close()


def test_missing_side_file_is_said_not_hidden(browser, big_run, tmp_path):  # noqa: F811
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(big_run, copy)
    (copy / "history-pages" / "0002.js").unlink()
    p = Page(browser)
    try:
        page = p.open((copy / "report.html").as_uri())
        page.fill("#pg-op", "2500")
        page.dispatch_event("#pg-op", "change")
        page.wait_for_function("document.getElementById('history-rows').textContent.includes('could not be loaded')")
        assert "history-pages/0002.js" in page.inner_text("#history-rows")
    finally:
        p.close()


def test_large_report_through_serve_loads_its_side_files(browser, big_run):  # noqa: F811
    import threading

    from prozess.report.server import make_server

    root = big_run.parent.parent
    server = make_server(root, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = Page(browser)
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}/"
        page = p.open(base + big_run.relative_to(root).as_posix() + "/report.html")
        page.click("#pg-last")
        page.wait_for_function("window.prozessReport.loaded().length > 1")
        assert page.locator("#history-rows tr").count() > 0
        assert p.errors == []
        assert [u for u in p.requests if not u.startswith(base)] == []
        assert any("/history-pages/0000.js" in u for u in p.requests)
    finally:
        p.close()
        server.shutdown()
        server.server_close()
