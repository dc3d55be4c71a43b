"""A checker module that cannot be imported fails loudly: an error, never an `unknown` verdict or silence.

The breakage is made real by putting None into sys.modules for the module (Python then
refuses to import it, as it would a module that is missing or fails to load).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from prozess.history import History, Op


def _history() -> History:
    return History([Op(0, 0, "invoke", 0, "send", [["send", "x", 1]]), Op(1, 1, "ok", 0, "send", [["send", "x", [0, 1]]])])


@pytest.mark.parametrize("name,module", [("eos", "eos"), ("group", "group"), ("txn", "txn"), ("perf", "stats")])
def test_a_broken_checker_module_raises_instead_of_unknown(monkeypatch, name, module):
    from prozess.checkers import check

    assert check(_history(), names=[name])["valid"] in (True, False, "unknown")  # loads and runs while intact
    monkeypatch.setitem(sys.modules, f"prozess.checkers.{module}", None)
    with pytest.raises(ImportError):
        check(_history(), names=[name])


def test_a_checker_that_raises_while_checking_is_still_unknown(monkeypatch):
    """The other side: an error inside a checker's run is its verdict `unknown`, with the error."""
    from prozess.checkers import CHECKERS, check

    def broken(h, t, a):
        raise RuntimeError("boom")

    monkeypatch.setitem(CHECKERS, "stats", broken)
    res = check(_history(), names=["stats"])
    assert res["valid"] == "unknown" and "boom" in res["checkers"]["stats"]["error"]


@pytest.mark.parametrize("module", ["eos", "group"])
def test_a_broken_eos_or_group_checker_breaks_the_import_of_the_checkers(module):
    """The anomaly definitions load each checker module plainly: no name silently goes missing."""
    code = (f"import sys; sys.modules['prozess.checkers.{module}'] = None\n"
            "try:\n    import prozess.checkers\nexcept ImportError as e:\n    print('raised', e)\nelse:\n    print('imported')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("raised") and f"prozess.checkers.{module}" in out.stdout, out.stdout + out.stderr
