"""The checker result shape, the anomaly definitions, and verdict merging.

Every checker returns a JSON-able dict:

    {"valid": true | false | "unknown",
     "anomaly-types": [sorted types that make the history invalid],
     "anomalies": {TYPE: {"count": n, "definition": "...",
                          "examples": [{"explanation": "...", "ops": [indices], ...}]}},
     "informational": {TYPE: {...same shape...}},   # found, but allowed here
     "informational-types": [...],
     "error": "..."}                                 # only when the checker raised

`informational` holds types that Jepsen also reports but does not count against
the history in this configuration (e.g. G0 in Kafka, whose transactions do not
isolate writes; poll-skip when consumers subscribe and may be rebalanced).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

MAX_EXAMPLES = 8

DEFINITIONS: dict[str, str] = {
    # queue taxonomy (names as in Jepsen's kafka checker)
    "lost-write": "An acknowledged send that no poll observed, although some poll observed a later offset of the same key.",
    "unseen": "An acknowledged send that no successful poll observed by the end of the history.",
    "duplicate": "One value appears at more than one offset of a key.",
    "inconsistent-offsets": "Two different values were seen at the same offset of a key.",
    "G1a": "A successful poll observed a value whose send failed (an aborted read).",
    "precommitted-read": "A transaction polled a value that it sent itself, before it committed.",
    "poll-skip": "A process's poll of a key began past where its previous poll of that key ended, skipping values in the log.",
    "nonmonotonic-poll": "A process's poll of a key began at or before the value its previous poll of that key ended on.",
    "int-poll-skip": "Within one poll or transaction, two successive values read from a key skip over values in the log.",
    "int-nonmonotonic-poll": "Within one poll or transaction, the values read from a key go backwards or repeat in the log order.",
    "int-send-skip": "Within one transaction, two successive sends to a key landed with other values between them.",
    "int-nonmonotonic-send": "Within one transaction, a later send to a key landed at or before an earlier send to it.",
    "nonmonotonic-send": "A process's send to a key landed at or before the last value its previous send to that key landed on.",
    "garbage-read": "A poll observed a value that no operation in the history ever sent.",
    "truncated-tail": "A value that an ok poll observed and that the key's final reads from the beginning of its log, after healing, no longer returned: the log's tail was cut or holed (a prozess addition to Jepsen's taxonomy).",
    # linearizable offsets
    "nonlinearizable-offsets": "A send invoked after another send to the same key was acknowledged got an offset at or below that send's, contradicting real time.",
    # dependency-graph cycles (Elle's names)
    "G0": "A cycle of write-write (ww) dependencies: two transactions' sends interleave in conflicting orders across keys.",
    "G0-process": "A G0 cycle that also needs the order of operations within one process.",
    "G0-realtime": "A G0 cycle that also needs real-time order (one op completed before another began).",
    "G1c": "A cycle of write-write and write-read dependencies with at least one wr edge: circular information flow.",
    "G1c-process": "A G1c cycle that also needs the order of operations within one process.",
    "G1c-realtime": "A G1c cycle that also needs real-time order, e.g. a poll that observed a send invoked only after the poll completed.",
    "G-single": "A dependency cycle with exactly one read-write (anti-dependency) edge: a read skew.",
    "G-single-process": "A G-single cycle that also needs process order.",
    "G-single-realtime": "A G-single cycle that also needs real-time order (e.g. a stale poll).",
    "G-nonadjacent": "A dependency cycle with several read-write edges, no two of them adjacent.",
    "G-nonadjacent-process": "A G-nonadjacent cycle that also needs process order.",
    "G-nonadjacent-realtime": "A G-nonadjacent cycle that also needs real-time order.",
    "G2-item": "A dependency cycle with two or more adjacent read-write edges: write skew.",
    "G2-item-process": "A G2-item cycle that also needs process order.",
    "G2-item-realtime": "A G2-item cycle that also needs real-time order.",
}

_RANK = {True: 0, "unknown": 1, False: 2}


class Found:
    """A checker's anomaly cases by kind as it walks a history: every case counted, the first
    `MAX_EXAMPLES` of each kind kept as examples; `entries()` is the `found` that `build` takes."""

    def __init__(self, definitions: dict[str, str]) -> None:
        self.definitions = definitions
        self.cases: dict[str, list] = {}

    def add(self, kind: str, explanation: str, ops: Iterable[Any], **data: Any) -> None:
        c = self.cases.setdefault(kind, [])
        c.append({"explanation": explanation, "ops": sorted({int(i) for i in ops if i is not None}), **data}
                 if len(c) < MAX_EXAMPLES else None)

    def entries(self) -> dict[str, dict]:
        return {k: {"count": len(v), "definition": self.definitions[k], "examples": [c for c in v if c is not None]}
                for k, v in sorted(self.cases.items())}


def merge_valid(values: Iterable[Any]) -> Any:
    """false > unknown > true; an empty merge is true."""
    worst = True
    for v in values:
        v = v if v in (True, False) else "unknown"
        if _RANK[v] > _RANK[worst]:
            worst = v
    return worst


def entry(kind: str, cases: list, render: Callable[[dict], dict] | None = None, limit: int = MAX_EXAMPLES) -> dict:
    """One anomaly entry: count, definition and up to `limit` rendered examples.

    `cases` are plain dicts (or anything `render` takes); `render` turns a case
    into an example dict with "explanation" and "ops". Rendering is lazy so that
    100k cases cost nothing beyond their count.
    """
    examples = []
    for c in cases[:limit]:
        ex = render(c) if render is not None else dict(c)
        examples.append(ex)
    return {"count": len(cases), "definition": DEFINITIONS.get(kind, kind), "examples": examples}


def build(found: dict[str, dict], allowed: Iterable[str] = (), **extra: Any) -> dict:
    """Assembles a checker result from {type: entry}; types in `allowed` are informational."""
    allowed = set(allowed)
    bad = {t: e for t, e in found.items() if t not in allowed}
    info = {t: e for t, e in found.items() if t in allowed}
    result: dict[str, Any] = {
        "valid": not bad,
        "anomaly-types": sorted(bad),
        "anomalies": {t: bad[t] for t in sorted(bad)},
    }
    if info:
        result["informational-types"] = sorted(info)
        result["informational"] = {t: info[t] for t in sorted(info)}
    result.update(extra)
    return result


def unknown(reason: str, **extra: Any) -> dict:
    """A result that can say neither valid nor invalid (never a silent pass)."""
    return {"valid": "unknown", "anomaly-types": [], "anomalies": {}, "reason": reason, **extra}


def jsonable(x: Any) -> Any:
    """Makes keys strings and tuples/sets lists, recursively, so json.dumps accepts it."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return [jsonable(v) for v in sorted(x, key=repr)]
    return x
