"""The pieces every confluent-kafka workload repeats: client check, per-run prefix, op dispatch, client base, produce op.

A workload binds options, generators and clients for the runner (`generator`,
`final_generator`, `keys_of`, `open_client`, `invoke`). The eos, group, mirror and
compaction workloads run only on the confluent client, name their topics from a
per-run prefix, turn one op into a client call whose `ClientOpError` becomes the
op's completion, give each process a client holding the workload and its options,
and (but compaction) produce batches of unique increasing values; those shared
steps live here once.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from prozess.workloads.clients.base import ClientOpError, ClientOptions

__all__ = ["WorkloadClient", "invoke_op", "produce_op", "require_confluent", "run_prefix"]


def require_confluent(workload: str, client_name: str, why: str = "") -> None:
    """ValueError unless the run uses the confluent client (`why`: the API the workload needs from it)."""
    if client_name != "confluent":
        raise ValueError(f"the {workload} workload needs the confluent client{why}; got {client_name!r}")


def run_prefix(options: Any, client_options: ClientOptions) -> str:
    """Fresh topics per run: the runner may set topic_prefix itself; else the run's group id makes it unique."""
    run = client_options.group_id.replace("_", "-").lower()
    default = type(options)().topic_prefix
    return f"{options.topic_prefix}-{run}" if options.topic_prefix == default and run != "prozess" else options.topic_prefix


def invoke_op(workload: str, handlers: dict[str, Callable[[Any, Any], Any]], client: Any, op: dict[str, Any],
              *, crash: str | None = None, empty: Any = None) -> tuple[str, Any, Any]:
    """Runs one op through `handlers[f](client, value)`; returns (type, value, error), never raising for Kafka errors.

    A handler's return value completes the op `ok`; a `ClientOpError` completes it with its outcome
    and the value it carries (else the invoked value). `crash` is the error recorded for an `info`
    crash op (the runner then abandons the client); `empty` stands for a missing value.
    """
    f, value = op["f"], op.get("value")
    if value is None:
        value = empty
    try:
        handler = handlers.get(f)
        if handler is not None:
            return "ok", handler(client, value), None
        if f == "crash" and crash is not None:
            return "info", value, crash
    except ClientOpError as e:
        return e.outcome, e.value if e.value is not None else value, e.error
    raise ValueError(f"{workload} workload has no op {f!r}")


class WorkloadClient:
    """One process's clients of a workload: `w` the workload, `o` its options, `copts` the client options."""

    def __init__(self, workload: Any, process: int):
        self.w = workload
        self.o = workload.options
        self.copts = workload.client_options
        self.process = process


def produce_op(rng: random.Random, partitions: int, batch: int, next_value: int) -> tuple[dict[str, Any], int]:
    """A produce op of `batch` records [p, v] with unique increasing values from `next_value`, each to a random
    partition; returns (op, the next value after them). Generators call it with their seeded rng."""
    recs = []
    for _ in range(batch):
        recs.append([rng.randrange(partitions), next_value])
        next_value += 1
    return {"f": "produce", "value": recs}, next_value
