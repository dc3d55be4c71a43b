"""Values that were visible and then vanished from the log: `truncated-tail` (a prozess addition).

Jepsen's kafka checker (and prozess's queue checker before this) says nothing when a
key's log is cut after every value on it was read and no later write reuses those
offsets: acknowledged, once-visible data vanished, yet lost-write needs a *higher*
read and inconsistent-offsets needs a *reuse* of the offset. The final phase closes
that gap. After healing, every worker assigns every key from the beginning and polls
until it reaches the highest offset known for the key (or its time runs out); those
ops carry `"final": true` in the history (JSONL field, EDN `:final`), so an offline
check knows them.

For each key the final phase assigned, every value that an earlier ok poll read and
that no final read of the key returned is one case: the final reads end before it
(the tail was cut) or skip it (a hole). The example names the earlier read and the
final reads. A history without final marks (a Jepsen history) has no cases.
"""

from __future__ import annotations

from typing import Any

from prozess.checkers.analysis import Analysis, key_sort

KIND = "truncated-tail"


def truncated_tail_cases(a: Analysis) -> list[dict]:
    keys = a.final_keys | set(a.final_values)
    if not keys:
        return []
    missing: dict[Any, set] = {}
    if hasattr(a, "columnar_missing_finals"):  # an Analysis built from columns joins the arrays
        missing = a.columnar_missing_finals(keys)
    else:
        for k in keys:
            seen = a.read_ok.get(k)
            if seen:
                gone = seen - a.final_values.get(k, set())
                if gone:
                    missing[k] = gone
    if not missing:
        return []
    # The first earlier ok poll that read each vanished value (only when there are any).
    first: dict[tuple, tuple[int, Any]] = {}
    ops = a.ops
    for i in sorted(a.reads):
        if ops[i].type != "ok":
            continue
        for k, lst in a.reads[i].items():
            gone = missing.get(k)
            if gone:
                for o, v in lst:
                    if v in gone and (k, v) not in first:
                        first[(k, v)] = (i, o)
    out = []
    for k in key_sort(missing):
        finals = a.final_readers.get(k, [])
        final_offsets = [o for i in finals for o, _ in a.reads.get(i, {}).get(k, ()) if isinstance(o, int)]
        last = max(final_offsets, default=None)
        for v in sorted(missing[k], key=lambda v: (first.get((k, v), (0, -1))[1] or 0, repr(v))):
            reader, o = first.get((k, v), (None, None))
            out.append({"key": k, "value": v, "offset": o, "reader": reader, "final-readers": finals[:8],
                        "final-last-offset": last, "hole": last is not None and o is not None and o < last})
    return out


def render(a: Analysis):
    def r(c: dict) -> dict:
        k, v, o = c["key"], c["value"], c["offset"]
        reader = c["reader"]
        finals = c["final-readers"]
        who = f"op {reader} (ok {a.ops[reader].f} by process {a.ops[reader].process})" if reader is not None else "an ok poll"
        if c["final-last-offset"] is None:
            subs = a.final_subs[:2]
            tail = ("returned nothing for the key at all"
                    + (f" (the final phase assigned it in op{'s' if len(subs) > 1 else ''} {', '.join(map(str, subs))})"
                       if subs else ""))
        elif c["hole"]:
            tail = f"read up to offset {c['final-last-offset']} but skipped it (a hole)"
        else:
            tail = f"ended at offset {c['final-last-offset']}, below it (the tail was cut)"
        text = (f"{who} read {v!r} from key {k!r}" + (f" at offset {o}" if o is not None else "")
                + f". After healing, the final reads of key {k!r} from the beginning of its log "
                + (f"(ops {', '.join(map(str, finals[:4]))}) " if finals else "")
                + f"{tail}: a value once visible vanished from the log.")
        ops = ([reader] if reader is not None else []) + list(finals[:4] or a.final_subs[:2])
        data = {kk: vv for kk, vv in c.items() if kk not in ("reader", "final-readers")}
        return {"explanation": text, "ops": ops, "reader": reader, **data}

    return r
