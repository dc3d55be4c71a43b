"""One linear pass over a Kafka queue history that every queue-shaped checker shares.

The queue, txn and offsets checkers all need the same facts: which op wrote each
value, which values each op read, and the per-key *version order* — the log as
reconstructed from every offset anyone saw. `analyze(ops)` computes them once
(plain dicts and lists, no pandas, no per-op objects) and `prozess.checkers.check`
hands the same `Analysis` to each checker.

Rules follow Jepsen's kafka checker (`jepsen.tests.kafka`):

- the version order of a key is built from the offsets of *all* polls (ok, info
  and fail alike: a poller must never return bad data, whatever its transaction
  does) and from the acknowledged offsets of sends that must have committed;
- a send "must have committed" when it is `ok`, or `info` and some value it sent
  was read by an `ok` poll (a write proven visible counts);
- dense indices number the offsets that hold a value (0, 1, 2, ...), ignoring the
  gaps that transaction markers leave in Kafka's offsets.
"""

from __future__ import annotations

from typing import Any, Iterable

CLIENT_FS = frozenset({"send", "poll", "txn"})
SUB_FS = frozenset({"assign", "subscribe"})


class VersionOrder:
    """The reconstructed log of one key.

    `offsets[i]` is the Kafka offset at dense index i and `by_index[i]` the value
    there (the first one seen when an offset holds several); `by_value` maps a
    value to its dense index (the last one, when a value is duplicated, as Jepsen
    does); `extra` maps an offset to the further values seen there.
    """

    __slots__ = ("offsets", "by_index", "by_value", "extra", "first_offset")

    def __init__(self, log: dict[int, Any], extra: dict[int, list[Any]]):
        offsets = sorted(log)
        self._fill(offsets, [log[o] for o in offsets], extra)

    @classmethod
    def from_sorted(cls, offsets: list[int], by_index: list[Any], extra: dict[int, list[Any]]) -> "VersionOrder":
        """The order of a log already sorted by offset (the columnar path builds it with numpy)."""
        vo = cls.__new__(cls)
        vo._fill(offsets, by_index, extra)
        return vo

    def _fill(self, offsets: list[int], by_index: list[Any], extra: dict[int, list[Any]]) -> None:
        self.offsets = offsets
        self.by_index = by_index
        self.by_value = {v: i for i, v in enumerate(by_index)}
        self.extra = extra
        # value -> lowest offset it appears at (for the realtime offsets checker)
        if len(self.by_value) == len(offsets) and not extra:
            self.first_offset = None  # same as offsets[by_value[v]]; computed on demand
        else:
            first: dict[Any, int] = {}
            for o, v in zip(offsets, by_index):
                first.setdefault(v, o)
                for x in extra.get(o, ()):
                    first.setdefault(x, o)
            self.first_offset = first

    def offset_of(self, v: Any) -> int | None:
        """The lowest offset value v appears at, or None if it was never seen with an offset."""
        if self.first_offset is not None:
            return self.first_offset.get(v)
        i = self.by_value.get(v)
        return None if i is None else self.offsets[i]

    def index_sets(self) -> list[list[Any]]:
        """All values at each dense index (conflicting offsets hold several)."""
        out = []
        for o, v in zip(self.offsets, self.by_index):
            more = self.extra.get(o)
            out.append([v] + more if more else [v])
        return out


