"""The report's fault accounting without a browser: a kind that never took effect is named in the
verdict header, counted in the Faults table, and gets no window (the browser test covers the drawing)."""

from __future__ import annotations

import json

from prozess.history import read_history, write_jsonl
from prozess.nemesis.accounting import account, verdict_notes
from prozess.report import write_report
from prozess.report.demo import make_demo_run


def test_a_kind_that_never_took_effect_is_named_and_not_drawn(tmp_path):
    run = make_demo_run(tmp_path / "r" / "20260105T000000Z", lost=0, seed=4)
    ops = list(read_history(run / "history.jsonl"))
    kills = [op for op in ops if op.process == "nemesis" and op.f == "kill"]
    ops[kills[1].index] = kills[1]._replace(value={"error": "NemesisError: no leader is known for any of t-0-0 after waiting 10 s"})
    write_jsonl(ops, run / "history.jsonl")
    results = json.loads((run / "results.json").read_text())
    results["faults"] = account(ops, faults=["partition", "kill"])
    verdict_notes(results, results["faults"])
    assert results["valid"] == "unknown"
    results["run"] = {"client_log": {"path": "client.log", "warnings": 2, "errors": 1}}
    (run / "results.json").write_text(json.dumps(results))
    (run / "client.log").write_text("x WARNING prozess.client.confluent FAIL ...\n")
    html = write_report(run).read_text()
    assert '<a href="client.log">client.log</a>' in html and "2 warnings, 1 errors" in html
    assert "the run cannot vouch for a verdict: fault kill never took effect" in html
    assert 'id="fault-counts"' in html and 'data-kind="kill"' in html
    assert "no leader is known for any of t-0-0 after waiting 10 s" in html
    meta = json.loads(html.split('id="report-meta">', 1)[1].split("</script>", 1)[0])
    assert [w["kind"] for w in meta["faults"]] == ["partition"]
    assert [a["f"] for a in meta["failed"]] == ["kill"]
