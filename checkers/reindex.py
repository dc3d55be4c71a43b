"""Checker results name ops by their `index` as given in the history, gaps and all.

Checkers work on positions in the op list (dense, fast); a history whose indices have
gaps (a filtered Jepsen history, one written by hand) would then cite the wrong ops.
`to_indices` rewrites a finished result once, only when the indices are not dense:
the op lists of every example ("ops", "cycle"), the fields that hold one op
("writer", "reader", "op", "max-read", and a real-time step's "completed" and
"invoked"), and the op numbers in the prose ("op 12", "Ops [3, 4]", "(index 7)").
Dense histories pass through untouched, so the common case costs nothing.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["to_indices"]

OP_LISTS = frozenset({"ops", "cycle", "final-readers"})
OP_FIELDS = frozenset({"writer", "reader", "op", "max-read", "completed", "invoked"})
# Sections of a result that hold examples; everything else (counts, unseen maps, graph stats) stays as is.
_PROSE_OP = re.compile(r"\b([Oo]p) (\d+)\b")
_PROSE_INDEX = re.compile(r"\(index (\d+)\)")
_PROSE_OPS = re.compile(r"\b(Ops) \[([0-9, ]*)\]")


def to_indices(result: dict, ops: list) -> dict:
    """`result` with op positions turned into the ops' own indices (in place; also returned)."""
    n = len(ops)

    def ix(p: Any) -> Any:
        if type(p) is int and 0 <= p < n:
            return ops[p].index
        return p

    def prose(text: str) -> str:
        text = _PROSE_OP.sub(lambda m: f"{m.group(1)} {ix(int(m.group(2)))}", text)
        text = _PROSE_INDEX.sub(lambda m: f"(index {ix(int(m.group(1)))})", text)
        return _PROSE_OPS.sub(
            lambda m: f"{m.group(1)} [{', '.join(str(ix(int(x))) for x in m.group(2).split(',') if x.strip())}]", text)

    def example(ex: Any) -> Any:
        if not isinstance(ex, dict):
            return ex
        for k, v in ex.items():
            if k in OP_LISTS and isinstance(v, list):
                ex[k] = [ix(x) for x in v]
            elif k in OP_FIELDS:
                ex[k] = ix(v)
            elif k == "explanation" and isinstance(v, str):
                ex[k] = prose(v)
            elif k == "steps" and isinstance(v, list):
                ex[k] = [example(dict(s)) if isinstance(s, dict) else s for s in v]
        return ex

    def section(sec: Any) -> None:
        if not isinstance(sec, dict):
            return
        for entry in sec.values():
            if isinstance(entry, dict) and isinstance(entry.get("examples"), list):
                entry["examples"] = [example(ex) for ex in entry["examples"]]

    for r in (result.get("checkers") or {"_": result}).values():
        if isinstance(r, dict):
            section(r.get("anomalies"))
            section(r.get("informational"))
    return result
