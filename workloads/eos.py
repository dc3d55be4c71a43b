"""The exactly-once workload: consume-transform-produce with Kafka transactions, under rebalances.

Roles, by worker thread (thread 0 first):

- producer (thread 0): appends unique increasing integers to the input topic's
  partitions with an idempotent producer;
- transformers (threads 1..N, `transformers`): one consumer group, subscribed
  with cooperative-sticky assignment; each transaction polls a batch, writes
  value*2 to the same partition of the output topic, and adds the consumed
  offsets with `send_offsets_to_transaction` — the consume-transform-produce
  loop of KIP-98/KIP-447. The commit (or, with `abort_p`, an abort) is an op
  of its own, so a read that returns output before the commit was even
  requested is visible in the history. Transformers crash (abandon their
  client, leaving the group) about every `crash_interval_s`, so the group
  rebalances while transactions are open;
- readers (the next `readers` threads): consumers assigned to every output
  partition from the beginning, reading incrementally with the client's
  isolation level (read_committed; read_uncommitted is the unsafe twin).

Ops (JSON values; see `prozess.checkers.eos` for how they are checked):

    produce       invoke [[p, v], ...]                -> ok [[p, offset, v], ...]
    transform     invoke null                          -> ok {"txn": T, "in": [[p, off, v], ...],
                         "out": [[p, off, src_p, src_off, out_v], ...], "offsets": {"p": next},
                         "assigned": {"p": committed offset at hand-over, -1 none, null unknown},
                         "revoked": [p, ...]}      (T null when nothing was polled)
                  fail: the transaction was aborted for certain (the consumer rewound);
                  info: outcome unknown, the process is replaced (its txn never commits)
    commit        invoke {"txn": T} -> ok | fail (aborted for certain) | info (unknown)
    abort         invoke {"txn": T} -> ok | info
    read-output   invoke {"final": bool} -> ok {"final": bool, "records": {"p": [[off, src_p, src_off, out_v, T]]},
                         "ends": {"p": high watermark}}   (ends on final reads)
    read-input    invoke {"final": true} -> ok {"records": {"p": [[off, v], ...]}, "ends": {...}}
    group-offsets invoke null -> ok {"offsets": {"p": committed offset}}
    crash         -> info (the client is abandoned; a transformer leaves the group)

Output record values are `"src_p src_off out_v T"` (`prozess.eos_model.encode_output`),
so every record a reader sees names its input and its transaction.

Transaction ids: `txn_id_mode="thread"` reuses one transactional.id per
worker thread, so a replacement process fences its predecessor at
`init_transactions`; `"process"` gives every process a new one, so only the
group generation (KIP-447) fences zombies.

Final phase: thread 0 reads the whole input topic (`read-input`), the
transformers keep going until the group has committed every input record (or
`drain_time_s` passes), then thread 0 reads the whole output topic with a
fresh consumer (`read-output` final) and the group's committed offsets.

The pieces, one module each: options and thread roles (`eos_options`), the
generators, pure with a seeded rng and no I/O (`eos_generators`), the client,
the only part that talks to Kafka with confluent-kafka imported where used
(`eos_client`), and this module, the workload the runner drives.
"""

from __future__ import annotations

import random
from typing import Any

from prozess.workloads.adapter import invoke_op, require_confluent, run_prefix
from prozess.workloads.clients.base import ClientOptions, KeyMap
from prozess.workloads.eos_client import EosClient
from prozess.workloads.eos_generators import EosFinal, EosGenerator, Progress
from prozess.workloads.eos_options import EosOptions, role_of

__all__ = ["EosClient", "EosFinal", "EosGenerator", "EosOptions", "EosWorkload", "Progress", "make_workload", "role_of"]


class EosWorkload:
    """Binds options, generators and clients for the runner (the same shape as the queue workload).

    Topics: keys "0".."P-1" are the input topic's partitions and "P".."2P-1"
    the output topic's (one `KeyMap` topic each), so the runner's topic
    manager creates both with the run's replication factor and min ISR.
    """

    name = "eos"

    def __init__(self, options: EosOptions, client_name: str = "confluent", client_options: ClientOptions | None = None,
                 *, concurrency: int | None = None):
        options.validate()
        require_confluent("eos", client_name, " (librdkafka's transactional consumer-group API)")
        self.options = options
        self.client_options = client_options or ClientOptions()
        self.concurrency_hint = concurrency or options.min_concurrency()
        if self.concurrency_hint < options.min_concurrency():
            raise ValueError(f"the eos workload needs concurrency >= {options.min_concurrency()} "
                             f"(1 producer + {options.transformers} transformers + {options.readers} readers); "
                             f"got {self.concurrency_hint}")
        self.prefix = run_prefix(options, self.client_options)
        self.keymap = KeyMap(self.prefix, options.partitions)
        self.input_topic = self.keymap.topic_name(0)
        self.output_topic = self.keymap.topic_name(1)
        self.group_id = f"{self.prefix}-transformers"
        self.main: EosGenerator | None = None

    def generator(self, rng: random.Random) -> EosGenerator:
        self.main = EosGenerator(self.options, rng)
        return self.main

    def final_generator(self) -> EosFinal:
        return EosFinal(self.options, self.main.progress if self.main else None)

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        """Every op needs both topics (the runner's topic manager creates them once)."""
        return [str(k) for k in range(2 * self.options.partitions)]

    def open_client(self, process: int) -> EosClient:
        return EosClient(self, process)

    def invoke(self, client: EosClient, op: dict[str, Any]) -> tuple[str, Any, Any]:
        """Runs one op; returns (type, value, error). Never raises for Kafka errors."""
        return invoke_op("eos", _OPS, client, op, crash="crash: client abandoned on purpose")


def _commit(client: EosClient, value: Any) -> Any:
    client.commit(value["txn"])
    return value


def _abort(client: EosClient, value: Any) -> Any:
    client.abort(value["txn"])
    return value


# f -> the client call that runs it; its return value completes the op `ok`.
_OPS: dict[str, Any] = {
    "produce": lambda c, v: c.produce(v),
    "transform": lambda c, v: c.transform(),
    "commit": _commit,
    "abort": _abort,
    "read-output": lambda c, v: c.read_output(bool((v or {}).get("final"))),
    "read-input": lambda c, v: c.read_input(),
    "group-offsets": lambda c, v: c.group_offsets(),
}


def make_workload(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions,
                  *, concurrency: int | None = None) -> EosWorkload:
    """The runner's entry point: an `EosWorkload` from test.json's workload options."""
    return EosWorkload(EosOptions.from_dict(dict(workload_options)), client_name, client_options, concurrency=concurrency)
