"""Every anomaly type any checker here reports -> its one-line definition.

The queue, txn and offsets definitions (`result.py`) win where the eos and group
checkers reuse a name (G1a). Each checker module is imported plainly: one that
cannot be imported is a broken installation and fails here, loudly, instead of
leaving its anomaly names unknown.
"""

from __future__ import annotations

from prozess.checkers import compaction, eos, group, mirror
from prozess.checkers.result import DEFINITIONS as _QUEUE_DEFINITIONS

__all__ = ["DEFINITIONS"]

DEFINITIONS: dict[str, str] = {**eos.DEFINITIONS, **group.DEFINITIONS, **compaction.DEFINITIONS, **mirror.DEFINITIONS,
                               **_QUEUE_DEFINITIONS}
