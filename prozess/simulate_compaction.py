"""Simulated compaction workload histories: a correct compacted log, and injected violations.

    ops, test = simulate_compaction(n_ops=400, seed=1)
    bad = inject_compaction(ops, test, "drop-latest", seed=2)   # None when the history offers no place for it

The model plays what Kafka promises for a compacted partition: appends get
the next offset; the cleaner works on the log below the active segment
(here: below a random point under the end) and drops a record only when a
record of the same key with a higher offset exists in the cleaned range; a
tombstone gets a delete horizon when it is first cleaned and is dropped by a
later cleaning after `delete.retention.ms`. Ops interleave over several
processes (each op's effect falls between its invocation and completion);
writes may end `info` (applied or not) or `fail` (not applied); reads are
snapshots of the log from its start to the end. A final phase waits past
the retention, cleans, and reads every partition (`final`).

`inject_compaction` changes a correct history so that it shows one anomaly
type (`INJECTIONS` names the types each change must show, and those it may
also imply). The property tests check both ways with these.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from prozess.compaction_model import parse_read_record, tp_of_key
from prozess.history import Op

__all__ = ["INJECTIONS", "Injection", "inject_compaction", "simulate_compaction"]

MS = 1_000_000


class _Log:
    def __init__(self) -> None:
        self.recs: list[list[Any]] = []   # [offset, key, seq, tomb, horizon_ns or None]
        self.next = 0
        self.start = 0

    def append(self, key: int, seq: int, tomb: bool) -> int:
        off = self.next
        self.recs.append([off, key, seq, tomb, None])
        self.next += 1
        return off

    def clean(self, upto: int, now: int, retention: int) -> None:
        """Compacts offsets below `upto`: keeps the last record of each key in that range; ages tombstones."""
        last: dict[int, int] = {}
        for r in self.recs:
            if r[0] < upto:
                last[r[1]] = r[0]
        kept = []
        for r in self.recs:
            if r[0] >= upto:
                kept.append(r)
                continue
            if last[r[1]] != r[0]:
                continue                      # an older value of a key: compaction may drop it
            if r[3]:
                if r[4] is None:
                    r[4] = now + retention    # first cleaning sets the tombstone's delete horizon
                elif now >= r[4]:
                    continue                  # past delete.retention.ms: the tombstone goes
            kept.append(r)
        self.recs = kept

    def snapshot(self) -> tuple[int, int, list[list[int]]]:
        out = [[r[0], r[1], r[2], 1] if r[3] else [r[0], r[1], r[2]] for r in self.recs]
        return self.start, self.next, out


def simulate_compaction(n_ops: int = 300, *, keys: int = 6, tps: int = 2, processes: int = 4, seed: int = 0,
                        retention_ms: int = 50, info_rate: float = 0.03, fail_rate: float = 0.02,
                        delete_p: float = 0.2, read_p: float = 0.25, clean_p: float = 0.08) -> tuple[list[Op], dict[str, Any]]:
    """A correct history of about `n_ops` operations, and the test dict its checker needs."""
    rng = random.Random(seed)
    logs = [_Log() for _ in range(tps)]
    ops: list[Op] = []
    now = 0
    retention = retention_ms * MS
    seqs = [0] * keys
    pending: dict[int, dict[str, Any]] = {}
    proc_id = list(range(processes))

    def rec(typ: str, process: int, f: str, value: Any, error: Any = None) -> None:
        ops.append(Op(len(ops), now, typ, process, f, value, None, error))

    def tick() -> None:
        nonlocal now
        now += rng.randint(1, 3) * MS
        if rng.random() < clean_p:
            for log in logs:
                if log.next:
                    log.clean(rng.randint(0, log.next), now, retention)

    def invoke(t: int, final: bool = False, tp: int | None = None) -> None:
        p = proc_id[t]
        if tp is not None or rng.random() < read_p:
            tp = rng.randrange(tps) if tp is None else tp
            v = {"tp": tp, "final": final}
            pending[t] = {"f": "read-all", "value": v, "done": False}
            rec("invoke", p, "read-all", v)
            return
        k = rng.randrange(keys)
        seqs[k] += 1
        f = "delete" if rng.random() < delete_p else "put"
        v = {"key": k, "seq": seqs[k]}
        pending[t] = {"f": f, "value": v, "done": False}
        rec("invoke", p, f, v)

    def effect(t: int) -> None:
        o = pending[t]
        v = o["value"]
        roll = rng.random()
        if o["f"] == "read-all":
            if roll < fail_rate:
                o["outcome"] = ("fail", v, "simulated: not read")
            else:
                start, end, recs = logs[v["tp"]].snapshot()
                o["outcome"] = ("ok", {**v, "start": start, "end": end, "records": recs}, None)
        else:
            tp = tp_of_key(v["key"], tps)
            if roll < fail_rate:
                o["outcome"] = ("fail", v, "simulated: rejected")
            elif roll < fail_rate + info_rate:
                if rng.random() < 0.5:
                    logs[tp].append(v["key"], v["seq"], o["f"] == "delete")
                o["outcome"] = ("info", v, "simulated: timed out")
            else:
                off = logs[tp].append(v["key"], v["seq"], o["f"] == "delete")
                o["outcome"] = ("ok", {**v, "tp": tp, "offset": off}, None)
        o["done"] = True

    def complete(t: int) -> None:
        o = pending.pop(t)
        typ, value, err = o["outcome"]
        rec(typ, proc_id[t], o["f"], value, err)
        if typ == "info":
            proc_id[t] += processes

    def step(final: bool = False) -> None:
        t = rng.randrange(processes)
        if t not in pending:
            if not final:
                invoke(t)
        elif not pending[t]["done"]:
            effect(t)
        else:
            complete(t)
        tick()

    while len(ops) < n_ops:
        step()
    for _ in range(100_000):   # let every open op finish
        if not pending:
            break
        step(final=True)
    # final phase: wait past the retention, clean twice (ages then drops tombstones), read every partition
    now += 2 * retention
    for log in logs:
        log.clean(log.next, now, retention)
    now += 2 * retention
    for log in logs:
        log.clean(log.next, now, retention)
    for tp in range(tps):
        t = tp % processes
        invoke(t, final=True, tp=tp)
        o = pending[t]
        start, end, recs = logs[tp].snapshot()
        o["outcome"], o["done"] = ("ok", {**o["value"], "start": start, "end": end, "records": recs}, None), True
        now += MS
        complete(t)
    test = {"workload": "compaction", "workload_options": {"delete_retention_ms": retention_ms, "partitions": tps}}
    return ops, test


@dataclass(frozen=True)
class Injection:
    """An injected change: the types it must show, and the types it may also imply."""

    name: str
    shows: frozenset[str]
    may_also: frozenset[str] = frozenset()


INJECTIONS: dict[str, Injection] = {i.name: i for i in [
    Injection("drop-latest", frozenset({"lost-latest", "compacted-latest"})),
    Injection("truncate", frozenset({"lost-latest"}), frozenset({"compacted-latest"})),
    Injection("vanish-tombstone", frozenset({"tombstone-vanished-early"})),
    Injection("resurrect", frozenset({"resurrection"}), frozenset({"tombstone-vanished-early", "earlier-after-later"})),
    Injection("reorder", frozenset({"nonmonotonic-offsets"}),
              frozenset({"earlier-after-later", "lost-latest", "compacted-latest", "inconsistent-offsets"})),
    # moving a record to another offset may also move a tombstone away from its key's latest offset
    Injection("invert", frozenset({"earlier-after-later"}),
              frozenset({"inconsistent-offsets", "lost-latest", "compacted-latest", "resurrection", "tombstone-vanished-early"})),
    Injection("overwrite", frozenset({"inconsistent-offsets"}),
              frozenset({"lost-latest", "compacted-latest", "garbage-read", "earlier-after-later", "resurrection",
                         "tombstone-vanished-early"})),
]}


def _with_value(ops: list[Op], i: int, value: Any) -> None:
    ops[i] = ops[i]._replace(value=value)


def _writes(ops: list[Op]) -> dict[tuple[int, int], dict[str, Any]]:
    """(key, seq) -> {"inv": time, "done": time or None (info), "ok": bool, "tomb": bool, "offset"}."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for op in ops:
        if op.f not in ("put", "delete"):
            continue
        k = (op.value["key"], op.value["seq"])
        if op.type == "invoke":
            out[k] = {"inv": op.time, "done": None, "ok": False, "tomb": op.f == "delete", "offset": None}
        elif op.type == "ok":
            out[k].update(done=op.time, ok=True, offset=op.value.get("offset"))
        elif op.type == "fail":
            out[k]["done"] = op.time
    return out