class Analysis:
    """Facts about a Kafka queue history, indexed by op position.

    - `inv[i]`: position of the invocation of completion i (-1 if none).
    - `txns`: positions of completed (ok/info/fail) send/poll/txn ops, in order.
    - `writes[i]`: [(key, value, offset|None), ...] in micro-op order.
    - `reads[i]`: {key: [[offset, value], ...]} over all poll micro-ops of op i (the op's own
      lists when one micro-op read the key: treat as read-only).
    - `writer_of[key][value]`: the completion that sent it.
    - `read_ok[key]`: the set of values read by ok ops.
    - `failed[key]`: values sent by ops that failed.
    - `orders[key]`: the `VersionOrder`.
    - `conflicts[key]`: {offset: [values]} where two or more values share an offset.
    - `subs`: positions of completed assign/subscribe ops.
    """

    def __init__(self, ops: list):
        self.ops = ops
        self.inv: list[int] = [-1] * len(ops)
        self.txns: list[int] = []
        self.subs: list[int] = []
        self.writes: dict[int, list[tuple]] = {}
        self.reads: dict[int, dict[Any, list]] = {}
        self.writer_of: dict[Any, dict[Any, int]] = {}
        self.read_ok: dict[Any, set] = {}
        self.failed: dict[Any, set] = {}
        self.orders: dict[Any, VersionOrder] = {}
        self.conflicts: dict[Any, dict[int, list]] = {}
        self.rebalanced: dict[int, set] = {}     # op -> keys its rebalance-log names (Jepsen's :rebalance-log)
        self.final_keys: set = set()             # keys the final phase assigned (ops marked "final")
        self.final_values: dict[Any, set] = {}   # key -> values the final phase's polls read
        self.final_readers: dict[Any, list] = {}  # key -> final-phase polls that read it
        self.final_subs: list[int] = []          # the final phase's ok assign/subscribe ops
        self._scan: ReadScan | None = None
        self._s_map: dict[int, int] | None = None
        try:
            self._run()
        except TypeError:
            raise _offset_problem(ops) from None

    # ------------------------------------------------------------ building
    def _run(self) -> None:
        ops = self.ops
        inv = self.inv
        open_: dict[Any, int] = {}
        txns = self.txns
        writes = self.writes
        reads = self.reads
        writer_of = self.writer_of
        read_ok = self.read_ok
        failed = self.failed
        logs: dict[Any, dict[int, Any]] = {}
        extra: dict[Any, dict[int, list]] = {}

        def note(k, o, v):
            log = logs.get(k)
            if log is None:
                log = logs[k] = {}
            cur = log.get(o, _MISSING)
            if cur is _MISSING:
                log[o] = v
            elif cur != v:
                ek = extra.setdefault(k, {})
                more = ek.setdefault(o, [])
                if v not in more:
                    more.append(v)

        for i, (_, _, t, p, f, value, _, _, more) in enumerate(ops):
            if t == "invoke":
                open_[p] = i
                continue
            if p == "nemesis":
                continue
            inv[i] = open_.pop(p, -1)
            final = False
            if more:
                final = more.get("final") is True
                rl = more.get("rebalance-log")
                if rl and isinstance(rl, list):
                    self.rebalanced[i] = {str(k) for e in rl if isinstance(e, dict) for k in (e.get("keys") or ())}
            if f not in CLIENT_FS:
                if f in SUB_FS:
                    self.subs.append(i)
                    if final and t == "ok" and isinstance(value, list):
                        self.final_keys.update(str(k) for k in value)
                        self.final_subs.append(i)
                continue
            txns.append(i)
            if not value:
                continue
            ws = None
            rs = None
            for mop in value:
                kind = mop[0]
                if kind == "send":
                    k = mop[1]
                    if k.__class__ is not str:
                        k = str(k)
                    x = mop[2]
                    if x.__class__ is list:
                        o, v = x
                        if o is not None and o < 0:  # Kafka's "offset unknown" (-1), ignored as Jepsen does
                            o = None
                    else:
                        o, v = None, x
                    if ws is None:
                        ws = writes[i] = []
                    ws.append((k, v, o))
                    wk = writer_of.get(k)
                    if wk is None:
                        wk = writer_of[k] = {}
                    wk[v] = i
                    if t == "fail":
                        failed.setdefault(k, set()).add(v)
                elif kind == "poll" and len(mop) > 1 and mop[1]:
                    m = mop[1]
                    if rs is None:
                        rs = reads[i] = {}
                    for k, pairs in m.items():
                        if k.__class__ is not str:
                            k = str(k)
                        if not pairs:
                            continue
                        # The op's own pair lists are shared, never copied (they are read-only).
                        prev = rs.get(k)
                        rs[k] = pairs if prev is None else prev + pairs
                        log = logs.get(k)
                        if log is None:
                            log = logs[k] = {}
                        log_get = log.get
                        for o, v in pairs:
                            if o is None or o < 0:  # negative: no log position (ignored, as Jepsen does)
                                continue
                            cur = log_get(o, _MISSING)
                            if cur is _MISSING:
                                log[o] = v
                            elif cur != v:
                                note(k, o, v)
                        if t == "ok":
                            s = read_ok.get(k)
                            if s is None:
                                s = read_ok[k] = set()
                            s.update([pr[1] for pr in pairs])
                        if final:
                            self.final_values.setdefault(k, set()).update([pr[1] for pr in pairs])
                            self.final_readers.setdefault(k, []).append(i)
        # Sends that must have committed contribute their acknowledged offsets.
        for i, ws in writes.items():
            if ops[i].type == "fail" or not self.must_have_committed(i):
                continue
            for k, v, o in ws:
                if o is not None:
                    note(k, o, v)
        for k, log in logs.items():
            ek = extra.get(k, {})
            self.orders[k] = VersionOrder(log, ek)
            if ek:
                self.conflicts[k] = {o: [log[o]] + more for o, more in sorted(ek.items())}

    def must_have_committed(self, i: int) -> bool:
        """True if op i is ok, or info and some value it sent was read by an ok op."""
        t = self.ops[i].type
        if t == "ok":
            return True
        if t != "info":
            return False
        read_ok = self.read_ok
        for k, v, _ in self.writes.get(i, ()):
            s = read_ok.get(k)
            if s is not None and v in s:
                return True
        return False

    # ------------------------------------------------------------ the read scan
    def s_of(self, i: int) -> int:
        """A point inside op i's [invocation, completion] span, used by the txn graph: the
        completion for ok ops that read, the invocation for everything else (pure sends,
        info ops). Real-time and process order always increase it."""
        if self.ops[i].type == "ok" and i in self.reads:
            return i
        j = self.inv[i]
        return j if j >= 0 else i

    def s_map(self) -> dict[int, int]:
        """s_of for every completed send/poll/txn op, computed once."""
        if self._s_map is None:
            ops, inv, reads = self.ops, self.inv, self.reads
            m = {}
            for i in self.txns:
                if ops[i].type == "ok" and i in reads:
                    m[i] = i
                else:
                    j = inv[i]
                    m[i] = j if j >= 0 else i
            self._s_map = m
        return self._s_map

    @property
    def scan(self) -> "ReadScan":
        """One fused pass over every value read (computed once, on first use)."""
        if self._scan is None:
            self._scan = ReadScan(self)
        return self._scan

    # ------------------------------------------------------------ helpers
    def index_of(self, k: Any, v: Any) -> int | None:
        vo = self.orders.get(k)
        return None if vo is None else vo.by_value.get(v)

    def keys(self) -> list:
        ks = set(self.orders) | set(self.writer_of)
        return sorted(ks, key=_key_sort)


