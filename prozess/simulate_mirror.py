"""Simulated mirror workload histories: a correct MirrorMaker 2 between two logs, and injected violations.

    ops, test = simulate_mirror(n_batches=60, seed=1)
    bad = inject_mirror(ops, test, "lose", seed=2)

The model copies each source partition's log in order into the same
partition of the target, at least once: a simulated MM2 restart re-copies a
tail it had already copied (duplicates, as MM2 may produce). It records an
offset sync (source offset -> target offset) at least every `lag_max`
source offsets and after every re-copy, and translates a group's committed source offset c the way
MM2 3.5+ does: the latest sync (u, d) with u <= c gives d when u == c, else
d + 1, so a failing-over group never skips and rewinds at most `lag_max`.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from prozess.checkers.mirror import rewind_bound
from prozess.history import Op

__all__ = ["MIRROR_INJECTIONS", "inject_mirror", "simulate_mirror"]


def simulate_mirror(n_batches: int = 40, *, partitions: int = 2, batch: int = 3, lag_max: int = 5, seed: int = 0,
                    dup_p: float = 0.1, failovers: int = 2) -> tuple[list[Op], dict[str, Any]]:
    rng = random.Random(seed)
    ops: list[Op] = []
    now = 0
    src: list[list[int]] = [[] for _ in range(partitions)]
    tgt: list[list[int]] = [[] for _ in range(partitions)]
    copied = [0] * partitions                       # next source offset to copy
    frontier = [0] * partitions                     # the furthest `copied` has been
    syncs: list[list[tuple[int, int]]] = [[] for _ in range(partitions)]
    consumed = [0] * partitions                     # the group's committed source offset
    value = 0

    def op(typ: str, process: int, f: str, v: Any) -> None:
        nonlocal now
        now += 1_000_000
        ops.append(Op(len(ops), now, typ, process, f, v))

    def mirror_some() -> None:
        for p in range(partitions):
            if rng.random() < dup_p and copied[p] > 0:     # a restart re-copies a tail
                # from up to 3 records behind the furthest copy: restarts in a row, with nothing copied between
                # them, resume from the same committed point, not further back each time
                copied[p] = max(0, min(copied[p], frontier[p] - rng.randint(1, 3)))
            while copied[p] < len(src[p]) and rng.random() < 0.7:
                u = copied[p]
                tgt[p].append(src[p][u])
                d = len(tgt[p]) - 1
                last_u = syncs[p][-1][0] if syncs[p] else None
                # a sync at least every lag_max source offsets, and after every re-copy (the mapping moved)
                if last_u is None or u >= last_u + lag_max or u <= last_u or rng.random() < 0.2:
                    syncs[p].append((u, d))
                copied[p] += 1
                frontier[p] = max(frontier[p], copied[p])

    def translate(p: int, c: int) -> int | None:
        best = None
        for u, d in syncs[p]:
            if u <= c and (best is None or u >= best[0]):
                best = (u, d)
        if best is None:
            return None
        u, d = best
        return d if u == c else d + 1

    def read(side: list[list[int]]) -> dict[str, list]:
        return {str(p): [[o, v] for o, v in enumerate(side[p])] for p in range(partitions)}

    for i in range(n_batches):
        recs = []
        for _ in range(batch):
            value += 1
            recs.append([rng.randrange(partitions), value])
        op("invoke", 0, "produce", recs)
        out = []
        for p, v in recs:
            src[p].append(v)
            out.append([p, len(src[p]) - 1, v])
        op("ok", 0, "produce", out)
        mirror_some()
        if rng.random() < 0.3:
            for p in range(partitions):
                consumed[p] = rng.randint(consumed[p], len(src[p]))
            offs = {str(p): consumed[p] for p in range(partitions)}
            op("invoke", 1, "commit-source", {"offsets": offs})
            op("ok", 1, "commit-source", {"offsets": offs})
        if rng.random() < 0.2:
            op("invoke", 2, "read-target", {"final": False})
            op("ok", 2, "read-target", {"final": False, "records": read(tgt)})
    for _ in range(200):  # catch up
        mirror_some()
        if all(copied[p] >= len(src[p]) for p in range(partitions)):
            break
    for p in range(partitions):
        while copied[p] < len(src[p]):
            tgt[p].append(src[p][copied[p]])
            syncs[p].append((copied[p], len(tgt[p]) - 1))
            copied[p] += 1
    for k in range(failovers):
        offs = {str(p): translate(p, consumed[p]) for p in range(partitions)}
        op("invoke", 3 + k, "failover", None)
        op("ok", 3 + k, "failover", {"offsets": offs, "records": {}})
    op("invoke", 0, "read-source", {"final": True})
    op("ok", 0, "read-source", {"final": True, "records": read(src)})
    op("invoke", 2, "read-target", {"final": True})
    op("ok", 2, "read-target", {"final": True, "records": read(tgt)})
    # a restart re-copies a tail of up to 3 records, which may sit right after the sync a translation uses
    return ops, {"workload": "mirror", "workload_options": {"max_rewind": lag_max + 3}}


# kind -> (types it must show, types it may also imply)
MIRROR_INJECTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "lose": (frozenset({"mirror-lost"}), frozenset({"failover-skip", "failover-rewind"})),
    "reorder": (frozenset({"mirror-reordered"}), frozenset({"failover-skip", "failover-rewind"})),
    "garbage": (frozenset({"mirror-garbage"}), frozenset({"failover-skip", "failover-rewind"})),
    "skip": (frozenset({"failover-skip"}), frozenset()),
    "rewind": (frozenset({"failover-rewind"}), frozenset()),
}


def inject_mirror(ops: list[Op], test: dict[str, Any], kind: str, seed: int = 0) -> list[Op] | None:
    """A copy of `ops` changed to show `kind`, or None when the history has no place for it."""
    if kind not in MIRROR_INJECTIONS:
        raise ValueError(f"unknown injection {kind!r}; choose from {', '.join(MIRROR_INJECTIONS)}")
    rng = random.Random(seed)
    ops = list(ops)
    ti = max(i for i, o in enumerate(ops) if o.f == "read-target" and o.type == "ok" and o.value.get("final"))
    tv = copy.deepcopy(ops[ti].value)
    src = next(o.value for o in ops if o.f == "read-source" and o.type == "ok")
    parts = [p for p, rs in tv["records"].items() if len(rs) >= 2]
    if kind in ("lose", "reorder", "garbage"):
        if not parts:
            return None
        p = rng.choice(parts)
        rs = tv["records"][p]
        if kind == "lose":
            v = rng.choice(rs)[1]
            tv["records"][p] = [r for r in rs if r[1] != v]
        elif kind == "reorder":
            firsts: dict[int, int] = {}
            for j, (_, v) in enumerate(rs):
                firsts.setdefault(v, j)
            idx = sorted(firsts.values())
            pairs = [(a, b) for a, b in zip(idx, idx[1:])]
            if not pairs:
                return None
            a, b = rng.choice(pairs)
            va, vb = rs[a][1], rs[b][1]
            rs[a], rs[b] = [rs[a][0], vb], [rs[b][0], va]
            for j in range(len(rs)):   # later duplicate copies swap too, so the first copies stay inverted
                if j not in (a, b) and rs[j][1] in (va, vb):
                    rs[j][1] = va if rs[j][1] == vb else vb
        else:
            rs.append([rs[-1][0] + 1, 10**9])
        ops[ti] = ops[ti]._replace(value=tv)
        return ops
    # failover injections: move one partition's translated offset
    fi = [i for i, o in enumerate(ops) if o.f == "failover" and o.type == "ok"]
    commits = [o for o in ops if o.f == "commit-source" and o.type == "ok"]
    if not fi or not commits:
        return None
    last = commits[-1].value["offsets"]
    max_rewind = int(test["workload_options"]["max_rewind"])
    for p, c in last.items():
        rs = tv["records"].get(p) or []
        srcoff = {v: o for o, v in src["records"].get(p) or []}
        if kind == "skip":
            # a target offset whose record came from a source offset past the commit, with an unconsumed record before it
            cands = [o for o, v in rs if srcoff.get(v, -1) > c]
            if cands and c < len(src["records"].get(p) or []):
                t = cands[-1] if srcoff.get(next(v for o, v in rs if o == cands[-1]), -1) > c else None
                if t is not None:
                    i = fi[0]
                    ops[i] = ops[i]._replace(value={**ops[i].value, "offsets": {**ops[i].value["offsets"], p: t}})
                    return ops
        else:  # back past what MM2 may rewind a group committed at c (the checker's bound, from the source's end)
            bound = rewind_bound(c, max(srcoff.values(), default=-1) + 1, max_rewind)
            first = next((o for o, v in rs if c - srcoff.get(v, c) > bound), None)
            if first is not None:
                i = fi[0]
                ops[i] = ops[i]._replace(value={**ops[i].value, "offsets": {**ops[i].value["offsets"], p: first}})
                return ops
    return None
