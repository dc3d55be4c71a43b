"""The workload contract: what the runner calls on a workload, owned by the workloads package.

A workload binds its options, its generators and a client library together
(`prozess.workloads.queue.QueueWorkload`, `eos.EosWorkload`, ...). The runner:

- creates the topics of the keys an op touches (`keys_of(op)`, named through
  `keymap`) before the op runs;
- opens one client per process (`open_client(process)`) and runs each op through
  it (`invoke(client, op) -> (type, value, error)`, type ok / fail / info);
- draws the main phase's ops from `generator(rng)` and, after the faults are
  healed, the final reads from `final_generator()`;
- reads `options.topic_prefix`, `options.partitions_per_topic`,
  `options.op_timeout_s` and `options.final_time_limit_s`.

A workload may also carry `topic_configs` (topic configs per topic index, e.g. a
compacted topic); the runner reads it with getattr. `prozess.workloads.registry`
names every workload and how to build it.
"""

from __future__ import annotations

import random
from typing import Any, Protocol, runtime_checkable

__all__ = ["Workload"]


@runtime_checkable
class Workload(Protocol):
    name: str
    options: Any
    keymap: Any  # a prozess.workloads.clients.base.KeyMap: key -> (topic, partition)

    def generator(self, rng: random.Random) -> Any:
        """The main phase's generator, drawing randomness only from rng."""

    def final_generator(self) -> Any:
        """The final phase's generator (every process re-reads what the main phase wrote)."""

    def keys_of(self, op: dict[str, Any]) -> list[str]:
        """The keys op touches, whose topics must exist before it runs."""

    def open_client(self, process: int) -> Any:
        """A new client for process; raising means the op certainly did not happen (fail)."""

    def invoke(self, client: Any, op: dict[str, Any]) -> tuple[str, Any, Any]:
        """Runs op through client: (type, value, error)."""