_MISSING = object()


def _offset_problem(ops: list) -> Exception:
    """The HistoryError for the first op whose offsets are not integers (or null)."""
    from prozess.history import HistoryError

    for op in ops:
        if op.type == "invoke" or op.f not in CLIENT_FS or not isinstance(op.value, list):
            continue
        for mop in op.value:
            if not isinstance(mop, list) or not mop:
                continue
            offs = []
            if mop[0] == "send" and len(mop) > 2 and isinstance(mop[2], list) and mop[2]:
                offs = [(mop[1], mop[2][0])]
            elif mop[0] == "poll" and len(mop) > 1 and isinstance(mop[1], dict):
                offs = [(k, pr[0]) for k, prs in mop[1].items() for pr in (prs or ()) if isinstance(pr, list) and pr]
            for k, o in offs:
                if o is not None and not (isinstance(o, int) and not isinstance(o, bool)):
                    return HistoryError(f"op {op.index}: offset {o!r} of key {k!r} is not an integer; offsets must be "
                                        "integers (or null when unknown) in every op — fix or drop this op")
    return HistoryError("an op's value has an unexpected shape (offsets and values must be [offset, value] pairs)")


class ReadScan:
    """Everything that needs one look at each value read, in a single pass over all polls.

    - `garbage`, `g1a`, `precommitted`: case dicts for the queue checker;
    - `int_skip`, `int_nonmono`: internal poll order cases (Jepsen's deltas of dense indices);
    - `wr_links`: wr dependencies between graph vertices (ok/info ops), for the txn checker;
    - `wr_windows`: (s(reader), s(writer)) of each wr edge that runs backwards in s order;
    - `rw`: (reader, writer, key, value, next value) from each reader's highest read of a key.
    """

    def __init__(self, a: Analysis):
        ops = a.ops
        inv = a.inv
        reads_map = a.reads
        writer_of = a.writer_of
        orders = a.orders
        failed = a.failed
        rebalanced = a.rebalanced
        empty: dict = {}
        garbage: list = []
        g1a: list = []
        pre: list = []
        skips: list = []
        nonmono: list = []
        windows: list = []
        rw: list = []
        links = 0
        s_cache: dict = {}
        for i in sorted(reads_map):
            rs = reads_map[i]
            t = ops[i].type
            ok = t == "ok"
            node = t != "fail"
            sr = i if ok else (inv[i] if inv[i] >= 0 else i)
            pre_done = False
            rk = rebalanced.get(i) if rebalanced else None
            for k, lst in rs.items():
                # Jepsen: a key the op's rebalance-log names was reassigned mid-op; its internal order says nothing.
                int_order = rk is None or k not in rk
                wk = writer_of.get(k, empty)
                vo = orders.get(k)
                by_value = vo.by_value if vo is not None else empty
                fk = failed.get(k) if ok else None
                i1 = None
                v1 = None
                hi = -1
                for o, v in lst:
                    w = wk.get(v, -1)
                    if w < 0:
                        garbage.append({"key": k, "value": v, "offset": o, "reader": i})
                    elif w == i:
                        if not pre_done:
                            pre.append({"key": k, "value": v, "offset": o, "op": i})
                            pre_done = True
                    elif node:
                        sw = s_cache.get(w)
                        if sw is None:
                            # A failed send is a vertex too (as in Jepsen and Elle): a poll that completed
                            # before it was even invoked is a wr + real-time cycle, not only G1a.
                            if ops[w].type == "ok" and w in reads_map:
                                sw = w
                            else:
                                sw = inv[w] if inv[w] >= 0 else w
                            s_cache[w] = sw
                        links += 1
                        if sw > sr:
                            windows.append((sr, sw))
                    if fk and v in fk:
                        g1a.append({"key": k, "value": v, "offset": o, "reader": i, "writer": w})
                    i2 = by_value.get(v)
                    if i2 is not None:
                        if i1 is not None and int_order:
                            d = i2 - i1
                            if d > 1:
                                skips.append({"type": "skip", "key": k, "values": [v1, v], "delta": d,
                                              "skipped": vo.by_index[i1 + 1: i2][:16], "op": i})
                            elif d < 1:
                                nonmono.append({"type": "nonmonotonic", "key": k, "values": [v1, v], "delta": d, "op": i})
                        if i2 > hi:
                            hi = i2
                    i1 = i2
                    v1 = v
                if node and 0 <= hi and vo is not None and hi + 1 < len(vo.by_index):
                    v2 = vo.by_index[hi + 1]
                    w = wk.get(v2, -1)
                    if w >= 0 and w != i and ops[w].type != "fail":
                        rw.append((i, w, k, vo.by_index[hi], v2))
        self.garbage = garbage
        self.g1a = g1a
        self.precommitted = pre
        self.int_skip = skips
        self.int_nonmono = nonmono
        self.wr_links = links
        self.wr_windows = windows
        self.rw = rw


def _key_sort(k: Any) -> tuple:
    """Sorts keys numerically when they are decimal strings ("2" < "10"), else by text."""
    s = str(k)
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


def key_sort(keys: Iterable[Any]) -> list:
    return sorted(keys, key=_key_sort)


def analyze(ops: Any) -> Analysis:
    """Builds the shared `Analysis` of a history (a `History` or a list of `Op`)."""
    return Analysis(ops_of(ops))


def ops_of(history: Any) -> list:
    if hasattr(history, "ops"):
        return history.ops
    return list(history)
