"""Jepsen EDN histories in and out, so published Jepsen histories check here and ours there.

Import turns EDN keywords into strings (`:send` -> "send", `:x` -> "x"),
stringifies every Kafka key (`3` -> "3") so that sends and poll maps always
agree, turns maps with keyword keys into JSON objects, and sets into sorted
lists. Export does the reverse for the parts Jepsen reads as keywords (`:type`,
`:f`, micro-op kinds, `:nemesis`) and writes keys that are decimal integers as
integers, the way Jepsen's kafka workload writes them; other keys stay strings.
Fields beyond index/time/type/process/f/value/node/error (Jepsen's `:rebalance-log`,
prozess's `final`) are kept in `Op.extra` both ways, and indices are kept as given
(strictly increasing, gaps allowed). So JSONL -> EDN -> JSONL is the identity on
prozess histories.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Iterable

from prozess.history_model import MAX_DEPTH, History, HistoryError, Op, check_not_blank, op_from_dict, read_regular_file

__all__ = ["read_edn", "write_edn", "loads_ops", "dumps_op"]

KAFKA_FS = frozenset({"send", "poll", "txn"})
KEY_LIST_FS = frozenset({"assign", "subscribe"})
_IDENT = re.compile(r"^[A-Za-z*!_?\-+.<>=][A-Za-z0-9*!_?\-+.<>=:#/]*$")
_INT = re.compile(r"^(0|-?[1-9][0-9]*)$")
_TAGS_READY = False


def _is_map(x: Any) -> bool:
    return isinstance(x, Mapping)


def _is_seq(x: Any) -> bool:
    """EDN vectors and lists (edn_format's ImmutableList, tuples), never strings."""
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _edn():
    """edn_format, with handlers for the record tags Jepsen prints histories with."""
    global _TAGS_READY
    import edn_format

    if not _TAGS_READY:
        for tag in ("jepsen.history.Op", "jepsen.history.op.Op"):
            edn_format.add_tag(tag, lambda m: m)
        _TAGS_READY = True
    return edn_format


# ---------------------------------------------------------------- import


def _plain(x: Any) -> Any:
    """EDN data -> JSON-able data: keywords and symbols to strings, sets to sorted lists."""
    edn = _edn()
    if isinstance(x, (edn.Keyword, edn.Symbol)):
        return x.name
    if _is_map(x):
        return {_key(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (frozenset, set)):
        items = [_plain(v) for v in x]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if _is_seq(x):
        return [_plain(v) for v in x]
    if isinstance(x, edn.Char):
        return str(x)
    if x is None or isinstance(x, (str, int, float)):
        return x
    if hasattr(x, "isoformat"):  # #inst
        return x.isoformat()
    return str(x)  # #uuid, decimals (1.5M) and other tagged scalars: their text, so every value is JSON-able


def _key(k: Any) -> str:
    """Any EDN value used as a key (map key or Kafka key) -> its string form."""
    edn = _edn()
    if isinstance(k, (edn.Keyword, edn.Symbol)):
        return k.name
    if isinstance(k, str):
        return k
    if isinstance(k, bool) or k is None:
        return str(k).lower() if k is not None else "nil"
    return str(_plain(k))


def _kafka_value(f: str, value: Any) -> Any:
    """Stringifies the Kafka keys inside a send/poll/txn/assign/subscribe value."""
    if value is None:
        return None
    if f in KEY_LIST_FS and isinstance(value, list):
        return [_key(k) for k in value]
    if f in KAFKA_FS and isinstance(value, list):
        out = []
        for mop in value:
            if not isinstance(mop, list) or not mop:
                out.append(mop)
                continue
            kind = mop[0]
            if kind == "poll" and len(mop) > 1 and _is_map(mop[1]):
                out.append(["poll", {_key(k): v for k, v in mop[1].items()}])
            elif kind == "send" and len(mop) > 1:
                out.append(["send", _key(mop[1]), *mop[2:]])
            else:
                out.append(mop)
        return out
    return value


def _too_deep(x: Any, limit: int) -> bool:
    """True when maps, vectors, lists or sets nest deeper than `limit` in `x` (iteratively, no recursion)."""
    stack = [(x, 0)]
    while stack:
        item, depth = stack.pop()
        if _is_map(item):
            children = list(item.keys()) + list(item.values())
        elif _is_seq(item) or isinstance(item, (set, frozenset)):
            children = list(item)
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def _op_from_edn(m: Any, position: int) -> Op:
    edn = _edn()
    if not _is_map(m):
        raise HistoryError(f"expected an op map, got {type(m).__name__}")
    if _too_deep(m, MAX_DEPTH + 1):
        raise HistoryError(f"nested more than {MAX_DEPTH} deep; no Kafka op is, so the file is damaged or not a history")
    d = {_key(k): v for k, v in m.items()}
    plain: dict[str, Any] = {}
    for field in ("index", "time", "type", "process", "f", "node"):
        if field in d:
            plain[field] = _plain(d[field])
    f = plain.get("f")
    if isinstance(f, str) and "value" in d:
        raw = d["value"]
        # Poll maps must keep their original key objects until _kafka_value stringifies them.
        if f in KAFKA_FS and _is_seq(raw):
            value = []
            for mop in raw:
                if _is_seq(mop) and mop and isinstance(mop[0], edn.Keyword) and mop[0].name == "poll" and len(mop) > 1 and _is_map(mop[1]):
                    value.append(["poll", {_key(k): _plain(v) for k, v in mop[1].items()}])
                elif _is_seq(mop) and mop and isinstance(mop[0], edn.Keyword) and mop[0].name == "send" and len(mop) > 1:
                    value.append(["send", _key(mop[1]), *(_plain(v) for v in mop[2:])])
                else:
                    value.append(_plain(mop))
            plain["value"] = value
        else:
            plain["value"] = _kafka_value(f, _plain(raw))
    elif "value" in d:
        plain["value"] = _plain(d["value"])
    if "error" in d:
        plain["error"] = _plain(d["error"])
    for field, v in d.items():  # every other field (Jepsen's :rebalance-log, ...) is kept as plain data
        if field not in plain and field != "value":
            plain[field] = _plain(v)
    return op_from_dict(plain, position=position)


def loads_ops(text: str, *, source: str | None = None) -> list[Op]:
    """Parses EDN text holding op maps, either one per top-level form or in one vector."""
    edn = _edn()
    try:
        forms = edn.loads_all(text)
    except Exception as e:  # edn_format raises several exception types on bad input
        raise HistoryError(f"not valid EDN ({str(e)[:200]}); pass a Jepsen history.edn", path=source) from None
    if len(forms) == 1 and _is_seq(forms[0]):
        forms = list(forms[0])
    ops = []
    for position, m in enumerate(forms):
        try:
            ops.append(_op_from_edn(m, position))
        except HistoryError as e:
            raise HistoryError(f"op {position}: {e.problem}", path=source) from None
    return ops


def read_edn(path: str | os.PathLike) -> History:
    """Reads a Jepsen EDN history file into a validated History."""
    path = Path(path)
    data = read_regular_file(path, what="Jepsen history.edn")
    check_not_blank(data, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HistoryError(f"not UTF-8 text (byte {e.start}); pass a Jepsen history.edn", path=path) from None
    del data
    ops = loads_ops(text, source=str(path))
    # Indices are kept as given (a filtered Jepsen history has gaps); an op without one gets its position.
    return History(ops, source=str(path))


# ---------------------------------------------------------------- export


def _edn_key(k: Any) -> Any:
    return int(k) if isinstance(k, str) and _INT.match(k) else k


def _edn_data(x: Any) -> Any:
    """JSON-able data -> EDN data: object keys that are identifiers become keywords."""
    edn = _edn()
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            out[edn.Keyword(k) if _IDENT.match(k) else k] = _edn_data(v)
        return out
    if isinstance(x, list):
        return [_edn_data(v) for v in x]
    return x


def _edn_value(f: str, value: Any) -> Any:
    edn = _edn()
    if value is None:
        return None
    if f in KEY_LIST_FS and isinstance(value, list):
        return [_edn_key(k) for k in value]
    if f in KAFKA_FS and isinstance(value, list):
        out = []
        for mop in value:
            if isinstance(mop, list) and mop and mop[0] == "poll" and len(mop) > 1 and isinstance(mop[1], dict):
                out.append([edn.Keyword("poll"), {_edn_key(k): _edn_data(v) for k, v in mop[1].items()}])
            elif isinstance(mop, list) and mop and mop[0] == "send" and len(mop) > 1:
                out.append([edn.Keyword("send"), _edn_key(mop[1]), *(_edn_data(v) for v in mop[2:])])
            elif isinstance(mop, list) and mop and mop[0] == "poll":
                out.append([edn.Keyword("poll"), *(_edn_data(v) for v in mop[1:])])
            else:
                out.append(_edn_data(mop))
        return out
    return _edn_data(value)


def dumps_op(op: Op) -> str:
    edn = _edn()
    K = edn.Keyword
    m: dict[Any, Any] = {
        K("index"): op.index,
        K("time"): op.time,
        K("type"): K(op.type),
        K("process"): K(op.process) if isinstance(op.process, str) else op.process,
        K("f"): K(op.f) if _IDENT.match(op.f) else op.f,
        K("value"): _edn_value(op.f, op.value),
    }
    if op.node is not None:
        m[K("node")] = op.node
    if op.error is not None:
        m[K("error")] = _edn_data(op.error)
    for k, v in (op.extra or {}).items():
        m[K(k) if _IDENT.match(k) else k] = _edn_data(v)
    return edn.dumps(m)


def write_edn(history: Iterable[Op], path: str | os.PathLike) -> None:
    """Writes one op map per line, as Jepsen writes history.edn."""
    with open(path, "w", encoding="utf-8") as fh:
        for op in history:
            fh.write(dumps_op(op))
            fh.write("\n")
