"""The history as compact columns for the report's script, plus short value text.

A million-op history must fit in an HTML file well under 50 MB, so the ops go
into the page as one JSON object of columns instead of one object per op:
repeated strings (processes, fs, keys, nodes, errors) become indices into small
tables, times become microsecond deltas, and each value becomes a short text
(`send x 5@12` for value 5 at offset 12; `poll {x: 5@12 6@13}`). Values longer
than a per-op limit are cut with a note; the limit shrinks further when the
whole column would exceed its byte budget. Values of ops that anomaly examples
cite are never cut.
"""

from __future__ import annotations

from typing import Any, Iterable

from prozess.history import Op

try:
    import orjson as _orjson

    def _dumps(obj: Any) -> bytes:
        return _orjson.dumps(obj)

except ImportError:  # pragma: no cover - orjson is a declared dependency
    import json as _json

    def _dumps(obj: Any) -> bytes:
        return _json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


__all__ = ["TYPE_CODES", "value_text", "op_keys", "encode_history", "script_json"]

TYPE_CODES = {"invoke": 0, "ok": 1, "fail": 2, "info": 3}
MAX_VALUE_CHARS = 240
VALUE_BUDGET_BYTES = 30_000_000


def _scalar(x: Any) -> str:
    if isinstance(x, str):
        return x
    if x is None:
        return "nil"
    if isinstance(x, (int, float, bool)):
        return str(x).lower() if isinstance(x, bool) else str(x)
    return _dumps(x).decode()


def _is_mops(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, list) and m and m[0] in ("send", "poll") for m in value)
    )


def _mop_text(m: list) -> str:
    if m[0] == "send":
        k = _scalar(m[1]) if len(m) > 1 else "?"
        v = m[2] if len(m) > 2 else None
        if isinstance(v, list) and len(v) == 2:
            off = "?" if v[0] is None else _scalar(v[0])
            return f"send {k} {_scalar(v[1])}@{off}"
        return f"send {k} {_scalar(v)}"
    if len(m) < 2 or m[1] is None:
        return "poll"
    polled = m[1]
    if isinstance(polled, dict):
        parts = []
        for k, pairs in polled.items():
            if isinstance(pairs, list):
                items = " ".join(
                    f"{_scalar(p[1])}@{_scalar(p[0])}" if isinstance(p, list) and len(p) == 2 else _scalar(p) for p in pairs
                )
            else:
                items = _scalar(pairs)
            parts.append(f"{k}: {items}" if items else f"{k}: -")
        return "poll {" + ", ".join(parts) + "}"
    return "poll " + _scalar(polled)


def value_text(f: str, value: Any) -> str:
    """A short, readable rendering of an op's value (Jepsen kafka micro-ops understood)."""
    if value is None:
        return ""
    if _is_mops(value):
        parts = [_mop_text(m) for m in value]
        if len(parts) == 1 and value[0][0] == f:
            return parts[0][len(f) :].lstrip()
        return "; ".join(parts)
    if isinstance(value, list) and f in ("assign", "subscribe"):
        return " ".join(_scalar(k) for k in value)
    return _scalar(value)


def op_keys(op: Op) -> list[str]:
    """The keys an op touches (send and poll micro-ops, assign/subscribe lists)."""
    value = op.value
    if _is_mops(value):
        keys: list[str] = []
        for m in value:
            if m[0] == "send" and len(m) > 1:
                keys.append(_scalar(m[1]))
            elif m[0] == "poll" and len(m) > 1 and isinstance(m[1], dict):
                keys.extend(_scalar(k) for k in m[1])
        return list(dict.fromkeys(keys))
    if op.f in ("assign", "subscribe") and isinstance(value, list):
        return [_scalar(k) for k in value]
    return []


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" … (+{len(text) - limit} chars)"


def _limit_for_budget(lengths: list[int], limit: int, budget: int) -> int:
    """The largest per-value limit <= `limit` whose total stays within `budget` chars."""
    total = sum(min(n, limit) for n in lengths)
    if total <= budget:
        return limit
    lo, hi = 8, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) + (24 if n > mid else 0) for n in lengths) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def encode_history(
    ops: Iterable[Op],
    *,
    keep: Iterable[int] = (),
    max_value_chars: int = MAX_VALUE_CHARS,
    value_budget: int = VALUE_BUDGET_BYTES,
) -> dict[str, Any]:
    """Columns of the history for the report's script (see the module docstring).

    `keep`: op indices whose values are never cut (those anomaly examples cite).
    """
    keep = set(keep)
    procs: dict[Any, int] = {}
    fs: dict[str, int] = {}
    keys: dict[str, int] = {}
    nodes: dict[str, int] = {}
    errs: dict[str, int] = {}
    dt: list[int] = []
    ty: list[int] = []
    pc: list[int] = []
    fc: list[int] = []
    kc: list[Any] = []
    nc: list[int] = []
    ec: list[int] = []
    vs: list[str] = []
    prev = 0
    any_node = any_err = False
    types = TYPE_CODES
    for op in ops:
        us = op.time // 1000
        dt.append(us - prev)
        prev = us
        ty.append(types[op.type])
        p = procs.get(op.process)
        if p is None:
            p = procs[op.process] = len(procs)
        pc.append(p)
        fi = fs.get(op.f)
        if fi is None:
            fi = fs[op.f] = len(fs)
        fc.append(fi)
        ks = op_keys(op)
        if not ks:
            kc.append(-1)
        else:
            ids = []
            for k in ks:
                ki = keys.get(k)
                if ki is None:
                    ki = keys[k] = len(keys)
                ids.append(ki)
            kc.append(ids[0] if len(ids) == 1 else ids)
        if op.node is not None:
            any_node = True
            ni = nodes.get(op.node)
            if ni is None:
                ni = nodes[op.node] = len(nodes)
            nc.append(ni)
        else:
            nc.append(-1)
        if op.error is not None:
            any_err = True
            e = _cut(_scalar(op.error), 300)
            ei = errs.get(e)
            if ei is None:
                ei = errs[e] = len(errs)
            ec.append(ei)
        else:
            ec.append(-1)
        vs.append(value_text(op.f, op.value))
    limit = _limit_for_budget([len(v) for i, v in enumerate(vs) if i not in keep], max_value_chars, value_budget)
    cut = 0
    for i, v in enumerate(vs):
        if len(v) > limit and i not in keep:
            vs[i] = _cut(v, limit)
            cut += 1
    data: dict[str, Any] = {
        "n": len(ty),
        "dt": dt,
        "ty": ty,
        "p": pc,
        "procs": list(procs),
        "f": fc,
        "fs": list(fs),
        "k": kc,
        "keys": list(keys),
        "v": vs,
        "cut": cut,
        "limit": limit,
    }
    if any_node:
        data["nd"] = nc
        data["nodes"] = list(nodes)
    if any_err:
        data["e"] = ec
        data["errs"] = list(errs)
    return data


def script_json(obj: Any) -> str:
    """JSON safe to place inside <script type="application/json"> (no "</" can close the tag)."""
    # "<" only ever occurs inside JSON strings, where \u003c means the same character.
    return _dumps(obj).replace(b"<", b"\\u003c").decode()
