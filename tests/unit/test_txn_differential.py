"""The txn checker gives the same result, to the letter, as the recorded one on a fixed set of histories.

The recorded results (`txn_differential.json`) pin the whole output of `prozess.checkers.txn.check`
— verdict, anomaly and informational types, counts, examples, explanations and graph statistics —
on every saved history under tests/histories/ (with and without ww dependencies) and on simulated
histories with one injected anomaly each. A change to how the checker is built (graph building,
cycle search, classification, explanation) must leave every one of them unchanged; a change that
means to alter results re-records them, and the diff shows what moved:

    .venv/bin/python tests/unit/test_txn_differential.py --record

The searches stop on wall-clock budgets; generous ones here make each result depend on the
history alone, not on how busy the machine is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from prozess.checkers import txn
from prozess.checkers.result import jsonable
from prozess.history import read_history
from prozess.simulate import inject, simulate

HERE = Path(__file__).parent
RECORDED = HERE / "txn_differential.json"
HISTORIES = HERE.parent / "histories"
SAVED = sorted(p for p in HISTORIES.rglob("history.*") if p.suffix in (".jsonl", ".edn"))
INJECTED = ("G1c-realtime", "G1a", "duplicate", "lost-write", "nonmonotonic-send", "poll-skip")
BUDGETS = {"info_seconds": 120.0, "seconds": 600.0}


def _cases() -> dict[str, tuple]:
    """name -> (ops or history, test) for every differential case."""
    cases: dict[str, tuple] = {}
    for path in SAVED:
        name = str(path.parent.relative_to(HISTORIES))
        for ww in (False, True):
            cases[f"{name} ww_deps={ww}"] = (path, {"ww_deps": ww})
    for seed in (0, 1):
        base = simulate(1500, keys=6, processes=6, seed=seed)
        cases[f"simulated seed={seed}"] = (base, {"ww_deps": True})
        for kind in INJECTED:
            ops = inject(base, kind, seed=seed)
            if ops is not None:
                cases[f"simulated seed={seed} {kind}"] = (ops, {"ww_deps": seed == 1})
    return cases


def _result(source, test: dict) -> dict:
    history = read_history(source) if isinstance(source, Path) else source
    return json.loads(json.dumps(jsonable(txn.check(history, test, **BUDGETS)), sort_keys=True))


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_txn_result_is_unchanged(name):
    recorded = json.loads(RECORDED.read_text())
    assert name in recorded, f"no recorded result for {name!r}; record them with `python {Path(__file__).name} --record`"
    assert _result(*CASES[name]) == recorded[name]


def test_every_recorded_case_still_runs():
    assert set(json.loads(RECORDED.read_text())) == set(CASES)


def test_the_cases_reach_the_error_pass():
    """At least one case finds a real (invalid) cycle, so the differential covers the error pass too."""
    recorded = json.loads(RECORDED.read_text())
    assert any(r["valid"] is False for r in recorded.values())
    assert any(r.get("informational-types") for r in recorded.values())


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: test_txn_differential.py --record")
    RECORDED.write_text(json.dumps({n: _result(*CASES[n]) for n in sorted(CASES)}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(CASES)} results in {RECORDED}")
