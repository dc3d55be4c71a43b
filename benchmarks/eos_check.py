"""How fast the exactly-once and consumer-group checkers are on large synthetic histories.

    .venv/bin/python benchmarks/eos_check.py [n_transactions]

Builds a correct `eos` history (produce, transform, commit/abort, periodic
reads, final reads) and a correct `group` history of about the same size,
then times `check_eos` and `check_group`. Prints ops, seconds and ops/s.
"""

from __future__ import annotations

import random
import sys
import time

from prozess.checkers.eos import check_eos
from prozess.eos_model import transform_value
from prozess.checkers.group import check_group
from prozess.history import Op


class _B:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def call(self, process, f, inv, value, type="ok") -> None:
        self.ops.append(Op(len(self.ops), len(self.ops), "invoke", process, f, inv))
        self.ops.append(Op(len(self.ops), len(self.ops), type, process, f, value))


def eos_history(n_txn: int, partitions: int = 8, batch: int = 5, seed: int = 1) -> list[Op]:
    rng = random.Random(seed)
    b = _B()
    inp = [[] for _ in range(partitions)]
    out = [[] for _ in range(partitions)]
    pos = [0] * partitions
    v = 1
    reader_pos = [0] * partitions
    for t in range(n_txn):
        p = rng.randrange(partitions)
        recs = []
        for _ in range(batch):
            inp[p].append(v)
            recs.append([p, len(inp[p]) - 1, v])
            v += 1
        b.call(0, "produce", [[p, x] for p, _, x in recs], recs)
        tid = f"1.{t}"
        ins = [[p, o, inp[p][o]] for o in range(pos[p], len(inp[p]))]
        abort = rng.random() < 0.1
        outs = []
        for _, o, x in ins:
            out[p].append((o, transform_value(x), tid, abort))
            outs.append([p, len(out[p]) - 1, p, o, transform_value(x)])
        b.call(1, "transform", None, {"txn": tid, "in": ins, "out": outs, "offsets": {str(p): len(inp[p])}})
        if abort:
            b.call(1, "abort", {"txn": tid}, {"txn": tid})
        else:
            b.call(1, "commit", {"txn": tid}, {"txn": tid})
            pos[p] = len(inp[p])
        if t % 20 == 0:
            got = {}
            for q in range(partitions):
                rs = [[i, q, s, y, x] for i, (s, y, x, ab) in enumerate(out[q][reader_pos[q]:], reader_pos[q]) if not ab]
                reader_pos[q] = len(out[q])
                if rs:
                    got[str(q)] = rs
            b.call(2, "read-output", {"final": False}, {"final": False, "records": got})
    final = {str(q): [[i, q, s, y, x] for i, (s, y, x, ab) in enumerate(out[q]) if not ab] for q in range(partitions)}
    b.call(3, "read-input", {"final": True}, {"records": {str(q): [[o, x] for o, x in enumerate(inp[q])] for q in range(partitions)}})
    b.call(3, "read-output", {"final": True}, {"final": True, "records": final, "ends": {str(q): len(out[q]) for q in range(partitions)}})
    b.call(3, "group-offsets", None, {"offsets": {str(q): pos[q] for q in range(partitions)}})
    return b.ops


def group_history(n_polls: int, partitions: int = 8, members: int = 4, seed: int = 1) -> list[Op]:
    rng = random.Random(seed)
    b = _B()
    log = [0] * partitions
    committed = [-1] * partitions
    owner = {p: 1 + p % members for p in range(partitions)}
    position = {p: 0 for p in range(partitions)}
    fresh = {m: {str(p): -1 for p in range(partitions) if owner[p] == m} for m in range(1, members + 1)}
    for i in range(n_polls):
        p = rng.randrange(partitions)
        recs = [[p, log[p] + k, k] for k in range(3)]
        log[p] += 3
        b.call(0, "produce", [[p, k] for p, _, k in recs], recs)
        m = owner[p]
        got = {str(q): [[o, 0] for o in range(position[q], log[q])] for q in range(partitions) if owner[q] == m and position[q] < log[q]}
        for q in range(partitions):
            if owner[q] == m:
                position[q] = log[q]
        b.call(m, "poll", None, {"assigned": fresh.pop(m, {}), "revoked": [], "records": got})
        offs = {str(q): position[q] for q in range(partitions) if owner[q] == m}
        for q in offs:
            committed[int(q)] = position[int(q)]
        b.call(m, "commit", None, {"offsets": offs})
        if i % 50 == 0:
            b.call(0, "committed", {"final": False}, {"final": False, "offsets": {str(q): c for q, c in enumerate(committed) if c >= 0}})
    b.call(0, "read-input", {"final": True}, {"records": {}, "ends": {str(q): n for q, n in enumerate(log)}})
    b.call(0, "committed", {"final": True}, {"final": True, "offsets": {str(q): c for q, c in enumerate(committed) if c >= 0}})
    return b.ops


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for name, build, check in (("eos", eos_history, check_eos), ("group", group_history, check_group)):
        ops = build(n)
        t0 = time.perf_counter()
        r = check(ops)
        s = time.perf_counter() - t0
        print(f"{name:5s} ops={len(ops):>9,d} valid={r['valid']!s:5s} check={s:6.2f}s  {len(ops) / s:>10,.0f} ops/s")
        assert r["valid"] is True, r.get("anomaly-types")


if __name__ == "__main__":
    main()
