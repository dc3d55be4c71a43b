"""A queue client of the library a test names: the one place that knows every adapter.

Apart from `base` (the interface every adapter implements and imports), so the
adapters and the interface do not import each other in a circle.
"""

from __future__ import annotations

from prozess.workloads.clients.base import CLIENTS, ClientOptions, KeyMap, QueueClient

__all__ = ["make_client"]


def make_client(name: str, options: ClientOptions, keymap: KeyMap) -> QueueClient:
    """A new (not yet opened) client of library `name` ("confluent" or "kafka-python")."""
    if name == "confluent":
        from prozess.workloads.clients.confluent import ConfluentClient

        return ConfluentClient(options, keymap)
    if name in ("kafka-python", "kafka_python"):
        from prozess.workloads.clients.kafka_python import KafkaPythonClient

        return KafkaPythonClient(options, keymap)
    raise ValueError(f"unknown client {name!r}; choose one of: {', '.join(CLIENTS)}")
