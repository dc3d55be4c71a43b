"""The one registry of workloads: name -> options class, builder and default checkers.

The test spec validates a workload's name and options through it, the runner builds
the workload through it, and the checkers' default for a workload is its row here.
That row is data in `prozess.workload_checkers` (checkers must not import workloads,
so the checker names live where both sides may read them); every name registered
here has one, and `tests/unit/test_workload_registry.py` holds the two together.

Each workload module is imported only when its entry is used, so validating a spec
or printing `prozess --help` loads no client code.

    entry("eos").options          # the options dataclass (from_dict, validate)
    build("eos", {"topic_prefix": "p"}, "confluent", client_options, concurrency=4)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from prozess.workload_checkers import DEFAULT_CHECKERS

if TYPE_CHECKING:
    from prozess.workloads.clients.base import ClientOptions
    from prozess.workloads.protocol import Workload

__all__ = ["REGISTRY", "WORKLOADS", "Entry", "build", "entry", "names"]

#: build(workload_options, client library, client options, concurrency=N) -> Workload
Builder = Callable[..., "Workload"]


@dataclass(frozen=True)
class Entry:
    """One workload: its name, its options class and builder in `prozess.workloads.<name>`, the checkers it gets.

    The builder is the module's `make_workload` unless the entry names its own."""

    name: str
    options_class: str
    _builder: Callable[[], Builder] | None = None

    def _module(self) -> Any:
        return importlib.import_module(f"prozess.workloads.{self.name}")

    @property
    def options(self) -> type:
        """The options dataclass (each has from_dict and validate)."""
        return getattr(self._module(), self.options_class)

    @property
    def builder(self) -> Builder:
        return self._builder() if self._builder is not None else self._module().make_workload

    @property
    def checkers(self) -> tuple[str, ...]:
        """The checkers that check this workload's histories unless the test names its own."""
        return DEFAULT_CHECKERS[self.name]


def _queue_builder() -> Builder:
    def build(workload_options: dict[str, Any], client_name: str, client_options: ClientOptions, *,
              concurrency: int = 1) -> Workload:
        """Jepsen's queue workload; a client with transactions on makes its ops transactions unless `txn` is set."""
        from prozess.workloads.queue import QueueOptions, QueueWorkload

        options = QueueOptions.from_dict(dict(workload_options))
        if client_options.transactions and "txn" not in workload_options:
            options.txn = True
        options.op_timeout_s = client_options.timeout_s
        return QueueWorkload(options, client_name, client_options)

    return build


_ENTRIES = (
    Entry("queue", "QueueOptions", _queue_builder),
    Entry("eos", "EosOptions"),
    Entry("group", "GroupOptions"),
    Entry("compaction", "CompactionOptions"),
    Entry("mirror", "MirrorOptions"),
)
REGISTRY: dict[str, Entry] = {e.name: e for e in _ENTRIES}
#: Every workload name, the default (queue) first.
WORKLOADS: tuple[str, ...] = tuple(REGISTRY)


def names() -> tuple[str, ...]:
    return WORKLOADS


def entry(name: str) -> Entry:
    """The workload called name; KeyError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOADS)}") from None


def build(name: str, workload_options: dict[str, Any], client_name: str, client_options: ClientOptions, *,
          concurrency: int = 1) -> Workload:
    """The workload `name` with these options (a dict of its options' fields) on client library client_name."""
    return entry(name).builder(dict(workload_options), client_name, client_options, concurrency=concurrency)
