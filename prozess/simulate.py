"""A seeded simulator of CORRECT Kafka queue histories, and functions that break them.

`simulate(n_ops, ...)` plays a small in-memory Kafka: one append-only log per key
(a topic-partition), producers whose sends get increasing offsets, transactions
of up to `max_txn` micro-ops that commit atomically (leaving a marker offset as a
gap, as Kafka does), consumers that `assign` keys and poll forward from their
positions, operations that complete `info` (effect applied or not, the process is
then replaced, as in Jepsen) or `fail` (no effect), client crashes, and a final
phase where a fresh consumer reads every key from the beginning. An op's effect
happens at some point between its invocation and its completion, so polls do see
sends that are not acknowledged yet. The result satisfies every checker in
`prozess.checkers`.

`inject(ops, kind, seed=0)` returns a copy of a correct history with one anomaly
of `kind` (see `INJECTIONS`), or None when the history offers no place for it.
Each injection also names the other types its change unavoidably implies (a
duplicated value, for example, also makes some poll look non-monotonic); tests
assert that the expected type appears and nothing outside that set.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from prozess.history import Op

__all__ = ["simulate", "inject", "INJECTIONS", "Injection"]


def simulate(n_ops: int, *, keys: int = 20, processes: int = 10, seed: int = 0, txn: bool = True,
             info_rate: float = 0.01, fail_rate: float = 0.005, crash_rate: float = 0.002,
             sub_p: float = 1 / 32, max_txn: int = 4, poll_max: int = 8, final_polls: bool = True,
             sub_via: str = "assign") -> list[Op]:
    """A correct history of about `n_ops` ops (plus a final catch-up phase).

    Keys are the strings "0".."keys-1"; values are unique increasing ints per key.
    `sub_via` is "assign" or "subscribe" (the latter is recorded as f=subscribe; the
    simulated consumer still gets exactly the keys it asked for).
    """
    if n_ops < 0 or keys < 1 or processes < 1 or max_txn < 1:
        raise ValueError("simulate: n_ops >= 0, keys >= 1, processes >= 1 and max_txn >= 1 are required")
    rng = random.Random(seed)
    rand = rng.random
    randint = rng.randint
    key_names = [str(k) for k in range(keys)]
    logs: dict[str, list[tuple[int, int]]] = {k: [] for k in key_names}
    next_offset = {k: 0 for k in key_names}
    next_value = {k: 0 for k in key_names}
    ops: list[Op] = []
    now = [0]
    next_pid = [processes]

    def emit(type_: str, process: int, f: str, value: Any, extra: dict | None = None) -> None:
        now[0] += randint(1, 1000) * 1000
        ops.append(Op(len(ops), now[0], type_, process, f, value, None, None, extra))

    class W:
        __slots__ = ("pid", "state", "f", "inv", "result", "assigned", "pos", "fresh")

        def __init__(self, pid: int):
            self.pid = pid
            self.state = 0  # 0 idle, 1 invoked, 2 applied
            self.f = ""
            self.inv: Any = None
            self.result: Any = None
            self.assigned: list[str] = []
            self.pos: dict[str, int] = {}
            self.fresh = True

    workers = [W(p) for p in range(processes)]

    def new_invocation(w: W) -> tuple[str, Any]:
        if w.fresh or rand() < sub_p:
            w.fresh = False
            ks = sorted(rng.sample(key_names, randint(1, min(4, keys))), key=int)
            return sub_via, ks
        if rand() < crash_rate:
            return "crash", None
        n = randint(1, max_txn) if txn else 1
        mops = []
        for _ in range(n):
            if rand() < 0.5:
                k = key_names[randint(0, keys - 1)]
                v = next_value[k]
                next_value[k] = v + 1
                mops.append(["send", k, v])
            else:
                mops.append(["poll"])
        kinds = {m[0] for m in mops}
        f = "txn" if len(kinds) > 1 else ("send" if "send" in kinds else "poll")
        return f, mops

    def apply(w: W) -> Any:
        f = w.f
        if f in ("assign", "subscribe"):
            keep = {k: p for k, p in w.pos.items() if k in w.inv}
            for k in w.inv:
                if k not in keep:
                    keep[k] = max(0, len(logs[k]) - randint(0, 20))
            w.pos = keep
            w.assigned = list(w.inv)
            return w.inv
        if f == "crash":
            return None
        out = []
        pending = []
        for mop in w.inv:
            if mop[0] == "poll":
                got = {}
                for k in w.assigned:
                    log = logs[k]
                    p = w.pos[k]
                    n = randint(0, poll_max)
                    if n and p < len(log):
                        chunk = log[p:p + n]
                        w.pos[k] = p + len(chunk)
                        got[k] = [[o, v] for o, v in chunk]
                out.append(["poll", got])
            else:
                _, k, v = mop
                o = next_offset[k]
                next_offset[k] = o + 1
                pending.append((k, o, v))
                out.append(["send", k, [o, v]])
        if pending:
            for k, o, v in pending:  # commit: visible only now, after this op's own polls
                logs[k].append((o, v))
            if f == "txn" or len(w.inv) > 1:
                for k in {k for k, _, _ in pending}:
                    next_offset[k] += 1  # the transaction's commit marker takes an offset
        return out

    def replace(w: W) -> None:
        w.pid = next_pid[0]
        next_pid[0] += 1
        w.assigned = []
        w.pos = {}
        w.fresh = True

    def step(w: W) -> None:
        if w.state == 0:
            w.f, w.inv = new_invocation(w)
            emit("invoke", w.pid, w.f, w.inv)
            w.state = 1
            return
        if w.state == 1:
            if w.f == "crash":
                emit("info", w.pid, "crash", None)
                replace(w)
                w.state = 0
                return
            r = rand()
            if r < fail_rate and w.f != "poll":
                emit("fail", w.pid, w.f, w.inv)
                w.state = 0
                return
            if r < fail_rate + info_rate:
                if rand() < 0.5:
                    apply(w)
                emit("info", w.pid, w.f, w.inv)
                replace(w)
                w.state = 0
                return
            w.result = apply(w)
            if rand() < 0.5:
                w.state = 2
                return
        emit("ok", w.pid, w.f, w.result)
        w.state = 0

    while len(ops) < n_ops:
        step(workers[randint(0, processes - 1)])
    for w in workers:  # let everything in flight finish
        guard = 0
        while w.state != 0 and guard < 4:
            step(w)
            guard += 1
    if final_polls:
        pid = next_pid[0]
        next_pid[0] += 1
        final = {"final": True}  # the runner marks final-phase ops the same way
        emit("invoke", pid, "assign", key_names, final)
        emit("ok", pid, "assign", key_names, final)
        pos = {k: 0 for k in key_names}
        while any(pos[k] < len(logs[k]) for k in key_names):
            emit("invoke", pid, "poll", [["poll"]], final)
            got = {}
            for k in key_names:
                log = logs[k]
                p = pos[k]
                if p < len(log):
                    chunk = log[p:p + 200]
                    pos[k] = p + len(chunk)
                    got[k] = [[o, v] for o, v in chunk]
            emit("ok", pid, "poll", [["poll", got]], final)
    return ops


# ------------------------------------------------------------------ injections


class Injection:
    """One kind of anomaly to inject: the type it must produce and the types it may imply.

    `expect` is the type that must appear; `also` names equally good stand-ins (a future
    read between two ops of one process shows as G1c-process rather than G1c-realtime).
    """

    def __init__(self, kind: str, fn: Callable, expect: str, implies: frozenset = frozenset(),
                 also: frozenset = frozenset()):
        self.kind = kind
        self.fn = fn
        self.expect = expect
        self.also = also
        self.implies = implies

    @property
    def expected(self) -> frozenset:
        return self.also | {self.expect}

    @property
    def allowed(self) -> frozenset:
        return self.implies | self.expected

    def found_in(self, types) -> bool:
        """True if `types` holds the expected type (or a stand-in) and nothing it does not imply."""
        types = set(types)
        return bool(types & self.expected) and types <= self.allowed


def _copy(op: Op, **changes: Any) -> Op:
    return op._replace(**changes)


def _index(ops: list[Op]):
    """Per history: invocation positions, reads (op -> key -> list of [o, v]), writers (key, value) -> op."""
    inv = [-1] * len(ops)
    open_: dict = {}
    writer: dict = {}
    reads: dict = {}
    for i, op in enumerate(ops):
        if op.type == "invoke":
            open_[op.process] = i
            continue
        inv[i] = open_.pop(op.process, -1)
        if op.f not in ("send", "poll", "txn") or not op.value:
            continue
        for mop in op.value:
            if mop[0] == "send" and isinstance(mop[2], list):
                writer[(mop[1], mop[2][1])] = i
            elif mop[0] == "poll" and len(mop) > 1:
                for k, pairs in mop[1].items():
                    reads.setdefault(i, {}).setdefault(k, []).extend(pairs)
    return inv, writer, reads


def _final_pid(ops: list[Op]) -> Any:
    return ops[-1].process if ops else None


def _with_poll(op: Op, k: str, fn: Callable[[list], list], every: bool = False) -> Op:
    """A copy of op whose poll pairs for key k are replaced by fn(pairs), in the first poll
    micro-op that has k (or in every one, with `every`)."""
    value = []
    done = False
    for mop in op.value:
        if (every or not done) and mop[0] == "poll" and len(mop) > 1 and k in mop[1]:
            m = dict(mop[1])
            m[k] = fn([list(p) for p in m[k]])
            value.append(["poll", m])
            done = True
        else:
            value.append(mop)
    return _copy(op, value=value)


def _ok_polls(ops, reads, rng, exclude_pid=None, min_len=1):
    cands = [(i, k) for i, rs in reads.items() for k, lst in rs.items()
             if ops[i].type == "ok" and len(lst) >= min_len and ops[i].process != exclude_pid
             and sum(1 for m in ops[i].value if m[0] == "poll" and len(m) > 1 and k in m[1]) == 1]
    rng.shuffle(cands)
    return cands


def _last_read_state(ops: list[Op], reads: dict):
    """For each (op, key) read by an ok op: the (op, pair) the same process last read that key in, if the
    checker would still compare them (no assign in between dropping the key)."""
    last: dict = {}
    prev_of: dict = {}
    later: dict = {}
    for i, op in enumerate(ops):
        if op.type == "invoke":
            continue
        if op.f in ("assign", "subscribe") and op.type in ("ok", "info"):
            keep = set(op.value or ())
            lr = last.get(op.process, {})
            last[op.process] = {k: x for k, x in lr.items() if k in keep}
            continue
        rs = reads.get(i)
        if not rs:
            continue
        lr = last.setdefault(op.process, {})
        for k, lst in rs.items():
            if lst and k in lr:
                prev_of[(i, k)] = lr[k]
                later[lr[k][0], k] = i
        if op.type == "ok":
            for k, lst in rs.items():
                if lst:
                    lr[k] = (i, lst[-1])
    return prev_of, later


def _lost_write(ops, rng, top: bool):
    inv, writer, reads = _index(ops)
    by_key: dict = {}
    for (k, v), w in writer.items():
        if ops[w].type == "ok":
            o = next(m[2][0] for m in ops[w].value if m[0] == "send" and m[1] == k and m[2][1] == v)
            by_key.setdefault(k, []).append((o, v, w))
    keys = sorted(by_key)
    rng.shuffle(keys)
    for k in keys:
        vals = sorted(by_key[k])
        if len(vals) < 3:
            continue
        o, v, w = vals[-1] if top else vals[rng.randint(0, len(vals) - 2)]
        if top:
            # the highest value of the key must be this ok write's
            if any(rv[1] is not None and rv[0] > o for rs in reads.values() for rv in rs.get(k, ())):
                continue
        out = list(ops)
        for i, rs in reads.items():
            if any(p[1] == v for p in rs.get(k, ())):
                out[i] = _with_poll(out[i], k, lambda ps: [p for p in ps if p[1] != v], every=True)
        return out
    return None


def _inject_lost_write(ops, rng):
    return _lost_write(ops, rng, top=False)


def _inject_unseen(ops, rng):
    return _lost_write(ops, rng, top=True)


def _inject_g1a(ops, rng):
    inv, writer, reads = _index(ops)
    read_values = {(k, p[1]) for rs in reads.values() for k, lst in rs.items() for p in lst}
    cands = sorted({w for (k, v), w in writer.items() if ops[w].type == "ok" and ops[w].f == "send" and (k, v) in read_values})
    if not cands:
        return None
    w = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    out[w] = _copy(ops[w], type="fail")
    return out


def _inject_precommitted(ops, rng):
    inv, writer, reads = _index(ops)
    read_keys_by_pid: dict = {}
    for i, rs in reads.items():
        for k in rs:
            read_keys_by_pid.setdefault(ops[i].process, set()).add(k)
    cands = []
    for (k, v), w in writer.items():
        if ops[w].type == "ok" and k not in read_keys_by_pid.get(ops[w].process, ()) and inv[w] >= 0:
            cands.append((w, k, v))
    if not cands:
        return None
    cands.sort()
    w, k, v = cands[rng.randint(0, len(cands) - 1)]
    o = next(m[2][0] for m in ops[w].value if m[0] == "send" and m[1] == k and m[2][1] == v)
    out = list(ops)
    out[w] = _copy(ops[w], f="txn", value=list(ops[w].value) + [["poll", {k: [[o, v]]}]])
    out[inv[w]] = _copy(ops[inv[w]], f="txn", value=list(ops[inv[w]].value) + [["poll"]])
    return out


def _inject_poll_skip(ops, rng, mode: str):
    inv, writer, reads = _index(ops)
    prev_of, _ = _last_read_state(ops, reads)
    final = _final_pid(ops)
    cands = [(i, k) for (i, k) in prev_of if ops[i].type == "ok" and ops[i].process != final
             and len(reads[i][k]) >= 2 and sum(1 for m in ops[i].value if m[0] == "poll" and len(m) > 1 and k in m[1]) == 1]
    if not cands:
        return None
    cands.sort()
    i, k = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    if mode == "skip":
        out[i] = _with_poll(ops[i], k, lambda ps: ps[1:])
    else:
        prev_pair = list(prev_of[(i, k)][1])
        out[i] = _with_poll(ops[i], k, lambda ps: [prev_pair] + ps)
    return out


def _inject_int_poll(ops, rng, mode: str):
    inv, writer, reads = _index(ops)
    for i, k in _ok_polls(ops, reads, rng, exclude_pid=_final_pid(ops), min_len=3):
        out = list(ops)
        if mode == "skip":
            out[i] = _with_poll(ops[i], k, lambda ps: ps[:1] + ps[2:])
        else:
            out[i] = _with_poll(ops[i], k, lambda ps: ps[:2] + [ps[1]] + ps[2:])
        return out
    return None


def _inject_int_nonmonotonic_send(ops, rng):
    inv, writer, reads = _index(ops)
    cands = []
    for i, op in enumerate(ops):
        if op.type == "ok" and op.f in ("send", "txn") and inv[i] >= 0:
            ks = [m[1] for m in op.value if m[0] == "send"]
            dup = sorted({k for k in ks if ks.count(k) >= 2})
            if dup:
                cands.append((i, dup[0]))
    if not cands:
        return None
    i, k = cands[rng.randint(0, len(cands) - 1)]

    def swap(value):
        idx = [n for n, m in enumerate(value) if m[0] == "send" and m[1] == k][:2]
        value = list(value)
        value[idx[0]], value[idx[1]] = value[idx[1]], value[idx[0]]
        return value

    out = list(ops)
    out[i] = _copy(ops[i], value=swap(ops[i].value))
    out[inv[i]] = _copy(ops[inv[i]], value=swap(ops[inv[i]].value))
    return out


def _single_send(op: Op):
    if op.type == "ok" and op.f == "send" and len(op.value) == 1 and isinstance(op.value[0][2], list):
        return op.value[0][1], op.value[0][2][0], op.value[0][2][1]
    return None


def _inject_nonmonotonic_send(ops, rng):
    inv, writer, reads = _index(ops)
    last: dict = {}
    cands = []
    for i, op in enumerate(ops):
        if op.type == "invoke":
            continue
        if op.f in ("assign", "subscribe"):
            last.pop(op.process, None)
            continue
        s = _single_send(op)
        if s is None:
            if op.f in ("send", "txn"):
                last.pop(op.process, None)
            continue
        prev = last.get(op.process)
        if prev is not None and prev[1][0] == s[0]:
            cands.append((prev[0], i))
        last[op.process] = (i, s)
    if not cands:
        return None
    a, b = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    va, vb = ops[a].value[0], ops[b].value[0]
    out[a] = _copy(ops[a], value=[vb])
    out[b] = _copy(ops[b], value=[va])
    out[inv[a]] = _copy(ops[inv[a]], value=[["send", vb[1], vb[2][1]]])
    out[inv[b]] = _copy(ops[inv[b]], value=[["send", va[1], va[2][1]]])
    return out


def _log(ops, reads, writer):
    """key -> sorted [(offset, value)] from ok acks and all polls."""
    seen: dict = {}
    for (k, v), w in writer.items():
        if ops[w].type == "ok":
            for m in ops[w].value:
                if m[0] == "send" and m[1] == k and m[2][1] == v:
                    seen.setdefault(k, {})[m[2][0]] = v
    for rs in reads.values():
        for k, lst in rs.items():
            for o, v in lst:
                seen.setdefault(k, {})[o] = v
    return {k: sorted(d.items()) for k, d in seen.items()}


def _inject_duplicate(ops, rng):
    inv, writer, reads = _index(ops)
    final = _final_pid(ops)
    logs = _log(ops, reads, writer)
    keys = sorted(logs)
    rng.shuffle(keys)
    for k in keys:
        log = logs[k]
        if len(log) < 3:
            continue
        o_max, v_max = log[-1]
        last_poll = max((i for i, rs in reads.items() if ops[i].process == final and any(p[1] == v_max for p in rs.get(k, ()))), default=None)
        if last_poll is None:
            continue
        o_dup, v_dup = log[rng.randint(0, len(log) - 2)]
        out = list(ops)
        out[last_poll] = _with_poll(ops[last_poll], k, lambda ps: ps + [[o_max + 1, v_dup]])
        return out
    return None


def _inject_inconsistent(ops, rng):
    inv, writer, reads = _index(ops)
    logs = _log(ops, reads, writer)
    cands = []
    for i, op in enumerate(ops):
        s = _single_send(op)
        if s is None or inv[i] < 0:
            continue
        k, o, v = s
        log = logs.get(k, [])
        pos = next((n for n, (lo, lv) in enumerate(log) if lv == v), None)
        if pos:
            cands.append((i, k, log[pos - 1][0], v))
    if not cands:
        return None
    i, k, o_prev, v = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    out[i] = _copy(ops[i], value=[["send", k, [o_prev, v]]])
    return out


def _inject_future_read(ops, rng):
    inv, writer, reads = _index(ops)
    _, later = _last_read_state(ops, reads)
    logs = _log(ops, reads, writer)
    index = {k: {v: n for n, (o, v) in enumerate(log)} for k, log in logs.items()}
    cands = []
    for i, rs in reads.items():
        if ops[i].type != "ok" or ops[i].f != "poll":
            continue
        for k, lst in rs.items():
            if not lst or (i, k) in later or sum(1 for m in ops[i].value if m[0] == "poll" and len(m) > 1 and k in m[1]) != 1:
                continue
            n = index[k].get(lst[-1][1])
            if n is None or n + 1 >= len(logs[k]):
                continue
            o2, v2 = logs[k][n + 1]
            w = writer.get((k, v2))
            if w is not None and inv[w] > i and ops[w].type == "ok" and ops[w].process != ops[i].process:
                cands.append((i, k, o2, v2))
    if not cands:
        return None
    cands.sort()
    i, k, o2, v2 = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    out[i] = _with_poll(ops[i], k, lambda ps: ps + [[o2, v2]])
    return out


def _inject_offsets(ops, rng):
    inv, writer, reads = _index(ops)
    logs = _log(ops, reads, writer)
    readers: dict = {}
    for i, rs in reads.items():
        for k, lst in rs.items():
            for n, (o, v) in enumerate(lst):
                readers.setdefault((k, v), []).append((i, n))
    cands = []
    for k, log in logs.items():
        for n in range(len(log) - 1):
            (oa, va), (ob, vb) = log[n], log[n + 1]
            a, b = writer.get((k, va)), writer.get((k, vb))
            if a is None or b is None or _single_send(ops[a]) is None or _single_send(ops[b]) is None:
                continue
            if ops[a].process == ops[b].process or not (a < inv[b]):
                continue
            ra, rb = readers.get((k, va), []), readers.get((k, vb), [])
            if not ra or sorted((i, m + 1) for i, m in ra) != sorted(rb):
                continue
            if any(sum(1 for m in ops[i].value if m[0] == "poll" and len(m) > 1 and k in m[1]) != 1 for i, _ in ra):
                continue
            cands.append((k, oa, va, a, ob, vb, b))
    if not cands:
        return None
    k, oa, va, a, ob, vb, b = cands[rng.randint(0, len(cands) - 1)]
    out = list(ops)
    out[a] = _copy(ops[a], value=[["send", k, [ob, va]]])
    out[b] = _copy(ops[b], value=[["send", k, [oa, vb]]])

    def swap(ps):
        res = []
        for o, v in ps:
            if v == va:
                res.append([ob, va])
            elif v == vb:
                res.append([oa, vb])
            else:
                res.append([o, v])
        return sorted(res, key=lambda p: p[0])

    for i, rs in reads.items():
        if any(p[1] in (va, vb) for p in rs.get(k, ())):
            out[i] = _with_poll(out[i], k, swap, every=True)
    return out


def _inject_truncated(ops, rng, hole: bool):
    """The log of one key loses values that earlier ok polls read: the final reads no longer return them
    (its last few values with a cut tail, one value in the middle with a hole)."""
    final_pid = _final_pid(ops)
    _, _, reads = _index(ops)
    earlier: dict = {}
    for i, rs in reads.items():
        if ops[i].type == "ok" and ops[i].process != final_pid:
            for k, pairs in rs.items():
                earlier.setdefault(k, set()).update(p[1] for p in pairs)
    final_vals: dict = {}
    for i, rs in reads.items():
        if ops[i].process == final_pid and ops[i].type == "ok":
            for k, pairs in rs.items():
                final_vals.setdefault(k, []).extend(p[1] for p in pairs)
    cands = sorted(k for k, vs in final_vals.items() if len(vs) >= 3 and vs[-1] in earlier.get(k, ()))
    if hole:
        cands = [k for k in cands if any(v in earlier.get(k, ()) for v in final_vals[k][1:-1])]
    if not cands:
        return None
    k = rng.choice(cands)
    vs = final_vals[k]
    if hole:
        drop = {rng.choice([v for v in vs[1:-1] if v in earlier[k]])}
    else:
        n = 1
        while n < len(vs) - 1 and n < 3 and vs[-(n + 1)] in earlier[k]:
            n += 1
        drop = set(vs[-n:])
    out = list(ops)
    for i, rs in reads.items():
        if ops[i].process == final_pid and k in rs:
            out[i] = _with_poll(out[i], k, lambda pairs: [p for p in pairs if p[1] not in drop], every=True)
    return out


_SKIPS = frozenset({"int-poll-skip", "poll-skip", "int-nonmonotonic-poll", "nonmonotonic-poll"})

INJECTIONS: dict[str, Injection] = {inj.kind: inj for inj in [
    Injection("lost-write", _inject_lost_write, "lost-write", frozenset({"unseen", "poll-skip", "int-poll-skip"})),
    Injection("unseen", _inject_unseen, "unseen"),
    Injection("G1a", _inject_g1a, "G1a"),
    Injection("precommitted-read", _inject_precommitted, "precommitted-read"),
    Injection("poll-skip", lambda o, r: _inject_poll_skip(o, r, "skip"), "poll-skip"),
    Injection("nonmonotonic-poll", lambda o, r: _inject_poll_skip(o, r, "back"), "nonmonotonic-poll"),
    Injection("int-poll-skip", lambda o, r: _inject_int_poll(o, r, "skip"), "int-poll-skip"),
    Injection("int-nonmonotonic-poll", lambda o, r: _inject_int_poll(o, r, "repeat"), "int-nonmonotonic-poll"),
    Injection("int-nonmonotonic-send", _inject_int_nonmonotonic_send, "int-nonmonotonic-send"),
    Injection("nonmonotonic-send", _inject_nonmonotonic_send, "nonmonotonic-send",
              frozenset({"nonlinearizable-offsets", "G1c-realtime", "G1c-process"})),
    Injection("duplicate", _inject_duplicate, "duplicate",
              _SKIPS | {"nonmonotonic-send", "int-send-skip", "int-nonmonotonic-send"}),
    Injection("inconsistent-offsets", _inject_inconsistent, "inconsistent-offsets",
              frozenset({"duplicate", "nonlinearizable-offsets"})),
    Injection("G1c-realtime", _inject_future_read, "G1c-realtime", also=frozenset({"G1c-process"})),
    Injection("nonlinearizable-offsets", _inject_offsets, "nonlinearizable-offsets"),
    Injection("truncated-tail", lambda o, r: _inject_truncated(o, r, hole=False), "truncated-tail"),
    Injection("truncated-hole", lambda o, r: _inject_truncated(o, r, hole=True), "truncated-tail",
              frozenset({"int-poll-skip", "poll-skip"})),
]}


def inject(ops: list[Op], kind: str, seed: int = 0) -> list[Op] | None:
    """A copy of `ops` with one anomaly of `kind` (a key of INJECTIONS), or None if there is no place for it."""
    if kind not in INJECTIONS:
        raise ValueError(f"unknown injection {kind!r}; choose from {', '.join(INJECTIONS)}")
    return INJECTIONS[kind].fn(list(ops), random.Random(seed))
