"""A report of a history whose op indices have gaps, in real headless Chromium: rows, links and
the hash show the ops' own indices, and clicking an example's link highlights the cited op."""

from pathlib import Path

import pytest

from prozess.history import History, Op, write_jsonl
from prozess.report import write_report

from tests.browser.test_report_browser import Page, browser  # noqa: F401  (the module's chromium fixture)

pytestmark = pytest.mark.browser


def _gapped(tmp_path: Path) -> Path:
    rows = [(0, "invoke", "send", [["send", "x", 1]]), (0, "ok", "send", [["send", "x", [0, 1]]]),
            (0, "invoke", "send", [["send", "x", 2]]), (0, "ok", "send", [["send", "x", [1, 2]]]),
            (1, "invoke", "poll", [["poll"]]), (1, "ok", "poll", [["poll", {"x": [[1, 2]]}]])]
    ops = [Op(100 + 10 * n, n * 1_000_000, t, p, f, v) for n, (p, t, f, v) in enumerate(rows)]
    path = tmp_path / "history.jsonl"
    write_jsonl(History(ops), path)
    return write_report(path)


def test_gapped_indices_in_the_browser(browser, tmp_path):  # noqa: F811
    report = _gapped(tmp_path)
    p = Page(browser)
    try:
        page = p.open(report.as_uri())
        # the lost write cites the send (index 110, position 1) and the poll (index 150, position 5)
        link = page.locator("a.op-link", has_text="#110").first
        assert link.get_attribute("href") == "#op-1"
        link.click()
        row = page.locator("#op-1")
        assert "hl" in (row.get_attribute("class") or "")
        assert row.locator("td").first.inner_text().strip() == "110"
        assert page.locator("#op-5 td").first.inner_text().strip() == "150"
        assert p.errors == []
    finally:
        p.close()
