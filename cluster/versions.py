"""Which Apache Kafka releases prozess can put on trial, and in which metadata mode.

A version is written as Kafka spells its releases (``3.9.1``, ``4.4.0``). Supported:
every release line from 3.7 to 4.4 in KRaft mode, and 3.7 to 3.9 in ZooKeeper mode
(Kafka 4.0 removed ZooKeeper). Whether a patch release exists is Maven Central's
answer: the jars are resolved from it (prozess.cluster.jars), and a release it does
not know gives an error naming the supported range. Pure functions, no I/O.
"""

from __future__ import annotations

import re

__all__ = [
    "VersionError", "MIN_LINE", "MAX_LINE", "ZOOKEEPER_MAX_LINE", "METADATA_MODES", "parse_version",
    "check_version", "supported_range", "supports_zookeeper",
]

MIN_LINE = (3, 7)
MAX_LINE = (4, 4)
ZOOKEEPER_MAX_LINE = (3, 9)
METADATA_MODES = ("kraft", "zookeeper")

_VERSION_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{1,3})$")


class VersionError(ValueError):
    """A Kafka version or metadata mode prozess cannot run; the message names the supported range."""


def supported_range() -> str:
    """The supported releases in words, for error messages and help texts."""
    return (f"Apache Kafka {MIN_LINE[0]}.{MIN_LINE[1]}.x to {MAX_LINE[0]}.{MAX_LINE[1]}.x in KRaft mode, "
            f"{MIN_LINE[0]}.{MIN_LINE[1]}.x to {ZOOKEEPER_MAX_LINE[0]}.{ZOOKEEPER_MAX_LINE[1]}.x in ZooKeeper mode")


def parse_version(version: object) -> tuple[int, int, int]:
    """(major, minor, patch) of a release such as "3.9.1"; VersionError for anything else."""
    m = _VERSION_RE.match(version) if isinstance(version, str) else None
    if not m:
        raise VersionError(f"Kafka version {version!r} is not a release number like 3.9.1; supported: {supported_range()}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def check_version(version: object, metadata: str = "kraft") -> tuple[int, int, int]:
    """Parses `version` and checks it (with `metadata`) is in the supported range."""
    if metadata not in METADATA_MODES:
        raise VersionError(f"metadata mode {metadata!r} is not one of {', '.join(METADATA_MODES)}")
    v = parse_version(version)
    if not MIN_LINE <= v[:2] <= MAX_LINE:
        raise VersionError(f"Kafka {version} is outside the supported range; prozess runs {supported_range()}")
    if metadata == "zookeeper" and v[:2] > ZOOKEEPER_MAX_LINE:
        raise VersionError(
            f"Kafka {version} has no ZooKeeper mode (removed in 4.0); use --metadata kraft, or a 3.7-3.9 release "
            f"such as 3.9.1 with --metadata zookeeper"
        )
    return v


def supports_zookeeper(version: str) -> bool:
    try:
        return parse_version(version)[:2] <= ZOOKEEPER_MAX_LINE
    except VersionError:
        return False
