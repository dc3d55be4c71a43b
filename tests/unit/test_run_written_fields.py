"""Every key the runner or the nemesis writes into a run's test.json reads back as a spec (replay).

A stored run's test.json is handed to `TestSpec.from_dict` by `prozess replay`; a key the run added
that is neither a spec field nor in `RUN_WRITTEN_FIELDS` makes every replay of such a run fail.
The keys are found in the source: assignments `test["key"] = ...` and `test.setdefault("key", ...)`.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from prozess.spec import RUN_WRITTEN_FIELDS, SpecError, TestSpec

ROOT = Path(__file__).resolve().parents[2]
WRITERS = [ROOT / "prozess" / "runner.py", ROOT / "prozess" / "interpreter.py", *sorted((ROOT / "nemesis").glob("*.py"))]


def written_keys(source: str) -> set[str]:
    """String keys assigned into a dict named `test` (subscript assignment or setdefault)."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        for t in targets:
            if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "test"
                    and isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str)):
                keys.add(t.slice.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "test"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            keys.add(node.args[0].value)
    return keys


def test_the_finder_sees_both_forms():
    assert written_keys('test["a"] = 1\ntest.setdefault("b", 2)\nother["c"] = 3\n') == {"a", "b"}


def test_every_key_a_run_writes_into_test_json_reads_back_as_a_spec():
    fields = {f.name for f in dataclasses.fields(TestSpec)}
    written = set().union(*(written_keys(p.read_text()) for p in WRITERS))
    assert "fault_edges" in written and "nemesis_schedule" in written  # the finder reads the real sources
    assert not written - fields - RUN_WRITTEN_FIELDS, "add these to prozess.spec.RUN_WRITTEN_FIELDS"
    spec = TestSpec.from_dict({k: None for k in written - fields})  # no SpecError
    assert spec.workload == TestSpec().workload


def test_a_key_nobody_writes_is_still_refused():
    try:
        TestSpec.from_dict({"fault_edgez": {}})
    except SpecError as e:
        assert "fault_edgez" in str(e)
    else:
        raise AssertionError("an unknown field was accepted")
