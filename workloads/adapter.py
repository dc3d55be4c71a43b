"""The runner-facing pieces every confluent-kafka workload repeats: client check, per-run prefix, op dispatch.

A workload binds options, generators and clients for the runner (`generator`,
`final_generator`, `keys_of`, `open_client`, `invoke`). The eos, group, mirror and
compaction workloads run only on the confluent client, name their topics from a
per-run prefix, and turn one op into a client call whose `ClientOpError` becomes the
op's completion; those shared steps live here once.
"""

from __future__ import annotations

from typing import Any, Callable

from prozess.workloads.clients.base import ClientOpError, ClientOptions

__all__ = ["invoke_op", "require_confluent", "run_prefix"]


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
