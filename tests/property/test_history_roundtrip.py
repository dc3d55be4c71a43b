"""Round trips of whole histories: JSONL <-> EDN <-> JSONL is the identity."""

from __future__ import annotations

import tempfile
from pathlib import Path

import edn_format
from hypothesis import given, settings

from prozess.edn import dumps_op, read_edn, write_edn
from prozess.history import History, read_jsonl, write_jsonl
from tests.strategies import histories


@settings(max_examples=150, deadline=None)
@given(histories())
def test_jsonl_edn_jsonl_is_identity(ops):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        write_jsonl(ops, d / "a.jsonl")
        h1 = read_jsonl(d / "a.jsonl")
        write_edn(h1, d / "h.edn")
        h2 = read_edn(d / "h.edn")
        write_jsonl(h2, d / "b.jsonl")
        h3 = read_jsonl(d / "b.jsonl")
    assert list(h1) == list(ops)
    assert list(h2) == list(ops)
    assert list(h3) == list(ops)


@settings(max_examples=50, deadline=None)
@given(histories())
def test_exported_edn_parses_with_the_edn_library(ops):
    for op in History(ops):
        m = edn_format.loads(dumps_op(op))
        assert m[edn_format.Keyword("index")] == op.index
        assert m[edn_format.Keyword("type")] == edn_format.Keyword(op.type)
