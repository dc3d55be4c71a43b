"""Reports of simulated histories checked by the real checkers (prozess.simulate + prozess.checkers)."""

import re

import pytest

from prozess.history import Op, write_jsonl
from prozess.report import write_report

simulate = pytest.importorskip("prozess.simulate")


def with_partition(ops, around):
    """`ops` with a start-partition/stop-partition pair (Jepsen style: info, info) around position `around`."""
    lo, hi = max(0, around - 200), min(len(ops) - 1, around + 200)
    out = []
    for i, op in enumerate(ops):
        if i == lo:
            out += [Op(0, op.time, "info", "nemesis", "start-partition", "halves"), Op(0, op.time, "info", "nemesis", "start-partition", {"n1": ["n2", "n3"]})]
        if i == hi:
            out += [Op(0, op.time, "info", "nemesis", "stop-partition", None), Op(0, op.time, "info", "nemesis", "stop-partition", "healed")]
        out.append(op)
    return [op._replace(index=i) for i, op in enumerate(out)]


def test_lost_write_report_from_the_real_checkers(tmp_path):
    ops = simulate.simulate(2000, seed=1)
    bad = simulate.inject(ops, "lost-write", seed=1)
    assert bad is not None
    lost_at = next(i for i, (a, b) in enumerate(zip(ops, bad)) if a != b)
    history = with_partition(bad, lost_at)
    write_jsonl(history, tmp_path / "history.jsonl")
    html = write_report(tmp_path / "history.jsonl").read_text()
    assert 'id="verdict-label">INVALID<' in html
    assert 'id="anomaly-lost-write"' in html
    sections = re.findall(r'id="anomaly-([^"]+)"', html)
    assert sections and "lost-write" in sections
    for i in map(int, re.findall(r'data-op="(\d+)"', html)):
        assert 0 <= i < len(history)
    # the definition comes from the checker, and the lost write is placed relative to the partition
    assert "An acknowledged send that no poll observed" in html
    section = html[html.index('id="anomaly-lost-write"'):]
    section = section[: section.index("</section>")]
    assert "partition (" in section
