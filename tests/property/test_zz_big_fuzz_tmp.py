"""Fuzzing the commands that read a history: whatever the file holds, a verdict or one clear error.

Hypothesis draws raw bytes, JSON-ish op lines (with hostile field values: huge
integers, deep nesting, control characters, wrong types) and EDN-ish text
(tags, keywords, huge numbers, unbalanced brackets), plus the cases listed in the
hardening issue as explicit examples. Each input goes through `check`, `report`,
`history convert` and `history show` (typer's CliRunner, which surfaces any
uncaught exception) and must end with exit 0, 1, 2 or 3, no traceback, within a
bounded time, and leave the input file byte for byte as it was.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from prozess.cli import app

runner = CliRunner()
SECONDS_PER_COMMAND = 20
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.generate],  # a failure prints its input; shrinking would only cost time
)
OP = {"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "send", "value": [["send", "x", 1]]}
ESC = "\x1b]0;t\x07\x1b[31m\x9b\u202e"

# ---------------------------------------------------------------- strategies

hostile_ints = st.sampled_from([0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64 - 1, 9 * 10**18])
hostile_text = st.one_of(st.text(max_size=8), st.sampled_from(["", "nemesis", "send", "poll", ESC, "\x00", "\ud7ff", "é", "²"]))
scalars = st.one_of(st.none(), st.booleans(), hostile_ints, st.integers(-1000, 1000), st.floats(allow_nan=False), hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)), max_leaves=12)


def _nested(depth: int) -> object:
    v: object = 1
    for _ in range(depth):
        v = [v]
    return v


@st.composite
def op_dicts(draw):
    """An op that is mostly right, with a few fields replaced by hostile values or dropped."""
    op = {
        "index": draw(st.integers(0, 5)),
        "time": draw(st.integers(0, 10**10)),
        "type": draw(st.sampled_from(["invoke", "ok", "fail", "info"])),
        "process": draw(st.one_of(st.integers(0, 3), st.just("nemesis"))),
        "f": draw(st.sampled_from(["send", "poll", "txn", "assign", "crash", "start-partition"])),
        "value": draw(st.one_of(st.just([["send", "x", 1]]), st.just([["poll", {"x": [[0, 1]]}]]), json_values)),
    }
    for field in draw(st.lists(st.sampled_from(sorted(op) + ["error", "node", ESC]), max_size=3, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            op.pop(field, None)
        elif choice == 1:
            op[field] = draw(json_values)
        elif choice == 2:
            op[field] = draw(hostile_ints)
        else:
            op[field] = _nested(draw(st.sampled_from([10, 65, 70, 500, 2000])))
    return op


@st.composite
def jsonl_bytes(draw):
    ops = draw(st.lists(op_dicts(), min_size=0, max_size=6))
    lines = []
    for op in ops:
        try:
            lines.append(json.dumps(op, ensure_ascii=draw(st.booleans())))
        except (ValueError, RecursionError):
            lines.append("{")
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n  ", "\n{\"index\": 9", "\n\x00"]))
    return text.encode("utf-8", "surrogatepass")


EDN_TOKENS = [
    "{", "}", "[", "]", "(", ")", "#{", ":index", ":time", ":type", ":process", ":f", ":value", ":error", ":invoke", ":ok",
    ":fail", ":info", ":nemesis", ":send", ":poll", ":x", "0", "1", "-1", "1208925819614629174706176", "9223372036854775808",
    "1.5M", "3N", "nil", "true", '"s"', '"\\u001b[31m"', '#inst "1985-04-12T23:20:50.52Z"', '#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"',
    "#jepsen.history.Op", "#foo", "\\a", ";", "\n", " ", "##NaN", "##Inf", "1e400", "'",
]
OP_EDN = "{:index 0 :time 0 :type :invoke :process 0 :f :send :value [[:send :x 1]]}\n{:index 1 :time 5 :type :ok :process 0 :f :send :value [[:send :x [0 1]]]}\n"


@st.composite
def edn_bytes(draw):
    parts = draw(st.lists(st.sampled_from(EDN_TOKENS), max_size=40))
    text = " ".join(parts)
    if draw(st.booleans()):
        text = OP_EDN + text
    return text.encode()


raw_bytes = st.binary(max_size=400)

# ---------------------------------------------------------------- the property

COMMANDS = {
    "check": lambda p, out: ["check", str(p)],
    "show": lambda p, out: ["history", "show", str(p)],
    "convert": lambda p, out: ["history", "convert", str(p), str(out / ("c.edn" if p.suffix == ".jsonl" else "c.jsonl"))],
    "report": lambda p, out: ["report", str(p), "--out", str(out / "report")],
}


def _every_command_answers(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="prozess-fuzz-") as d:
        path = Path(d) / f"history{suffix}"
        path.write_bytes(content)
        out = Path(d) / "out"
        out.mkdir()
        for name, args in COMMANDS.items():
            t0 = time.monotonic()
            r = runner.invoke(app, args(path, out))
            took = time.monotonic() - t0
            assert r.exception is None or isinstance(r.exception, SystemExit), f"{name}: {r.exception!r}\n{r.output}"
            assert r.exit_code in (0, 1, 2, 3), f"{name}: exit {r.exit_code}\n{r.output}"
            assert "Traceback" not in r.output, f"{name}:\n{r.output}"
            assert took < SECONDS_PER_COMMAND, f"{name} took {took:.1f} s"
            assert path.read_bytes() == content, f"{name} changed its input"
            if r.exit_code == 2:
                assert "prozess: error:" in r.output and "\n" == r.output[-1], f"{name}:\n{r.output}"


@SETTINGS
@given(jsonl_bytes())
@example(b"")
@example(b"   \n\t\n")
@example(json.dumps(OP).encode())  # no newline at all
@example(b"garbage with no newline")
@example(gzip.compress((json.dumps(OP) + "\n").encode()))
@example((json.dumps({**OP, "value": _nested(500)}) + "\n").encode())
@example(("{" + '"a":[' * 5000 + "1" + "]" * 5000 + "}\n").encode())
@example((json.dumps({**OP, "time": 9 * 10**18}) + "\n" + json.dumps({**OP, "index": 1, "type": "ok"}) + "\n").encode())
@example((json.dumps({**OP, "f": ESC, "value": [["send", ESC, 1]]}) + "\n").encode())
@example((json.dumps({**OP, "type": {"invoke": 1}}) + "\n").encode())  # an unhashable type once raised TypeError
def test_jsonl_inputs(content):
    _every_command_answers(content, ".jsonl")


@SETTINGS
@given(edn_bytes())
@example(b"")
@example(("{:index 0 :time 0 :type :invoke :process 0 :f :send :value " + "[" * 500 + "]" * 500 + "}").encode())
@example(("{:index 0 :time 0 :type :invoke :process 0 :f :send :value " + "[" * 5000 + "]" * 5000 + "}").encode())
@example(b'{:index 0 :time 0 :type :invoke :process 0 :f :send :value #inst "1985-04-12T23:20:50.52Z"}')
@example(b"{:index 0 :time 1208925819614629174706176 :type :invoke :process 0 :f :send :value nil}")
@example(b"{:index 0 :time 0 :type :invoke :process 1208925819614629174706176 :f :send :value nil}")
@example(bytes(range(256)))
def test_edn_inputs(content):
    _every_command_answers(content, ".edn")


@SETTINGS
@given(raw_bytes, st.sampled_from([".jsonl", ".edn"]))
def test_arbitrary_bytes(content, suffix):
    _every_command_answers(content, suffix)
