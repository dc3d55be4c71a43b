"""The run's client log: librdkafka and kafka-python lines go to a file in the run directory.

Under faults the clients log hundreds of connection failures (librdkafka's
`FAIL`, `GETPID`, ...; kafka-python's reconnect warnings). They are evidence
worth keeping, but on the terminal they bury the progress line and the verdict.
While a run goes, `ClientLog` sends every record of the client loggers to
`<run>/client.log` (and nowhere else) and counts warnings and errors; the
terminal then shows only the count and the file's path, and the report links
the file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["CLIENT_LOGGERS", "ClientLog"]

#: loggers that carry client library output: our adapters' (librdkafka's `logger` setting) and kafka-python's own
CLIENT_LOGGERS = ("prozess.client", "prozess.topics", "prozess.workloads", "kafka")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1


class ClientLog:
    """Context manager: client log records go to `path` while inside; `counts()` says how many warnings/errors."""

    def __init__(self, path: str | Path, loggers: tuple[str, ...] = CLIENT_LOGGERS):
        self.path = Path(path)
        self.loggers = loggers
        self.counter = _Counter()
        self._file: logging.Handler | None = None
        self._saved: list[tuple[logging.Logger, bool]] = []

    def __enter__(self) -> "ClientLog":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = logging.FileHandler(self.path, encoding="utf-8", delay=True)
        self._file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        for name in self.loggers:
            lg = logging.getLogger(name)
            self._saved.append((lg, lg.propagate))
            lg.addHandler(self._file)
            lg.addHandler(self.counter)
            lg.propagate = False  # not to the terminal (the root logger's or Python's last-resort handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for lg, propagate in self._saved:
            lg.removeHandler(self.counter)
            if self._file is not None:
                lg.removeHandler(self._file)
            lg.propagate = propagate
        self._saved.clear()
        if self._file is not None:
            self._file.close()

    def counts(self) -> dict[str, Any]:
        """{"path": file name in the run dir, "warnings": n, "errors": m} (path None when nothing was logged)."""
        return {"path": self.path.name if self.path.exists() else None, "warnings": self.counter.warnings, "errors": self.counter.errors}
