"""Creating the workload's topics ahead of use, through the Kafka admin API.

Keys come and go (a key retires after a bounded number of writes), so topics
are created as the generator reaches new keys. `TopicManager.ensure(keys)`
blocks until every topic holding those keys exists, creating them (and the
next one ahead, so workers rarely wait) with the run's replication factor and
`min.insync.replicas`. Safe to call from many worker threads at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterable

from prozess.workloads.clients.base import KeyMap

__all__ = ["TopicManager", "TopicError"]

log = logging.getLogger("prozess.topics")


class TopicError(RuntimeError):
    """A topic could not be created in time; the message says which and why."""


class TopicManager:
    """Creates `KeyMap` topics on demand; remembers what exists."""

    def __init__(
        self,
        bootstrap: str,
        keymap: KeyMap,
        *,
        replication_factor: int = 3,
        min_insync_replicas: int | None = 2,
        config: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        timeout_s: float = 30.0,
        ahead: int = 1,
        per_topic: dict[int, dict[str, str]] | None = None,
    ):
        self.bootstrap = bootstrap
        self.keymap = keymap
        self.replication_factor = replication_factor
        self.config = dict(config or {})
        if min_insync_replicas is not None:
            self.config.setdefault("min.insync.replicas", str(min_insync_replicas))
        self.extra = dict(extra or {})
        self.per_topic = dict(per_topic or {})   # topic index -> configs over `config` (e.g. cleanup.policy)
        self.timeout_s = timeout_s
        self.ahead = ahead
        self.created: set[int] = set()
        self._lock = threading.Lock()
        self._admin: Any = None

    def admin(self) -> Any:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            conf = {"bootstrap.servers": self.bootstrap, "logger": log}
            conf.update(self.extra)
            self._admin = AdminClient(conf)
        return self._admin

    def topics_for(self, keys: Iterable[str | int]) -> set[int]:
        return {self.keymap.topic_index(k) for k in keys}

    def ensure(self, keys: Iterable[str | int]) -> None:
        """Makes sure the topics of `keys` exist (plus `ahead` more); fast when they do."""
        needed = self.topics_for(keys)
        if needed <= self.created:
            return
        with self._lock:
            missing = needed - self.created
            if not missing:
                return
            top = max(missing)
            want = sorted(missing | {i for i in range(top + 1, top + 1 + self.ahead)} - self.created)
            self._create(want)

    def _create(self, indices: list[int]) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        names = [self.keymap.topic_name(i) for i in indices]
        new = [
            NewTopic(n, num_partitions=self.keymap.partitions_per_topic, replication_factor=self.replication_factor,
                     config={**self.config, **self.per_topic.get(i, {})})
            for i, n in zip(indices, names)
        ]
        deadline = time.monotonic() + self.timeout_s
        futures = self.admin().create_topics(new, operation_timeout=self.timeout_s, request_timeout=self.timeout_s)
        for name, fut in futures.items():
            try:
                fut.result(timeout=max(0.1, deadline - time.monotonic()))
            except KafkaException as e:
                err = e.args[0]
                if err.name() != "TOPIC_ALREADY_EXISTS":
                    raise TopicError(f"creating topic {name}: {err.str()}") from e
            except Exception as e:
                raise TopicError(f"creating topic {name}: {type(e).__name__}: {e}") from e
        self._wait_visible(names, deadline)
        self.created.update(indices)

    def _wait_visible(self, names: list[str], deadline: float) -> None:
        """Waits until every partition of the new topics has a leader (bounded by the deadline)."""
        admin = self.admin()
        while True:
            md = admin.list_topics(timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            ready = True
            for n in names:
                t = md.topics.get(n)
                if t is None or t.error is not None or len(t.partitions) < self.keymap.partitions_per_topic:
                    ready = False
                    break
                if any(p.leader < 0 for p in t.partitions.values()):
                    ready = False
                    break
            if ready:
                return
            if time.monotonic() >= deadline:
                raise TopicError(f"topics {', '.join(names)} have no leader after {self.timeout_s:.0f}s")
            time.sleep(0.1)
