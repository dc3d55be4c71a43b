"""The nemesis contract: what the runner calls on a fault injector, owned by the nemesis package.

`prozess.nemesis.combined.Combined` and `prozess.nemesis.targeted.Targeted` implement
it, and so do the runner's no-fault nemesis and the fakes of the tests. The cluster a
nemesis acts on is given to `setup` as a `prozess.cluster.control.ClusterControl`.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Iterable, Protocol, runtime_checkable

if TYPE_CHECKING:
    from prozess.cluster.control import ClusterControl

__all__ = ["Nemesis"]


@runtime_checkable
class Nemesis(Protocol):
    """The fault injector as the runner sees it.

    The runner calls, in this order:

    - `setup(cluster, test)` once, before any op. `cluster` is the
      `ClusterControl` of the nodes (the `prozess.cluster.Cluster`; None for
      `--bootstrap` runs without a node backend); `test` is the test.json dict
      plus `"run_dir"` (a str; write `nemesis.jsonl` there, one JSON object per
      applied fault command).
    - `schedule(test, rng)` once: an iterable of `(delay_s, f, value)`. The
      runner sleeps `delay_s` (interruptibly), then records an `info` op
      (process "nemesis", this `f` and `value`), calls `invoke(f, value)`,
      and records its result as the completing `info` op. Iteration stops
      at the end of the main phase or on a stop; the iterable may be
      infinite and must draw randomness only from `rng` (seeded by the test).
      A fault is a pair of actions (e.g. "kill-start" then "kill-stop").
    - `invoke(f, value) -> (type, value)`: applies one action; `type` is
      normally "info". Raising is allowed: the runner records the error.
      It must return within a bounded time.
    - `heal_all()`: ends every fault this nemesis may have started
      (partitions, paused or killed processes, clocks, links). Idempotent and
      safe to call at any time, even before `setup` finished; the runner
      calls it after the main phase, on every exit path, and on Ctrl-C.
    - `teardown()`: releases anything `setup` made. Called once, last.

    Faults are selected by name from `spec.faults` through
    `prozess.nemesis.build_nemesis(faults, options) -> Nemesis`; `options` is
    `spec.nemesis` (e.g. interval_s).
    """

    def setup(self, cluster: ClusterControl | None, test: dict[str, Any]) -> None: ...

    def schedule(self, test: dict[str, Any], rng: random.Random) -> Iterable[tuple[float, str, Any]]: ...

    def invoke(self, f: str, value: Any) -> tuple[str, Any]: ...

    def heal_all(self) -> None: ...

    def teardown(self) -> None: ...
