"""The eos workload's options and the role of each worker thread (producer, transformers, readers)."""

from __future__ import annotations

from dataclasses import dataclass

from prozess.workloads.options import WorkloadOptions

__all__ = ["EosOptions", "role_of"]


@dataclass
class EosOptions(WorkloadOptions):
    KIND = "eos"
    """Knobs of the eos workload (test.json "workload_options")."""

    partitions: int = 4                 # partitions of the input and of the output topic
    transformers: int = 3               # N transformer processes in the consumer group
    readers: int = 2                    # read-output processes
    produce_batch: int = 4              # input records per produce op
    poll_max: int = 20                  # input records per transaction at most
    abort_p: float = 0.1                # probability that a transaction is aborted on purpose
    crash_clients: bool = True
    crash_interval_s: float = 20.0      # each transformer crashes (leaves the group) about this often
    crash_in_txn: bool = True           # a crash may abandon an open transaction (between transform and commit)
    crash_only_in_txn: bool = False     # a crash that is due waits for an open transaction: every crash abandons one
    txn_id_mode: str = "process"        # "process": new transactional.id per process; "thread": reused, fencing
    transactional: bool = True          # False: the unsafe twin — produce, then commit offsets (at-least-once)
    transaction_timeout_s: float = 10.0
    poll_timeout_s: float = 0.5
    op_timeout_s: float = 5.0
    drain_time_s: float = 40.0          # bound of the transformers' final catch-up
    final_time_limit_s: float = 70.0    # bound of the whole final phase
    topic_prefix: str = "prozess-eos"

    def validate(self) -> None:
        self.require_between("partitions", 1, 256)
        self.require_between("transformers", 1, 64)
        self.require_between("readers", 0, 64)
        if not 1 <= self.produce_batch <= 1000 or not 1 <= self.poll_max <= 10000:
            raise ValueError("produce_batch and poll_max must be positive (at most 1000 and 10000)")
        self.require_between("abort_p", 0, 1)
        if self.txn_id_mode not in ("process", "thread"):
            raise ValueError(f"txn_id_mode is {self.txn_id_mode!r}; it must be process or thread")
        if self.crash_only_in_txn and not self.crash_in_txn:
            raise ValueError("crash_only_in_txn needs crash_in_txn: crashes cannot be both only inside and never inside a transaction")
        if self.crash_interval_s <= 0 or self.op_timeout_s <= 0 or self.poll_timeout_s <= 0:
            raise ValueError("crash_interval_s, op_timeout_s and poll_timeout_s must be positive")
        if self.drain_time_s + self.transaction_timeout_s + 2 >= self.final_time_limit_s:
            raise ValueError(f"drain_time_s + transaction_timeout_s + 2 ({self.drain_time_s + self.transaction_timeout_s + 2}) must be "
                             f"below final_time_limit_s ({self.final_time_limit_s}), so the final reads start in time after the drain")


    @property
    def partitions_per_topic(self) -> int:
        """The runner records topics as (prefix, partitions per topic); both our topics have `partitions`."""
        return self.partitions

    def min_concurrency(self) -> int:
        return 1 + self.transformers + self.readers


def role_of(thread: int, o: EosOptions) -> str | None:
    """producer, transformer, reader or None (an idle thread) for a worker thread."""
    if thread == 0:
        return "producer"
    if thread <= o.transformers:
        return "transformer"
    if thread <= o.transformers + o.readers:
        return "reader"
    return None
