"""Every bad input named in the hardening issue gets exit 2 with `file[:line]: problem`, quickly, and no traceback.

The commands run in a real `python -m prozess` subprocess where the case could hang
(a FIFO) or where the process-level entry point matters; elsewhere through typer's
CliRunner, which reports an uncaught exception as `result.exception`.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from prozess.cli import app
from prozess.history import json_line_depth, nesting_depth

runner = CliRunner()
OP = {"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", 1]]}
COMMANDS = {
    "check": lambda p, out: ["check", str(p)],
    "show": lambda p, out: ["history", "show", str(p)],
    "convert": lambda p, out: ["history", "convert", str(p), str(out / ("x.edn" if p.suffix == ".jsonl" else "x.jsonl"))],
    "report": lambda p, out: ["report", str(p), "--out", str(out)],
}


def _deep_json(depth: int) -> str:
    return json.dumps({**OP, "value": None})[:-len("null}")] + "[" * depth + "]" * depth + "}\n"


def _deep_edn(depth: int) -> str:
    return "{:index 0 :time 0 :type :invoke :process 0 :f :send :value " + "[" * depth + "]" * depth + "}\n"


# name -> (file name, content, words the error must contain)
CASES: dict[str, tuple[str, bytes, str]] = {
    "empty": ("h.jsonl", b"", "no ops"),
    "whitespace": ("h.jsonl", b"  \n\t\n  ", "no ops"),
    "empty-edn": ("h.edn", b"\n", "no ops"),
    "no-newline-garbage": ("h.jsonl", b"garbage without any newline", "h.jsonl:1: not valid JSON"),
    "gzip": ("h.jsonl", gzip.compress((json.dumps(OP) + "\n").encode()), "gzip"),
    "nested-500": ("h.jsonl", _deep_json(500).encode(), "h.jsonl:1: field 'value' is nested more than"),
    "nested-5000": ("h.jsonl", _deep_json(5000).encode(), "h.jsonl:1:"),
    "edn-nested-500": ("h.edn", _deep_edn(500).encode(), "nested more than"),
    "edn-nested-5000": ("h.edn", _deep_edn(5000).encode(), "nested more than"),
    "binary-edn": ("h.edn", bytes(range(256)) * 4, "binary"),
    "non-utf8-edn": ("h.edn", b"{:f \xff\xfe}", "not UTF-8"),
    "edn-time-2**80": ("h.edn", b"{:index 0 :time 1208925819614629174706176 :type :invoke :process 0 :f :send :value nil}", "field 'time'"),
    "edn-process-2**80": ("h.edn", b"{:index 0 :time 0 :type :invoke :process 1208925819614629174706176 :f :send :value nil}", "field 'process'"),
    "node-a-list": ("h.jsonl", (json.dumps({**OP, "node": [[1]]}) + "\n").encode(), "h.jsonl:1: field 'node'"),
    "edn-node-a-map": ("h.edn", b"{:index 0 :time 0 :type :invoke :process 0 :f :send :value nil :node {:a 1}}", "field 'node'"),
    "json-time-2**64": ("h.jsonl", (json.dumps({**OP, "time": 2**64 - 1}) + "\n").encode(), "field 'time'"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_error(tmp_path, case, command):
    name, content, words = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    t0 = time.monotonic()
    r = runner.invoke(app, COMMANDS[command](path, out))
    assert time.monotonic() - t0 < 10
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and words in r.output and str(path) in r.output
    assert path.read_bytes() == content
    assert list(out.iterdir()) == []


def test_a_single_op_without_newline_is_read_not_skipped(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(OP))
    r = runner.invoke(app, ["history", "show", str(path)])
    assert r.exit_code == 0 and '[["send", "x", 1]]' in r.output


def test_edn_inst_and_uuid_values_are_shown_and_converted(tmp_path):
    path = tmp_path / "h.edn"
    path.write_text('{:index 0 :time 0 :type :invoke :process 0 :f :send :value [#inst "1985-04-12T23:20:50.52Z" #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" 1.5M]}\n')
    r = runner.invoke(app, ["history", "show", str(path)])
    assert r.exit_code == 0 and "1985-04-12T23:20:50.520000+00:00" in r.output and "f81d4fae" in r.output
    r = runner.invoke(app, ["history", "convert", str(path), str(tmp_path / "h.jsonl")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "h.jsonl").read_text())["value"][0] == "1985-04-12T23:20:50.520000+00:00"


@pytest.mark.parametrize("command", ["check", "show", "report", "convert"])
def test_a_fifo_is_refused_at_once(tmp_path, command):
    fifo = tmp_path / "h.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    out.mkdir()
    args = COMMANDS[command](fifo, out)
    p = subprocess.run([sys.executable, "-m", "prozess", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert f"{fifo}: " in p.stderr and "regular file" in p.stderr


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "t" / "20260101T000000Z"
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text(json.dumps(OP) + "\n")
    return run


def test_a_run_whose_history_is_a_directory(tmp_path):
    run = tmp_path / "run"
    (run / "history.jsonl").mkdir(parents=True)
    for args in (["check", str(run)], ["history", "show", str(run)], ["report", str(run)], ["history", "convert", str(run), str(tmp_path / "o.edn")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and "history.jsonl" in r.output and "regular file" in r.output, (args, r.output)


def test_a_run_whose_test_json_is_a_list(tmp_path):
    run = _run_dir(tmp_path)
    (run / "test.json").write_text("[1, 2]")
    r = runner.invoke(app, ["check", str(run)])
    assert r.exit_code == 2 and "test.json" in r.output and "list" in r.output
    r = runner.invoke(app, ["report", str(run)])  # the report goes on without the spec, and says so
    assert r.exit_code == 0 and "test.json" in (run / "report.html").read_text()


@pytest.mark.parametrize("content", [b"garbage{", b"[1, 2]", b'{"valid": true, "checkers": [1]}', b"[" * 100_000])
def test_a_run_whose_results_json_is_garbage(tmp_path, content):
    run = _run_dir(tmp_path)
    (run / "results.json").write_bytes(content)
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "results.json" in (run / "report.html").read_text()
    r = runner.invoke(app, ["check", str(run)])
    assert r.exit_code in (0, 1, 3) and r.exception is None or isinstance(r.exception, SystemExit)
    r = runner.invoke(app, ["runs", "--results-dir", str(tmp_path)])
    assert r.exit_code == 0 and "unreadable" in r.output


def test_files_that_cannot_be_read_inside_a_readable_run(tmp_path):
    """Unreadable files: here directories where files belong (as root, modes do not stop reads)."""
    run = _run_dir(tmp_path)
    for name in ("test.json", "results.json", "nemesis.jsonl"):
        (run / name).mkdir()
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0 and r.exception is None, r.output
    r = runner.invoke(app, ["check", str(run)])
    assert r.exit_code == 2 and "test.json" in r.output and "regular file" in r.output
    r = runner.invoke(app, ["runs", "--results-dir", str(tmp_path)])
    assert r.exit_code == 0 and "unreadable" in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_files_without_read_permission_inside_a_readable_run(tmp_path):
    run = _run_dir(tmp_path)
    (run / "test.json").write_text("{}")
    (run / "test.json").chmod(0)
    (run / "history.jsonl").chmod(0)
    for args in (["check", str(run)], ["report", str(run)], ["history", "show", str(run)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and r.exception is None or isinstance(r.exception, SystemExit)


@pytest.mark.parametrize("process", ["²", "٣", "-", "x1", ""])
def test_history_show_process_that_is_no_number(tmp_path, process):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(OP) + "\n")
    r = runner.invoke(app, ["history", "show", str(path), "--process", process])
    assert r.exit_code == 2 and "--process" in r.output
    assert runner.invoke(app, ["history", "show", str(path), "--process", "nemesis"]).exit_code == 0


ESC = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"


def test_terminal_escapes_in_f_and_keys_are_printed_escaped(tmp_path):
    ops = [
        {"index": 0, "time": 0, "type": "invoke", "process": 0, "f": f"send{ESC}", "value": [["send", f"k{ESC}", 1]]},
        {"index": 1, "time": 1, "type": "ok", "process": 0, "f": f"send{ESC}", "value": [["send", f"k{ESC}", [0, 1]]], "error": ESC},
        {"index": 2, "time": 2, "type": "invoke", "process": 1, "f": "poll", "value": [["poll"]]},
        {"index": 3, "time": 3, "type": "ok", "process": 1, "f": "poll", "value": [["poll", {f"k{ESC}": [[1, 9]]}]]},
    ]
    path = tmp_path / f"h{ESC}.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in ops))
    p = subprocess.run([sys.executable, "-m", "prozess", "history", "show", str(path)], capture_output=True, timeout=60)
    assert p.returncode == 0 and b"\x1b" not in p.stdout and b"\x07" not in p.stdout and "\u202e".encode() not in p.stdout
    assert b"\\x1b" in p.stdout  # shown, as an escape
    p = subprocess.run([sys.executable, "-m", "prozess", "check", str(path)], capture_output=True, timeout=60)
    assert p.returncode in (0, 1, 3), p.stderr
    for stream in (p.stdout, p.stderr):
        assert b"\x1b" not in stream and b"\x07" not in stream and b"\xc2\x9b" not in stream
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**ops[0], "type": f"x{ESC}"}) + "\n")
    p = subprocess.run([sys.executable, "-m", "prozess", "check", str(bad)], capture_output=True, timeout=60)
    assert p.returncode == 2 and b"\x1b" not in p.stderr


_json = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(alphabet='[]{}"\\ab\n\x00', max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(alphabet='[]{}"\\a', max_size=3), inner, max_size=3)),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(_json, st.booleans())
def test_json_line_depth_is_the_depth_of_the_decoded_value(value, ascii_only):
    """The byte-level depth scan that guards the fast reader agrees with a walk of the decoded value."""
    line = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert json_line_depth(line, 100) == nesting_depth(value, 100)
