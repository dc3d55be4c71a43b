"""Installing a versioned artifact (Kafka's jars, the Tansu binary) into the cache, all or nothing.

A build runs into a fresh temporary folder beside its final place and is swapped in
whole only when it succeeded, so a half-finished download or build is never used
and a failed one leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["install_atomically", "run_build"]


def install_atomically(final: Path, version: str, build: Callable[[Path], None]) -> None:
    """Runs `build(tmp)` into a temporary sibling of `final`, then replaces `final` with it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
    try:
        build(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def run_build(argv: list[str], timeout: float, error: Callable[[str], Exception], late: str) -> subprocess.CompletedProcess:
    """Runs a build tool (output captured); `error(late)` is raised when it does not finish within `timeout`."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise error(late) from None
