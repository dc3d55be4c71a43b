"""The queue workload: Jepsen's kafka workload, in Python.

Ops (values as in `prozess.history`):

- `send`  `[["send", k, v], ...]`  — append unique, increasing values to keys;
- `poll`  `[["poll"]]`             — one consumer poll;
- `txn`   a mix of up to `max_txn_length` send/poll micro-ops, committed
  atomically (only when transactions are on);
- `assign` / `subscribe` `[k, ...]` — change what the consumer reads, at a
  low rate (`sub_p`), sometimes widened to keys with sent-but-unpolled
  offsets (Jepsen's poll-unseen);
- `crash` — abandon the client (completes `info`; the process is replaced).

Keys: a pool of `key_count` active keys; a key retires after
`max_writes_per_key` sends and a fresh key takes its place, so each key's log
stays short and many keys are exercised. Values per key count 1, 2, 3, ...;
every value is sent once. Keys map to topic-partitions through `KeyMap`.

Final phase (after the nemesis heals): every worker crashes its client,
assigns every key ever used from the beginning and polls until it has seen
each key up to the highest offset acknowledged during the run, or a
deadline passes — so that "unseen" really means lost, not "not read yet".

The generators here are pure (seeded rng, no I/O); `QueueWorkload.invoke`
is the only part that talks to Kafka, through a `QueueClient`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from prozess.workloads.options import WorkloadOptions
from prozess.generator import PENDING, Context
from prozess.workloads.clients.base import ClientOpError, ClientOptions, KeyMap, QueueClient
from prozess.workloads.clients.factory import make_client

__all__ = ["FinalPolls", "QueueGenerator", "QueueOptions", "QueueWorkload", "max_offsets"]


@dataclass
class QueueOptions(WorkloadOptions):
    KIND = "queue"
    """Knobs of the queue workload (saved in test.json under "workload_options")."""

    key_count: int = 8                 # active keys at any time
    max_writes_per_key: int = 512      # a key retires after this many sends
    partitions_per_topic: int = 8
    topic_prefix: str = "prozess"
    txn: bool = False                  # mixed txn ops (needs transactions on the client)
    max_txn_length: int = 4            # micro-ops per txn op when txn is on
    send_batch: int = 1                # sends per `send` op when txn is off (Jepsen: 1)
    sub_via: list[str] = field(default_factory=lambda: ["assign"])
    sub_p: float = 1 / 64              # probability that an op is assign/subscribe instead
    crash_clients: bool = True
    crash_interval_s: float = 30.0     # each process crashes about this often
    poll_timeout_s: float = 0.1
    op_timeout_s: float = 5.0
    final_time_limit_s: float = 30.0   # bound of the final catch-up phase
    final_poll_timeout_s: float = 0.5
    send_until_s: float | None = None  # stop sending after this many seconds of the main phase (polls go on)

    def validate(self) -> None:
        if self.key_count < 1:
            raise ValueError(f"key_count is {self.key_count}; it must be at least 1")
        if self.send_until_s is not None and not (isinstance(self.send_until_s, (int, float)) and self.send_until_s >= 0):
            raise ValueError(f"send_until_s is {self.send_until_s!r}; it must be a number of seconds >= 0 (or unset)")
        if self.max_writes_per_key < 1:
            raise ValueError(f"max_writes_per_key is {self.max_writes_per_key}; it must be at least 1")
        if self.partitions_per_topic < 1:
            raise ValueError(f"partitions_per_topic is {self.partitions_per_topic}; it must be at least 1")
        if not 1 <= self.max_txn_length <= 16:
            raise ValueError(f"max_txn_length is {self.max_txn_length}; it must be between 1 and 16")
        if not 1 <= self.send_batch <= 64:
            raise ValueError(f"send_batch is {self.send_batch}; it must be between 1 and 64")
        bad = [s for s in self.sub_via if s not in ("assign", "subscribe")]
        if bad or not self.sub_via:
            raise ValueError(f"sub_via is {self.sub_via!r}; it must name assign and/or subscribe")
        if not 0 <= self.sub_p <= 1:
            raise ValueError(f"sub_p is {self.sub_p}; it must be between 0 and 1")
        if self.crash_interval_s <= 0:
            raise ValueError(f"crash_interval_s is {self.crash_interval_s}; it must be positive")



def _offsets(value: Any) -> tuple[dict[str, int], dict[str, int]]:
    """(highest sent offset per key, highest polled offset per key) of a completed value, in one pass.

    A poll returns each partition's messages in log order, so a key's highest
    offset in one poll is its last (first and last are compared, to be safe).
    """
    sent: dict[str, int] = {}
    polled: dict[str, int] = {}
    if not isinstance(value, list):
        return sent, polled
    for mop in value:
        if not isinstance(mop, list) or not mop:
            continue
        if mop[0] == "send":
            if len(mop) == 3 and isinstance(mop[2], list) and mop[2] and mop[2][0] is not None:
                k, off = mop[1], mop[2][0]
                if off > sent.get(k, -1):
                    sent[k] = off
        elif mop[0] == "poll" and len(mop) == 2 and isinstance(mop[1], dict):
            for k, pairs in mop[1].items():
                if not pairs:
                    continue
                a, b = pairs[0][0], pairs[-1][0]
                off = a if b is None or (a is not None and a > b) else b
                if off is not None and off > polled.get(k, -1):
                    polled[k] = off
    return sent, polled


def max_offsets(f: str, value: Any) -> dict[str, int]:
    """Highest offset per key that a completed send/poll/txn value mentions (Jepsen's op->max-offsets)."""
    if f not in ("send", "poll", "txn"):
        return {}
    sent, polled = _offsets(value)
    for k, off in polled.items():
        if off > sent.get(k, -1):
            sent[k] = off
    return sent


def _poll_offsets(value: Any) -> dict[str, int]:
    return _offsets(value)[1]


class QueueGenerator:
    """The main-phase generator: sends, polls, txns, assign/subscribe, crashes.

    State shared by all processes (as Jepsen's generator): the active key
    pool, the next value per key, the highest offsets acknowledged (for the
    final phase) and the sent-but-unpolled keys (poll-unseen).
    """

    def __init__(self, options: QueueOptions, rng: random.Random):
        options.validate()
        self.o = options
        self.rng = rng
        self.active: list[int] = list(range(options.key_count))
        self.next_key = options.key_count
        self.writes: dict[int, int] = {}
        self.acked: dict[str, int] = {}     # key -> highest offset seen in an ok op (target of the final phase)
        self.sent: dict[str, int] = {}      # poll-unseen: highest ok send offset per key ...
        self.polled: dict[str, int] = {}    # ... and highest ok poll offset per key
        self.all_keys: set[int] = set(self.active)
        self.assigned: set[Any] = set()     # processes whose consumer has keys
        self.next_crash: float | None = None

    # -- op construction ----------------------------------------------------
    def _fresh_value(self) -> tuple[int, int]:
        k = self.rng.choice(self.active)
        n = self.writes.get(k, 0) + 1
        self.writes[k] = n
        if n >= self.o.max_writes_per_key:  # retire it; a fresh key takes its place
            i = self.active.index(k)
            self.active[i] = self.next_key
            self.all_keys.add(self.next_key)
            self.next_key += 1
        return k, n

    def _micro_ops(self) -> list[list[Any]]:
        o = self.o
        if o.txn:
            n = self.rng.randint(1, o.max_txn_length)
            mops: list[list[Any]] = []
            for _ in range(n):
                if self.rng.random() < 0.5:
                    mops.append(["poll"])
                else:
                    k, v = self._fresh_value()
                    mops.append(["send", str(k), v])
            return mops
        if self.rng.random() < 0.5:
            return [["poll"]]
        mops = []
        for _ in range(o.send_batch):
            k, v = self._fresh_value()
            mops.append(["send", str(k), v])
        return mops

    def _sub_op(self, extra_keys: list[str]) -> dict[str, Any]:
        f = self.rng.choice(self.o.sub_via)
        keys = [str(k) for k in self.active]
        if self.sent and self.rng.random() < 1 / 3:  # poll-unseen: widen to keys with unpolled sends
            keys.extend(k for k in sorted(self.sent, key=int) if k not in keys)
        keys.extend(k for k in extra_keys if k not in keys)
        return {"f": f, "value": keys}

    def op(self, ctx: Context) -> Any:
        o = self.o
        if o.crash_clients:
            if self.next_crash is None:
                self.next_crash = ctx.time + self.rng.uniform(0, 2 * o.crash_interval_s / ctx.concurrency)
            if ctx.time >= self.next_crash:
                self.next_crash += self.rng.uniform(0, 2 * o.crash_interval_s / ctx.concurrency)
                return {"f": "crash", "value": None}
        if ctx.process not in self.assigned:
            # A fresh client reads nothing until it is assigned: give it keys first.
            return self._sub_op([])
        if self.rng.random() < o.sub_p:
            return self._sub_op([])
        # With send_until_s, writes stop and consumers catch up (e.g. so a later loss rewrites no offset).
        mops = self._micro_ops() if o.send_until_s is None or ctx.time < o.send_until_s else [["poll"]]
        kinds = {m[0] for m in mops}
        f = "poll" if kinds == {"poll"} else "send" if kinds == {"send"} else "txn"
        return {"f": f, "value": mops}

    # -- feedback -----------------------------------------------------------
    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f = event.get("type"), event.get("f")
        if typ == "invoke":
            if f in ("assign", "subscribe"):
                self.assigned.add(event.get("process"))  # optimistic: no second assign while this one runs
            return
        if typ == "info":
            self.assigned.discard(event.get("process"))
            return
        if typ == "fail":
            if f in ("assign", "subscribe"):
                self.assigned.discard(event.get("process"))
            return
        if typ != "ok":
            return
        if f not in ("send", "poll", "txn"):
            return
        sent, polled = _offsets(event.get("value"))
        acked, my_sent, my_polled = self.acked, self.sent, self.polled
        for k, off in sent.items():
            if off > acked.get(k, -1):
                acked[k] = off
            if off > my_sent.get(k, -1):
                my_sent[k] = off
        for k, off in polled.items():
            if off > acked.get(k, -1):
                acked[k] = off
            if off > my_polled.get(k, -1):
                my_polled[k] = off
        if polled:
            for k in [k for k in polled if k in my_sent and my_polled[k] >= my_sent[k]]:
                del my_sent[k]  # caught up on this key
                del my_polled[k]

    def used_keys(self) -> list[str]:
        return [str(k) for k in sorted(self.all_keys)]


class FinalPolls:
    """One worker's final phase: crash, assign every key from the beginning, poll until caught up.

    `targets` maps keys to the highest acknowledged offset; the phase ends for
    this worker when its polls reach every target, or at the caller's time
    limit. If the new client cannot be set up, it tries again (bounded by the
    time limit, as every phase is).
    """

    def __init__(self, keys: list[str], targets: dict[str, int], options: QueueOptions):
        self.keys = keys
        self.targets = dict(targets)
        self.o = options
        self.stage = "crash"

    def op(self, ctx: Context) -> Any:
        if not self.targets:
            return None
        if self.stage == "crash":
            return {"f": "crash", "value": None}
        if self.stage == "assign":
            return {"f": "assign", "value": list(self.keys), "seek_to_beginning": True}
        if self.stage == "poll":
            return {"f": "poll", "value": [["poll"]], "poll_timeout_s": self.o.final_poll_timeout_s}
        return PENDING

    def update(self, ctx: Context, event: dict[str, Any]) -> None:
        typ, f = event.get("type"), event.get("f")
        if typ == "invoke":
            return
        if f == "crash":
            self.stage = "assign"
        elif f == "assign":
            self.stage = "poll" if typ == "ok" else "assign"
        elif f == "poll":
            if typ == "info":
                self.stage = "assign"  # new process, new client: assign again
            elif typ == "ok":
                for k, off in _poll_offsets(event.get("value")).items():
                    if k in self.targets and off >= self.targets[k]:
                        del self.targets[k]


class QueueWorkload:
    """Binds options, generators and a client library together for the runner."""

    name = "queue"

    def __init__(self, options: QueueOptions, client_name: str = "confluent", client_options: ClientOptions | None = None):
        options.validate()
        self.options = options
        self.client_name = client_name
        self.client_options = client_options or ClientOptions()
        self.keymap = KeyMap(options.topic_prefix, options.partitions_per_topic)
        self.main: QueueGenerator | None = None

    # -- generators ---------------------------------------------------------
    def generator(self, rng: random.Random) -> QueueGenerator:
        self.main = QueueGenerator(self.options, rng)
        return self.main

    def final_generator(self) -> Any:
        from prozess.generator import EachThread

        main = self.main
        keys = main.used_keys() if main else []
        targets = dict(main.acked) if main else {}
        return EachThread(lambda thread: FinalPolls(keys, targets, self.options))

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        """Keys an op touches (to create their topics before it runs)."""
        f, v = op.get("f"), op.get("value")
        if f in ("assign", "subscribe"):
            return list(v or [])
        if f in ("send", "txn") and isinstance(v, list):
            return [m[1] for m in v if m and m[0] == "send"]
        return []

    # -- clients ------------------------------------------------------------
    def open_client(self, process: int) -> QueueClient:
        import copy

        opts = copy.copy(self.client_options)
        opts.client_id = f"{self.client_options.client_id}-p{process}"
        if opts.transactions:
            opts.transactional_id = f"{self.client_options.client_id}-txn-p{process}"
        client = make_client(self.client_name, opts, self.keymap)
        client.open()
        return client

    def invoke(self, client: QueueClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        """Runs one op; returns (type, value, error). Never raises for Kafka errors."""
        f, value = op["f"], op.get("value")
        o = self.options
        try:
            if f == "send":
                if self.client_options.transactions:  # a transactional producer sends only inside transactions
                    return "ok", client.txn(value, o.op_timeout_s), None
                return "ok", client.send(value, o.op_timeout_s), None
            if f == "poll":
                t = op.get("poll_timeout_s", o.poll_timeout_s)
                return "ok", [["poll", client.poll(t)] for _ in value], None
            if f == "txn":
                return "ok", client.txn(value, o.op_timeout_s), None
            if f == "assign":
                client.assign(list(value), seek_to_beginning=bool(op.get("seek_to_beginning")), timeout=o.op_timeout_s)
                return "ok", value, None
            if f == "subscribe":
                client.subscribe(list(value), timeout=o.op_timeout_s)
                return "ok", value, None
            if f == "crash":
                return "info", value, "crash: client abandoned on purpose"
        except ClientOpError as e:
            if e.outcome == "info" and e.value is not None:
                return "info", e.value, e.error
            return e.outcome, value, e.error
        raise ValueError(f"queue workload has no op {f!r}")
