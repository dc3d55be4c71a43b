"""End-to-end: reports and the run index in real headless Chromium (Debian's `chromium`, driven by playwright).

Skips with the reason when chromium or playwright is missing (`prozess setup`
installs chromium; playwright comes with the `test` extra).
"""

import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from prozess.report import write_report
from prozess.report.demo import make_demo_run

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (prozess setup, or apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="prozess-chromium-")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=ARGS,
                                                   viewport={"width": 1366, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


class Page:
    """A page that records script errors and every request, so a test can assert both."""

    def __init__(self, ctx, scheme="light"):
        self.page = ctx.new_page()
        self.page.emulate_media(color_scheme=scheme)
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, url):
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        return self.page

    def close(self):
        self.page.close()


def canvas_ink(page, selector="#timeline-canvas"):
    """How many pixels of a canvas are not transparent."""
    return page.evaluate(
        """(sel) => { const c = document.querySelector(sel); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        selector,
    )


def assert_offline(p, base):
    outside = [u for u in p.requests if not (u.startswith("data:") or u.startswith(base))]
    assert outside == [], f"the page fetched from outside: {outside[:5]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    invalid = make_demo_run(root / "queue-unsafe" / "20260103T000000Z", lost=6, seed=2, name="queue-unsafe")
    valid = make_demo_run(root / "queue-safe" / "20260102T000000Z", lost=0, seed=1, name="queue-safe")
    write_report(invalid)
    write_report(valid)
    return root, invalid, valid


def test_invalid_report_from_disk(browser, runs, tmp_path):
    _, run, _ = runs
    p = Page(browser)
    try:
        page = p.open((run / "report.html").as_uri())
        assert page.inner_text("#verdict-label") == "INVALID"
        sections = page.query_selector_all("section.anomaly")
        assert [s.get_attribute("data-anomaly") for s in sections] == ["lost-write"]
        page.evaluate("document.querySelectorAll('details.more-examples').forEach(d => d.open = true)")
        links = page.query_selector_all("section.anomaly a.op-link")
        assert links
        for i in sorted({int(a.get_attribute("data-op")) for a in links}):
            page.click(f"section.anomaly .oplinks a[data-op='{i}'] >> nth=0")
            row = page.wait_for_selector(f"#history-rows tr#op-{i}.hl", timeout=10_000)
            assert row.is_visible() and row.query_selector("td").inner_text() == str(i)
        # timeline and plots drew something
        assert int(page.get_attribute("#timeline-canvas", "data-drawn")) > 100
        assert canvas_ink(page) > 5000
        for img in page.query_selector_all("figure.plot img"):
            assert img.evaluate("i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100")
        assert page.locator("#faults tbody tr").count() == 2
        page.screenshot(path=str(tmp_path / "invalid-report.png"), full_page=True)
        assert p.errors == []
        assert_offline(p, "file://")
    finally:
        p.close()


def test_valid_report_in_dark_scheme_with_filters_and_paging(browser, runs, tmp_path):
    _, _, run = runs
    p = Page(browser, scheme="dark")
    try:
        page = p.open((run / "report.html").as_uri())
        assert page.inner_text("#verdict-label") == "VALID"
        assert page.locator("section.anomaly").count() == 0
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(21, 24, 28)"
        assert page.locator("#history-rows tr").count() == 100
        page.select_option("#flt-type", "ok")
        page.wait_for_function("document.getElementById('match-count').textContent.includes(' of ')")
        types = page.eval_on_selector_all("#history-rows tr td:nth-child(4)", "tds => tds.map(t => t.textContent)")
        assert types and set(types) == {"ok"}
        page.fill("#flt-key", "y")
        page.wait_for_function("document.querySelectorAll('#history-rows tr td:nth-child(6)')[0].textContent.split(' ').includes('y')")
        keys = page.eval_on_selector_all("#history-rows tr td:nth-child(6)", "tds => tds.map(t => t.textContent)")
        assert all("y" in k.split(" ") for k in keys)
        page.click("#flt-clear")
        page.click("#pg-next")
        assert page.input_value("#pg-num") == "2"
        assert page.query_selector("#history-rows tr td").inner_text() == "100"
        # timeline zoom narrows the view
        before = int(page.get_attribute("#timeline-canvas", "data-drawn"))
        page.click("#tl-in")
        page.click("#tl-in")
        page.wait_for_function(f"+document.getElementById('timeline-canvas').dataset.drawn < {before}")
        # clicking a bar on the timeline shows its op in the table; hovering names it
        page.click("#tl-reset")
        page.locator("#timeline-canvas").scroll_into_view_if_needed()
        op = page.evaluate("(() => { for (let i = 0; i < 400; i++) { const p = window.prozessReport.barPoint(i); if (p && i > 50) return i; } })()")
        pt = page.evaluate(f"window.prozessReport.barPoint({op})")
        page.mouse.move(pt["x"], pt["y"])
        page.wait_for_selector("#tooltip", state="visible")
        assert f"#{op}" in page.inner_text("#tooltip")
        page.mouse.click(pt["x"], pt["y"])
        page.wait_for_selector(f"#history-rows tr#op-{op}.hl", timeout=10_000)
        page.screenshot(path=str(tmp_path / "valid-report-dark.png"), full_page=True)
        assert p.errors == []
    finally:
        p.close()


def test_hundred_processes_and_long_keys_do_not_break_the_layout(browser, tmp_path):
    key = "orders-" + "x" * 400
    run = make_demo_run(tmp_path / "run", n_ops=3000, processes=100, keys=[key, "k2"], lost=1, seed=9)
    write_report(run)
    p = Page(browser)
    try:
        page = p.open((run / "report.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
        labels = page.evaluate("window.prozessReport.n")
        assert labels > 2000
        assert canvas_ink(page) > 5000
        page.screenshot(path=str(tmp_path / "hundred-processes.png"), full_page=False)
        assert p.errors == []
    finally:
        p.close()


def test_serve_index_filters_and_links_to_reports(browser, runs, tmp_path):
    from prozess.report.server import make_server

    root, _, _ = runs
    server = make_server(root, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = Page(browser)
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}/"
        page = p.open(base)
        rows = page.locator("#runs tbody tr")
        assert rows.count() == 2
        assert page.inner_text("#runs tbody tr:first-child td:nth-child(2)").startswith("queue-unsafe")
        page.click("#verdict-filter button[data-verdict='valid']")
        visible = page.eval_on_selector_all("#runs tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.dataset.verdict)")
        assert visible == ["valid"]
        page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
        page.click("#runs tbody tr:not([hidden]) a.report-link")
        page.wait_for_selector("body[data-ready='1'] #verdict-label")
        assert page.inner_text("#verdict-label") == "VALID"
        assert int(page.get_attribute("#timeline-canvas", "data-drawn")) > 0
        assert p.errors == []
        assert_offline(p, base)
    finally:
        p.close()
        server.shutdown()
        server.server_close()
