"""Client adapters: one queue-client interface over confluent-kafka and kafka-python (see `base`)."""

from prozess.workloads.clients.base import (
    CLIENTS,
    ClientOpError,
    ClientOptions,
    KeyMap,
    QueueClient,
)
from prozess.workloads.clients.factory import make_client

__all__ = ["CLIENTS", "ClientOpError", "ClientOptions", "KeyMap", "QueueClient", "make_client"]