def _reads(ops: list[Op], final: bool | None = None) -> list[int]:
    return [i for i, op in enumerate(ops) if op.f == "read-all" and op.type == "ok"
            and (final is None or bool(op.value.get("final")) == final)]


def _latest(ops: list[Op], upto: int) -> dict[int, tuple[int, list]]:
    """key -> (offset, record) of the highest offset any read or ack up to op `upto` showed, per key."""
    best: dict[int, tuple[int, Any]] = {}
    for op in ops[:upto]:
        if op.type != "ok":
            continue
        if op.f in ("put", "delete"):
            k, off = op.value["key"], op.value["offset"]
            if k not in best or off > best[k][0]:
                best[k] = (off, [off, k, op.value["seq"]] + ([1] if op.f == "delete" else []))
        elif op.f == "read-all":
            for x in op.value["records"]:
                if x[1] not in best or x[0] > best[x[1]][0]:
                    best[x[1]] = (x[0], x)
    return best


def inject_compaction(ops: list[Op], test: dict[str, Any], kind: str, seed: int = 0) -> list[Op] | None:
    """A copy of `ops` changed to show `kind` (see `INJECTIONS`), or None when there is no place for it."""
    if kind not in INJECTIONS:
        raise ValueError(f"unknown injection {kind!r}; choose from {', '.join(INJECTIONS)}")
    rng = random.Random(seed)
    ops = list(ops)
    writes = _writes(ops)
    retention = int(test["workload_options"]["delete_retention_ms"]) * MS
    if kind == "drop-latest":
        for i in rng.sample(_reads(ops, True), len(_reads(ops, True))):
            v = copy.deepcopy(ops[i].value)
            puts = [x for x in v["records"] if len(x) == 3 and writes.get((x[1], x[2]), {}).get("ok")
                    and 0 < v["records"].index(x) < len(v["records"]) - 1
                    and _no_unplaced_or_newer(ops, writes, x[1], x[0], ops[i].time)]
            if puts:
                x = rng.choice(puts)
                v["records"].remove(x)
                _with_value(ops, i, v)
                return ops
        return None
    if kind == "truncate":
        # the final read's log ends below an acknowledged put that is its key's last write
        last: dict[int, tuple[int, int]] = {}
        for (k, sq), w in writes.items():
            if w["done"] is None or w["ok"]:
                if k not in last or w["inv"] > writes[(k, last[k][1])]["inv"]:
                    last[k] = (k, sq)
        for i in _reads(ops, True):
            v = copy.deepcopy(ops[i].value)
            cands = [writes[ks]["offset"] for ks in last.values() if writes[ks]["ok"] and not writes[ks]["tomb"]
                     and ks[0] % _tps(test) == v["tp"] and writes[ks]["offset"] is not None and v["start"] < writes[ks]["offset"] < v["end"]]
            if cands:
                cut = rng.choice(cands)
                v["end"] = cut
                v["records"] = [x for x in v["records"] if x[0] < cut]
                _with_value(ops, i, v)
                return ops
        return None
    if kind == "vanish-tombstone":
        for i in _reads(ops, False):
            v = copy.deepcopy(ops[i].value)
            latest = _latest(ops, i + 1)
            for x in v["records"]:
                w = writes.get((x[1], x[2]))
                older_in_read = any(y[1] == x[1] and y[0] < x[0] for y in v["records"])
                if (len(x) == 4 and w and w["ok"] and latest.get(x[1], (None,))[0] == x[0] and not older_in_read
                        and ops[i].time < w["inv"] + retention and _no_unplaced_or_newer(ops, writes, x[1], x[0], ops[i].time)):
                    v["records"].remove(x)
                    _with_value(ops, i, v)
                    return ops
        return None
    if kind == "resurrect":
        for i in _reads(ops, True):
            v = copy.deepcopy(ops[i].value)
            present = {x[0] for x in v["records"]}
            for key, w in sorted(writes.items()):
                if not w["tomb"] or not w["ok"]:
                    continue
                latest = _latest(ops, len(ops)).get(key[0])
                if latest is None or latest[0] != w["offset"] or w["offset"] >= v["end"]:
                    continue
                if (w["offset"] is not None and key[0] % _tps(test) == v["tp"]
                        and _no_unplaced_or_newer(ops, writes, key[0], w["offset"], ops[i].time)):
                    older = [(ww["offset"], s) for (k2, s), ww in writes.items() if k2 == key[0] and ww["ok"]
                             and not ww["tomb"] and ww["offset"] is not None and ww["offset"] < w["offset"]
                             and ww["offset"] not in present]
                    if not older:
                        continue
                    off, s = max(older)
                    v["records"] = [x for x in v["records"] if x[0] != w["offset"]] + [[off, key[0], s]]
                    v["records"].sort(key=lambda x: x[0])
                    _with_value(ops, i, v)
                    return ops
        return None
    if kind == "reorder":
        for i in rng.sample(_reads(ops), len(_reads(ops))):
            v = copy.deepcopy(ops[i].value)
            if len(v["records"]) >= 2:
                j = rng.randrange(len(v["records"]) - 1)
                v["records"][j], v["records"][j + 1] = v["records"][j + 1], v["records"][j]
                _with_value(ops, i, v)
                return ops
        return None
    if kind == "invert":
        for i in rng.sample(_reads(ops), len(_reads(ops))):
            v = copy.deepcopy(ops[i].value)
            recs = v["records"]
            for a in range(len(recs)):
                for b in range(a + 1, len(recs)):
                    wa, wb = writes.get((recs[a][1], recs[a][2])), writes.get((recs[b][1], recs[b][2]))
                    if recs[a][1] == recs[b][1] and wa and wb and wa["done"] is not None and wa["ok"] and wa["done"] < wb["inv"]:
                        ra, rb = recs[a], recs[b]
                        recs[a], recs[b] = [ra[0]] + rb[1:], [rb[0]] + ra[1:]
                        _with_value(ops, i, v)
                        return ops
        return None
    if kind == "overwrite":
        for i in rng.sample(_reads(ops), len(_reads(ops))):
            v = copy.deepcopy(ops[i].value)
            recs = v["records"]
            for j, x in enumerate(recs):
                own = writes.get((x[1], x[2]))
                if not own or not own["ok"] or own["offset"] != x[0]:
                    continue   # only an acknowledged offset makes a second record there a contradiction
                for (k2, s), w in writes.items():
                    if w["ok"] and w["offset"] is not None and w["offset"] != x[0] and (k2, s) != (x[1], x[2]) and not w["tomb"] \
                            and k2 % _tps(test) == v["tp"]:
                        recs[j] = [x[0], k2, s]
                        _with_value(ops, i, v)
                        return ops
        return None
    raise AssertionError(kind)


def _tps(test: dict[str, Any]) -> int:
    return int(test["workload_options"]["partitions"])


def _no_unplaced_or_newer(ops: list[Op], writes: dict, key: int, off: int, until: int) -> bool:
    """True when every write of `key` invoked before `until` failed or was acknowledged at or below `off`."""
    for (k, s), w in writes.items():
        if k != key or w["inv"] > until:
            continue
        if w["ok"] and w["offset"] is not None and w["offset"] <= off:
            continue
        if w["done"] is not None and not w["ok"]:
            continue   # failed: never applied
        return False
    return True
