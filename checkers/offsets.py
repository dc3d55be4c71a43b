"""Linearizable offsets: per key, the log's offset order must respect real time.

If send A was acknowledged before send B was invoked, and both wrote key k, then
A's value must sit at a lower offset of k than B's. An offset here is the lowest
offset at which anyone saw the value — the send's own acknowledgement or any poll —
so a poll that observes the log in an order contradicting real time is caught too.

One linear sweep over the history: keep, per key, the highest offset among sends
that have completed so far; when a send is invoked, every offset it got must be
above that. Sends that failed are ignored; info sends take part (as the later op
only, since they never completed) when their value was seen with an offset.
"""

from __future__ import annotations

from typing import Any

from prozess.checkers.analysis import Analysis, analyze, key_sort
from prozess.checkers.result import build, entry, unknown

KIND = "nonlinearizable-offsets"


def violations(a: Analysis) -> list[dict]:
    if hasattr(a, "columnar_offset_violations"):  # an Analysis built from columns sweeps with numpy
        return a.columnar_offset_violations()
    ops = a.ops
    orders = a.orders
    # Positions compare within one key only: the dense index when no value of the key is
    # duplicated (same order as offsets), else the lowest offset the value was seen at.
    pos_of: dict = {}
    for k, vo in orders.items():
        pos_of[k] = (vo.by_value, vo.offsets) if vo.first_offset is None else (vo.first_offset, None)
    ranges: dict[int, dict] = {}  # op -> key -> [min pos, max pos, value at min, value at max]
    for i, ws in a.writes.items():
        t = ops[i].type
        if t == "fail" or (t == "info" and not a.must_have_committed(i)):
            continue
        r: dict = {}
        for k, v, _ in ws:
            pk = pos_of.get(k)
            if pk is None:
                continue
            o = pk[0].get(v)
            if o is None:
                continue
            cur = r.get(k)
            if cur is None:
                r[k] = [o, o, v, v]
            else:
                if o < cur[0]:
                    cur[0], cur[2] = o, v
                if o > cur[1]:
                    cur[1], cur[3] = o, v
        if r:
            ranges[i] = r
    if not ranges:
        return []
    inv = a.inv
    starts = {}
    for i in ranges:
        j = inv[i]
        if j >= 0:
            starts[j] = i
    positions = sorted(list(starts) + [i for i in ranges if ops[i].type == "ok"])
    done: dict[Any, tuple] = {}  # key -> (max offset, op, value)
    out = []
    for pos in positions:
        b = starts.get(pos)
        if b is not None:
            for k, (lo, _, vlo, _) in ranges[b].items():
                d = done.get(k)
                if d is not None and lo <= d[0] and d[1] != b:
                    dense = pos_of[k][1]
                    o1, o2 = (dense[d[0]], dense[lo]) if dense is not None else (d[0], lo)
                    out.append({"key": k, "ops": [d[1], b], "offsets": [o1, o2], "values": [d[2], vlo],
                                "invoked": pos})
            continue
        # a completion of an ok writer
        for k, (_, hi, _, vhi) in ranges[pos].items():
            d = done.get(k)
            if d is None or hi > d[0]:
                done[k] = (hi, pos, vhi)
    return out


def check(history: Any, test: dict | None = None, analysis: Analysis | None = None) -> dict:
    """Linearizable offsets checker; reports the first violating pair per key (and the total count)."""
    a = analysis if analysis is not None else analyze(history)
    if not any(o is not None for ws in a.writes.values() for _, _, o in ws) and not a.orders:
        return unknown("no send has a known offset: nothing to order")
    cases = violations(a)
    found = {}
    if cases:
        first_per_key: dict = {}
        for c in cases:
            first_per_key.setdefault(c["key"], c)
        ordered = [first_per_key[k] for k in key_sort(first_per_key)]
        others = [c for c in cases if first_per_key[c["key"]] is not c]

        def render(c: dict) -> dict:
            x, y = c["ops"]
            ox, oy = c["offsets"]
            vx, vy = c["values"]
            ex = (f"op {x} (process {a.ops[x].process}) sent {vx!r} to key {c['key']!r} and was acknowledged before "
                  f"op {y} (process {a.ops[y].process}) was invoked (index {c['invoked']}), so {vx!r} must precede "
                  f"{vy!r} in the log; however {vy!r} is at offset {oy} and {vx!r} at offset {ox}: a contradiction.")
            return {"explanation": ex, "ops": [x, y], "key": c["key"], "offsets": [ox, oy], "values": [vx, vy]}

        found[KIND] = entry(KIND, ordered + others, render)
        found[KIND]["count"] = len(cases)
    return build(found, (), **{"keys": len(a.orders)})
