"""A real Jepsen kafka history (EDN, from a Redpanda run) checks directly and agrees with Jepsen's verdict."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from prozess.checkers import check

CASE = Path(__file__).parent.parent / "histories" / "jepsen" / "redpanda-inconsistent-offsets"


@pytest.mark.skipif(importlib.util.find_spec("prozess.edn") is None,
                    reason="prozess.edn (Jepsen EDN import) is not installed yet")
def test_jepsen_redpanda_history_reports_inconsistent_offsets_like_jepsen():
    from prozess.edn import read_edn

    history = read_edn(CASE / "history.edn")
    res = check(history)
    queue = res["checkers"]["queue"]
    assert res["valid"] is False
    # Jepsen: {:key 11, :index 0, :offset 537, :values #{641 645}}
    ex = queue["anomalies"]["inconsistent-offsets"]["examples"][0]
    assert (ex["key"], ex["offset"], ex["index"], ex["values"]) == ("11", 537, 0, [641, 645])
    assert ex["ops"] == [1, 3]
