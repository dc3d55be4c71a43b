"""The history as compact columns for the report's script, plus short value text.

A million-op history must fit in an HTML file well under 50 MB, so the ops go
into the page as one JSON object of columns instead of one object per op:
repeated strings (processes, fs, keys, nodes, errors) become indices into small
tables, times become microsecond deltas, and each value becomes a short text
(`send x 5@12` for value 5 at offset 12; `poll {x: 5@12 6@13}`). An invocation
that completed ok carries no value (its completion has the same micro-ops plus
offsets and reads). Values longer than a per-op limit end in "…"; the limit
shrinks further when the whole object would exceed its byte budget. Values of
ops that anomaly examples cite are never cut.
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
TOTAL_BUDGET_BYTES = 44_000_000


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
    return _text_and_keys(f, value, 1 << 30)[0]


def op_keys(op: Op) -> list[str]:
    """The keys an op touches (send and poll micro-ops, assign/subscribe lists)."""
    keys = _text_and_keys(op.f, op.value, 0)[1]
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" … (+{len(text) - limit} chars)"


def _limit_for_budget(lengths: list[int], limit: int, budget: int) -> int:
    """The largest per-value limit <= `limit` whose total stays within `budget` chars."""
    import numpy as np

    arr = np.asarray(lengths, dtype=np.int64)
    if int(np.minimum(arr, limit).sum()) <= budget:
        return limit
    lo, hi = 8, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(np.minimum(arr, mid).sum() + 3 * int((arr > mid).sum())) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _text_and_keys(f: str, value: Any, cap: int) -> tuple[str, list[str] | str | None]:
    """(value text, touched keys) in one pass; fast paths for the Jepsen kafka shapes.

    Poll text stops growing past `cap` characters (the rest is counted, not built),
    so a poll of thousands of messages costs no more than a short one.
    """
    if value is None:
        return "", None
    if type(value) is list and value and type(value[0]) is list:
        if len(value) == 1:
            m = value[0]
            head = m[0] if m else None
            if head == "send" and len(m) == 3:
                k, v = m[1], m[2]
                if type(v) is list and len(v) == 2 and v[0] is not None:
                    body = f"{k} {v[1]}@{v[0]}"
                elif type(v) is list and len(v) == 2:
                    body = f"{k} {v[1]}@?"
                else:
                    body = f"{k} {_scalar(v)}"
                return (body if f == "send" else "send " + body), k if type(k) is str else _scalar(k)
            if head == "poll" and (len(m) == 1 or m[1] is None):
                return ("" if f == "poll" else "poll"), None
        if _is_mops(value):
            parts = []
            keys: list[str] = []
            size = 0
            for m in value:
                if m[0] == "send":
                    t = _mop_text(m)
                    if len(m) > 1:
                        keys.append(_scalar(m[1]))
                elif len(m) > 1 and isinstance(m[1], dict):
                    polled = m[1]
                    keys.extend(k if type(k) is str else _scalar(k) for k in polled)
                    if size > cap:
                        t = "poll {…}"
                    else:
                        items = []
                        budget = cap - size
                        for k, pairs in polled.items():
                            if budget <= 0:
                                items.append("…")
                                break
                            if isinstance(pairs, list):
                                seen = []
                                for pr in pairs:
                                    seen.append(f"{pr[1]}@{pr[0]}" if type(pr) is list and len(pr) == 2 else _scalar(pr))
                                    budget -= len(seen[-1]) + 1
                                    if budget <= 0:
                                        seen.append(f"… ({len(pairs)} msgs)")
                                        break
                                items.append(f"{k}: {' '.join(seen) or '-'}")
                            else:
                                items.append(f"{k}: {_scalar(pairs)}")
                        t = "poll {" + ", ".join(items) + "}"
                else:
                    t = _mop_text(m)
                parts.append(t)
                size += len(t) + 2
            if len(parts) == 1 and value[0][0] == f:
                text = parts[0][len(f) :].lstrip()
            else:
                text = "; ".join(parts)
            if not keys:
                return text, None
            if len(keys) == 1:
                return text, keys[0]
            return text, list(dict.fromkeys(keys))
    if type(value) is list and f in ("assign", "subscribe"):
        keys = [_scalar(k) for k in value]
        return " ".join(keys), keys or None
    return _scalar(value), None


def encode_history(
    ops: Iterable[Op],
    *,
    keep: Iterable[int] = (),
    max_value_chars: int = MAX_VALUE_CHARS,
    total_budget: int = TOTAL_BUDGET_BYTES,
) -> dict[str, Any]:
    """Columns of the history for the report's script (see the module docstring).

    `keep`: op positions whose values are never cut (those anomaly examples cite).
    Rows are named by position; `ix` (only when the history's indices have gaps)
    gives each row's own op index for display.
    `total_budget`: bytes the whole JSON may take; values are shortened to fit.
    The value of an invocation that completed ok is left out (0 in the column):
    its completion carries the same micro-ops, with offsets and reads.
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
    cap = max_value_chars + 64
    text_and_keys = _text_and_keys
    ix: list[int] = []  # op indices, sent only when they are not 0, 1, 2, ... (a history with gaps)
    for pos, op in enumerate(ops):
        index, time, typ, process, f, value, node, error = op[:8]
        ix.append(index)
        us = time // 1000
        dt.append(us - prev)
        prev = us
        ty.append(types[typ])
        p = procs.get(process)
        if p is None:
            p = procs[process] = len(procs)
        pc.append(p)
        fi = fs.get(f)
        if fi is None:
            fi = fs[f] = len(fs)
        fc.append(fi)
        text, ks = text_and_keys(f, value, 1 << 30 if pos in keep else cap)
        vs.append(text)
        if ks is None:
            kc.append(-1)
        elif type(ks) is str:
            ki = keys.get(ks)
            if ki is None:
                ki = keys[ks] = len(keys)
            kc.append(ki)
        else:
            ids = []
            for k in ks:
                ki = keys.get(k)
                if ki is None:
                    ki = keys[k] = len(keys)
                ids.append(ki)
            kc.append(ids[0] if len(ids) == 1 else ids)
        if node is not None:
            any_node = True
            ni = nodes.get(node)
            if ni is None:
                ni = nodes[node] = len(nodes)
            nc.append(ni)
        else:
            nc.append(-1)
        if error is not None:
            any_err = True
            e = _cut(_scalar(error), 300)
            ei = errs.get(e)
            if ei is None:
                ei = errs[e] = len(errs)
            ec.append(ei)
        else:
            ec.append(-1)
    # leave out the values of invocations that completed ok (the completion says more)
    open_inv: dict[Any, int] = {}
    nemesis = procs.get("nemesis", -1)
    vals: list[Any] = vs
    for i in range(len(ty)):
        p = pc[i]
        if p == nemesis:
            continue
        if ty[i] == 0:
            open_inv[p] = i
        else:
            j = open_inv.pop(p, -1)
            if j >= 0 and ty[i] == 1 and j not in keep:
                vals[j] = 0
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
        "cut": 0,
        "limit": None,
    }
    if ix and (ix[0] != 0 or ix[-1] != len(ix) - 1):
        data["ix"] = ix
    if any_node:
        data["nd"] = nc
        data["nodes"] = list(nodes)
    if any_err:
        data["e"] = ec
        data["errs"] = list(errs)
    # fit the values into what the other columns leave of the budget
    others = sum(len(_dumps(v)) for k, v in data.items() if k != "v") + 2 * len(data)
    value_budget = max(total_budget - others - 3 * len(vals), len(vals) * 8)
    lengths = [len(v) if v else 0 for v in vals]
    limit = _limit_for_budget(lengths, max_value_chars, value_budget)
    cut = 0
    for i, v in enumerate(vals):
        if v and len(v) > limit and i not in keep:
            vals[i] = v[:limit] + "…"
            cut += 1
    data["cut"] = cut
    data["limit"] = limit
    return data


def script_json(obj: Any) -> str:
    """JSON safe to place inside <script type="application/json"> (no "</" can close the tag)."""
    # "<" only ever occurs inside JSON strings, where \u003c means the same character.
    return _dumps(obj).replace(b"<", b"\\u003c").decode()
