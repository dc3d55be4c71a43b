"""Explanation for the txn checker: a found cycle as data first, then as prose.

As in Elle: "Let T1 = op 4 (...); T2 = ... Then T1 < T2 because T2 polled T1's send
of 3 to key 'x'. However, T2 < T1 because ... So T1 < T1: a contradiction!" The
result holds the cycle's ops, the cycle itself and each step's edge data, so the
report can link every op it names.
"""

from __future__ import annotations

from prozess.checkers.analysis import Analysis

__all__ = ["explain", "why"]


def why(x: int, y: int, d: dict, names: dict) -> str:
    """Why vertex x precedes vertex y, from the edge data `d` joining them."""
    X, Y = names[x], names[y]
    t = d["type"]
    v2 = d.get("value'")
    if t == "wr":
        return f"{Y} polled {X}'s send of {d['value']!r} to key {d['key']!r}"
    if t == "ww":
        return f"{X} sent {d['value']!r} to key {d['key']!r}, and {Y} sent {v2!r}, the next value in that key's log"
    if t == "rw":
        return (f"{X} polled key {d['key']!r} up to {d['value']!r} and did not see {v2!r}, "
                f"the next value in that key's log, which {Y} sent")
    if t == "process":
        return f"{X} and {Y} ran on process {d['process']}, {X} first"
    if t == "realtime":
        return f"{X} completed (index {d['completed']}) before {Y} was invoked (index {d['invoked']})"
    return f"{X} precedes {Y}"


def explain(a: Analysis, steps: list[tuple[int, int, dict]], kind: str) -> dict:
    """Data first, then prose: Let T1 = ...; T1 < T2 because ...; However ... a contradiction!"""
    cycle = [x for x, _, _ in steps]
    names = {x: f"T{n + 1}" for n, x in enumerate(cycle)}
    lets = []
    for x in cycle:
        op = a.ops[x]
        lets.append(f"{names[x]} = op {x} ({op.type} {op.f} by process {op.process})")
    parts = []
    for n, (x, y, d) in enumerate(steps):
        lead = "However, " if n == len(steps) - 1 else ("Then " if n == 0 else "")
        parts.append(f"{lead}{names[x]} < {names[y]} because {why(x, y, d, names)}.")
    text = "Let " + "; ".join(lets) + ". " + " ".join(parts) + f" So {names[cycle[0]]} < {names[cycle[0]]}: a contradiction!"
    return {"explanation": text, "ops": cycle, "type": kind,
            "cycle": cycle + [cycle[0]], "steps": [d for _, _, d in steps]}
