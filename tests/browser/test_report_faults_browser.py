"""The report draws only what happened (real headless Chromium): a kill that failed gets no window,
a distinct marker on the nemesis lane with its reason in plain words, and a row in the Faults table."""

from __future__ import annotations

import json

import pytest

from prozess.history import read_history, write_jsonl
from prozess.nemesis.accounting import account
from prozess.report import write_report
from prozess.report.demo import make_demo_run
from tests.browser.test_report_browser import Page, assert_offline, browser  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser

REASON = "no leader is known for any of prozess-x-0-0 after waiting 10 s"


@pytest.fixture(scope="module")
def failed_kill_run(tmp_path_factory):
    run = make_demo_run(tmp_path_factory.mktemp("results") / "queue-safe" / "20260104T000000Z", lost=0, seed=3, name="queue-safe")
    ops = list(read_history(run / "history.jsonl"))
    kills = [op for op in ops if op.process == "nemesis" and op.f == "kill"]
    assert len(kills) == 2
    done = kills[1]
    ops[done.index] = done._replace(value={"targets": "leader", "error": f"NemesisError: {REASON}"})
    write_jsonl(ops, run / "history.jsonl")
    results = json.loads((run / "results.json").read_text())
    results["faults"] = account(ops, faults=["partition", "kill"])
    (run / "results.json").write_text(json.dumps(results))
    write_report(run)
    return run, kills[0].index


def test_a_failed_kill_has_no_window_a_marker_and_its_reason(browser, failed_kill_run, tmp_path):  # noqa: F811
    run, kill_op = failed_kill_run
    p = Page(browser)
    try:
        page = p.open((run / "report.html").as_uri())
        # windows: only the partition, which happened
        kinds = page.eval_on_selector_all("#faults tbody tr td:first-child", "tds => tds.map(t => t.textContent.trim())")
        assert kinds == ["partition"]
        # Faults table: counts per kind, with the reason in plain words
        row = page.locator("#fault-counts tr[data-kind='kill'] td")
        assert row.all_inner_texts()[:5] == ["kill", "1", "0", "1", "0"]
        assert page.locator("#fault-counts tr[data-kind='partition'] td").all_inner_texts()[:5] == ["partition", "1", "1", "0", "1"]
        item = page.inner_text("#failed-faults li")
        assert REASON in item and "NemesisError" not in item and "kill" in item
        # the timeline draws a failure marker on the nemesis lane, and hovering the action names the reason
        assert page.get_attribute("#timeline-canvas", "data-failed-drawn") == "1"
        page.locator("#timeline-canvas").scroll_into_view_if_needed()
        pt = page.evaluate(f"window.prozessReport.barPoint({kill_op})")
        assert pt is not None
        page.mouse.move(pt["x"], pt["y"])
        page.wait_for_selector("#tooltip", state="visible", timeout=10_000)
        assert f"fault not applied: {REASON}" in page.inner_text("#tooltip")
        # the marker is drawn in the failure colour where the kill was attempted
        red = page.evaluate(
            """(pt) => { const c = document.getElementById('timeline-canvas'), r = c.getBoundingClientRect(), d = window.devicePixelRatio || 1;
               const px = c.getContext('2d').getImageData(Math.round((pt.x - r.left) * d) - 6, Math.round((pt.y - r.top) * d) - 6, 12, 12).data;
               let n = 0; for (let i = 0; i < px.length; i += 4) if (px[i] > 180 && px[i + 1] < 110 && px[i + 2] < 110) n++; return n; }""",
            pt,
        )
        assert red > 4
        page.screenshot(path=str(tmp_path / "failed-kill.png"), full_page=True)
        assert p.errors == []
        assert_offline(p, "file://")
    finally:
        p.close()


def test_fault_window_labels_never_overlap_and_are_cut_only_when_narrow(browser, tmp_path):  # noqa: F811
    """Two windows close together: on a narrow page the first label is cut with an ellipsis where the next begins;
    on a wide page both are whole. Read from what the canvas drew (`data-window-labels`: text, x from, x to)."""
    run = make_demo_run(tmp_path / "results" / "queue-safe" / "20260105T000000Z", lost=0, seed=3, name="queue-safe")
    ops = list(read_history(run / "history.jsonl"))
    start = next(op for op in ops if op.process == "nemesis" and op.f == "start-partition" and op.type != "invoke" and op.value == "majority-ring")
    ops[start.index] = start._replace(value={"nodes": ["n1", "n2", "n3", "n4", "n5", "n6"], "grudge": "majority-ring"})  # a long label
    write_jsonl(ops, run / "history.jsonl")
    write_report(run)
    seen = {}
    for width in (420, 1600):
        p = Page(browser)
        try:
            p.page.set_viewport_size({"width": width, "height": 900})
            page = p.open((run / "report.html").as_uri())
            labels = json.loads(page.get_attribute("#timeline-canvas", "data-window-labels"))
            assert len(labels) == 2, labels
            for (_, _, end), (_, start, _) in zip(labels, labels[1:]):
                assert end <= start, labels
            seen[width] = [text for text, _, _ in labels]
            assert p.errors == []
        finally:
            p.close()
    assert any(t.endswith("\u2026") for t in seen[420]), seen
    assert not any(t.endswith("\u2026") for t in seen[1600]), seen
    assert all(whole.startswith(cut.rstrip("\u2026")) for cut, whole in zip(seen[420], seen[1600])), seen


def test_overlapping_fault_windows_are_both_labelled(browser, tmp_path):  # noqa: F811
    """A kill that starts while a partition is on (as `partition+kill` campaigns do): the partition's label is
    not swallowed by the kill's; both are drawn whole, one after the other."""
    run = make_demo_run(tmp_path / "results" / "queue-safe" / "20260106T000000Z", lost=0, seed=3, name="queue-safe")
    ops = list(read_history(run / "history.jsonl"))
    nem = [op for op in ops if op.process == "nemesis"]
    stop_p, kill = [op for op in nem if op.f == "stop-partition"], [op for op in nem if op.f == "kill"]
    for a, b in zip(stop_p, kill):   # the partition now heals after the kill began: 3.0-7.0 s and 5.5-8.0 s
        ops[a.index], ops[b.index] = a._replace(f=b.f, value=b.value), b._replace(f=a.f, value=a.value)
    write_jsonl(ops, run / "history.jsonl")
    write_report(run)
    p = Page(browser)
    try:
        p.page.set_viewport_size({"width": 1600, "height": 900})
        page = p.open((run / "report.html").as_uri())
        labels = json.loads(page.get_attribute("#timeline-canvas", "data-window-labels"))
        assert [t for t, _, _ in labels] == ["partition", "kill"], labels
        assert labels[0][2] <= labels[1][1], labels
        assert p.errors == []
    finally:
        p.close()
