"""Where prozess keeps things outside the repository: caches and cluster state.

$PROZESS_CACHE_DIR (default ~/.cache/prozess) holds Kafka jars by version and
image build inputs; $PROZESS_STATE_DIR (default <cache>/clusters) holds one JSON
file per live cluster so another process can attach to it and tear it down.
"""

from __future__ import annotations

import os
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent / "node"


def cache_dir() -> Path:
    env = os.environ.get("PROZESS_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "prozess"


def state_dir() -> Path:
    env = os.environ.get("PROZESS_STATE_DIR")
    return Path(env) if env else cache_dir() / "clusters"


def kafka_dir(version: str) -> Path:
    """Content-addressed by version: <cache>/kafka/<version>/libs/*.jar."""
    return cache_dir() / "kafka" / version
