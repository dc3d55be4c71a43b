"""Every regression case under tests/histories/ still checks to the verdict and anomalies it was saved with.

A case is a folder with history.jsonl (or history.edn), expected.json, and
optionally test.json; `prozess save RUN tests/histories/NAME` makes one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prozess.checking import check_history
from prozess.history import read_history
from prozess.save import expected_of

HISTORIES = Path(__file__).parent / "histories"
CASES = sorted(p.parent for p in HISTORIES.rglob("expected.json"))


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(HISTORIES)) for c in CASES])
def test_saved_history_keeps_its_verdict(case):
    expected = json.loads((case / "expected.json").read_text())
    history_file = case / "history.jsonl" if (case / "history.jsonl").exists() else case / "history.edn"
    test = json.loads((case / "test.json").read_text()) if (case / "test.json").exists() else None
    result = check_history(read_history(history_file), test, None).result
    got = expected_of(result)
    assert got["valid"] == expected["valid"], f"{case.name}: verdict changed from {expected['valid']} to {got['valid']}"
    assert got["anomaly-types"] == expected["anomaly-types"], f"{case.name}: anomaly types changed"


def test_there_are_saved_cases():
    assert CASES, "tests/histories/ holds no regression case; save one with `prozess save RUN tests/histories/NAME`"
