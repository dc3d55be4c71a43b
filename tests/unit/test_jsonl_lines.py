"""The one JSON Lines loop of the streaming readers (`prozess.history_model.jsonl_lines`).

The columnar check and the large report both read through it, so these hold the rules they
share: blank lines skipped, a torn last line ends the lines with a warning, any other line
that is not JSON is refused naming file and line, what is not a regular file is refused,
and the standard library's parser is tried only where a reader asks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prozess.columnar import read_columns
from prozess.history import HistoryError
from prozess.history_model import MAX_DEPTH, jsonl_lines, line_too_deep
from prozess.report.large import scan

OP0 = '{"index":0,"time":1,"type":"invoke","process":0,"f":"poll","value":[["poll"]]}'
OP1 = '{"index":1,"time":2,"type":"ok","process":0,"f":"poll","value":[["poll",{}]]}'


def test_lines_numbers_and_blank_lines(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    p.write_text(f"{OP0}\n\n   \n{OP1}\n")
    got = list(jsonl_lines(p))
    assert [n for n, _, _ in got] == [1, 4]
    assert got[0][1] == (OP0 + "\n").encode() and got[1][2]["type"] == "ok"


def test_torn_last_line_ends_with_a_warning(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    p.write_text(f"{OP0}\n{OP1}\n{{\"index\":2,\"ti")
    warnings: list[str] = []
    assert [n for n, _, _ in jsonl_lines(p, warnings)] == [1, 2]
    assert len(warnings) == 1 and f"{p}:3: last line is torn" in warnings[0]
    # the same rule in both readers that use the loop
    columnar_warnings: list[str] = []
    assert len(read_columns(p, warnings=columnar_warnings)) == 2
    s = scan(p)
    assert len(s) == 2 and columnar_warnings == warnings and s.warnings == warnings


def test_a_lone_line_without_newline_is_refused_not_skipped(tmp_path: Path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"ti')
    with pytest.raises(HistoryError, match=r"h.jsonl:1: not valid JSON"):
        list(jsonl_lines(p))


@pytest.mark.parametrize("reader", [lambda p: list(jsonl_lines(p)), read_columns, scan])
def test_bad_json_in_the_middle_names_file_and_line(tmp_path: Path, reader):
    p = tmp_path / "h.jsonl"
    p.write_text(f"{OP0}\nnot json\n{OP1}\n")
    with pytest.raises(HistoryError, match=r"h.jsonl:2: not valid JSON"):
        reader(p)


def test_exact_fallback_reads_what_orjson_refuses(tmp_path: Path):
    """NaN is outside JSON (orjson refuses it; the standard library reads it): only a reader that asks
    for the fallback gets it, the others keep refusing the line as the op-object reader does."""
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"time":1,"type":"invoke","process":0,"f":"poll","value":NaN}\n')
    with pytest.raises(HistoryError, match="not valid JSON"):
        list(jsonl_lines(p))
    (n, _, d), = jsonl_lines(p, exact_fallback=True)
    assert n == 1 and d["value"] != d["value"]  # NaN


def test_refuses_what_is_not_a_regular_history_file(tmp_path: Path):
    with pytest.raises(HistoryError, match="no such file"):
        list(jsonl_lines(tmp_path / "missing.jsonl"))
    with pytest.raises(HistoryError, match="is a directory"):
        list(jsonl_lines(tmp_path))
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(HistoryError, match="FIFO"):
        list(jsonl_lines(fifo))
    gz = tmp_path / "h.jsonl.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00rest")
    with pytest.raises(HistoryError, match="gzip"):
        list(jsonl_lines(gz))


def test_progress_every_million_lines(tmp_path: Path, monkeypatch):
    p = tmp_path / "h.jsonl"
    p.write_text("".join(f'{{"i":{i}}}\n' for i in range(2_000_001)))
    calls: list[tuple[int, int]] = []
    n = sum(1 for _ in jsonl_lines(p, progress=lambda done, total: calls.append((done, total))))
    size = p.stat().st_size
    assert n == 2_000_001 and len(calls) == 2
    assert calls[1][1] == size and 0 < calls[0][0] < calls[1][0] < size


def test_line_too_deep():
    assert not line_too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert not line_too_deep(b'{"v":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}")  # the op object, then MAX_DEPTH levels
    assert line_too_deep(b'{"v":' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}")
    # brackets inside strings do not count
    assert not line_too_deep(b'{"v":"' + b"[" * 200 + b'"}')
