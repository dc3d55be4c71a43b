"""The large-history report (prozess.report.large): columns, pairing, plot pairs, timeline buckets and side files.

Each is compared with what the small report computes from op objects on the same history,
with the threshold and the side-file size lowered so a small history exercises them.
"""

import json
import re

import numpy as np
import pytest

from prozess.history import History, write_jsonl
from prozess.report import ReportSourceError, large, write_report
from prozess.report.demo import make_demo_run
from prozess.report.encode import encode_history
from prozess.report.plots import op_pairs
from prozess.simulate import simulate


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulated history with crashes, infos and nemesis actions, and its scan."""
    from prozess.history import Op

    ops = simulate(3000, seed=3, crash_rate=0.02, info_rate=0.03)
    mid = len(ops) // 2
    nem = [Op(0, ops[mid].time, "info", "nemesis", "start-partition", "halves"),
           Op(0, ops[mid].time, "info", "nemesis", "start-partition", "halves"),
           Op(0, ops[-1].time, "info", "nemesis", "stop-partition", None)]  # never completed
    ops = [op._replace(index=i) for i, op in enumerate(ops[:mid] + nem[:2] + ops[mid:] + nem[2:])]
    path = tmp_path_factory.mktemp("sim") / "history.jsonl"
    write_jsonl(ops, path)
    return ops, path, large.scan(path, {5, 17, len(ops) - 1})


def test_threshold_counts_lines_and_only_json_lines_go_large(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text("{}\n" * 9 + "{}")
    assert large.count_lines(path) == 10
    assert large.is_large(path, 10) and not large.is_large(path, 11)
    edn = tmp_path / "history.edn"
    edn.write_text("{}\n" * 20)
    assert not large.is_large(edn, 1)
    assert large.LARGE_OPS == 200_000 and large.CHUNK % 100 == 0  # a table page never straddles two side files


def test_scan_pairs_and_keeps_as_the_history_does(sim):
    ops, _, s = sim
    h = History(ops)
    want = np.array([c if c >= 0 else i for i, c in enumerate(h.pairing.completion)])
    got = np.where(s.type == 0, s.partner, np.arange(len(ops)))
    client = s.proc != s.nemesis_code
    assert (got[client] == want[client]).all()
    assert len(s) == len(ops) and s.time.tolist() == [op.time for op in ops]
    assert {p for p, op in s.kept.items() if op.process == "nemesis"} == {i for i, op in enumerate(ops) if op.process == "nemesis"}
    assert {5, 17, 0, len(ops) - 1} <= set(s.kept) and s.kept[17] == ops[17]
    assert s.counts["invoke"] == sum(op.type == "invoke" and op.process != "nemesis" for op in ops)
    assert s.nemesis_ops == 3


def test_plot_pairs_equal_the_op_object_ones(sim):
    ops, _, s = sim
    want, got = op_pairs(History(ops)), large.pairs(s)
    assert got["fs"] == want["fs"]
    for k in ("f", "t0", "t1", "outcome"):
        assert np.array_equal(got[k], want[k]), k


def test_timeline_buckets_count_every_client_invocation_once(sim):
    ops, _, s = sim
    lane_of = large.lanes(s)
    tl = large.timeline(s, lane_of, [5, 17])
    counts = np.array(tl["counts"]).reshape(tl["lanes"], tl["buckets"], 3)
    assert counts.sum() == s.counts["invoke"]
    infos = sum(1 for i, op in enumerate(ops) if op.type == "invoke" and op.process != "nemesis"
                and (History(ops).pairing.completion[i] < 0 or ops[History(ops).pairing.completion[i]].type == "info"))
    assert counts[:, :, 2].sum() == infos
    assert lane_of[s.nemesis_code] == 0 and tl["lanes"] < len(s.procs)  # crashed processes share their worker's lane
    assert [m[0] for m in tl["marks"]] == [5, 17]
    assert len(tl["nemesis"]) == 2 and tl["nemesis"][-1][2] == tl["tmax"]  # the stop never completed: open to the end
    assert [c[0] for c in tl["chunks"]] == list(range(0, len(ops), large.CHUNK))


def _chunks(pages):
    out = []
    for f in sorted(pages.iterdir()):
        m = re.fullmatch(r"window\.prozessChunk\((\d+), (.*)\);\n", f.read_text(), re.S)
        assert m, f.name
        assert int(m.group(1)) == len(out) and f.name == f"{len(out):04d}.js"
        out.append(json.loads(m.group(2)))
    return out


def test_side_files_hold_every_op_with_partners_across_files(sim, tmp_path, monkeypatch):
    ops, path, s = sim
    monkeypatch.setattr(large, "CHUNK", 700)
    lane_of = large.lanes(s)
    info = large.write_pages(path, s, tmp_path, {5}, lane_of)
    chunks = _chunks(tmp_path / large.PAGES_DIR)
    assert info["files"] == len(chunks) == -(-len(ops) // 700)
    assert info["bytes"] == sum(f.stat().st_size for f in (tmp_path / large.PAGES_DIR).iterdir())
    whole = encode_history(ops, keep={5})
    h = History(ops)
    for c in chunks:
        base, n = c["base"], c["n"]
        assert np.cumsum(c["dt"]).tolist() == [op.time // 1000 for op in ops[base:base + n]]
        for i in range(n):
            g = base + i
            partner = h.pairing.completion[g] if ops[g].type == "invoke" else h.pairing.invocation[g]
            if ops[g].process != "nemesis":
                assert (g + c["pr"][i] if c["pr"][i] else -1) == partner
            v = c["v"][i]
            assert v == whole["v"][g] or (v != 0 and whole["v"][g] == 0)  # an invocation keeps its value across a file boundary
            assert c["procs"][c["p"][i]] == ops[g].process and c["pl"][c["p"][i]] == lane_of[s.procs.index(ops[g].process)]
    # a rewrite replaces the folder whole
    stale = tmp_path / large.PAGES_DIR / "9999.js"
    stale.write_text("")
    large.write_pages(path, s, tmp_path, set(), lane_of)
    assert not stale.exists() and not (tmp_path / (large.PAGES_DIR + ".new")).exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_run(tmp_path_factory.mktemp("runs") / "big" / "20260101T000000Z", n_ops=3000, lost=3, seed=5)


def test_below_the_threshold_the_report_is_unchanged(demo):
    html = write_report(demo).read_text()
    assert 'id="history-data"' in html and 'id="large-data"' not in html
    assert not (demo / large.PAGES_DIR).exists()


def test_above_the_threshold_the_report_embeds_buckets_and_cited_ops_only(demo):
    small = write_report(demo).read_text()
    html = write_report(demo, large_ops=1000).read_text()
    assert 'id="history-data"' not in html and 'id="large-data"' in html and "window.prozessChunk" in html
    assert (demo / large.PAGES_DIR / "0000.js").exists()
    assert len(html) < len(small)
    # the same verdict, anomaly examples (with their cited ops' rows), header and plots
    for part in ('id="verdict-label">INVALID<', 'id="anomaly-lost-write"', 'data-fact="ops"', 'src="data:image/svg+xml;base64,'):
        assert part in html
    facts = lambda h: re.findall(r'<dd data-fact="(?:ops|duration)">([^<]*)</dd>', h)  # noqa: E731
    assert facts(html) == facts(small)
    rows = lambda h: re.findall(r'<table class="compact example-ops">.*?</table>', h, re.S)  # noqa: E731
    assert rows(html) == rows(small) and rows(html)
    data = json.loads(re.search(r'id="large-data">(.*?)</script>', html, re.S).group(1))
    n = sum(1 for _ in open(demo / "history.jsonl"))
    assert data["n"] == n and data["files"] == 1 and data["timeline"]["marks"]


def test_large_report_without_results_is_checked_from_columns(tmp_path):
    run = make_demo_run(tmp_path / "r" / "20260101T000000Z", n_ops=1500, lost=2, seed=6)
    (run / "results.json").unlink()
    html = write_report(run, large_ops=100).read_text()
    assert "checked again for this report" in html and 'id="large-data"' in html


def test_a_damaged_large_history_is_one_clear_error(tmp_path):
    run = make_demo_run(tmp_path / "r" / "20260101T000000Z", n_ops=1500, seed=6)
    lines = (run / "history.jsonl").read_text().splitlines()
    lines[700] = '{"index": "x"}'
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportSourceError, match=r"cannot read the history: .*history.jsonl:701: missing field"):
        write_report(run, large_ops=100)


def test_times_before_zero_and_far_apart_still_bucket(tmp_path):
    from prozess.history import Op

    ops = [Op(0, -5_000_000, "invoke", 0, "send", [["send", "x", 1]]), Op(1, 2_000_000, "ok", 0, "send", [["send", "x", [0, 1]]]),
           Op(2, 9 * 10**18, "invoke", 1, "poll", [["poll"]]), Op(3, 9 * 10**18 + 1, "ok", 1, "poll", [["poll", {}]])]
    path = tmp_path / "history.jsonl"
    write_jsonl(ops, path)
    s = large.scan(path)
    tl = large.timeline(s, large.lanes(s), [])
    assert sum(tl["counts"]) == 2 and tl["buckets"] <= large.TIME_BUCKETS + 1


def test_many_lanes_get_fewer_buckets_so_the_page_stays_small(sim, monkeypatch):
    _, _, s = sim
    lane_of = large.lanes(s)
    monkeypatch.setattr(large, "MAX_CELLS", 3 * int(lane_of.max() + 1) * 40)
    tl = large.timeline(s, lane_of, [])
    assert tl["buckets"] <= 41 and len(tl["counts"]) <= large.MAX_CELLS + 3 * tl["lanes"]
    assert sum(tl["counts"]) == s.counts["invoke"]
