"""The Kafka server jars: resolved from Maven Central with `mvn dependency:copy-dependencies`.

The pom is cluster/node/pom.xml; the jars land in <cache>/kafka/<version>/libs and a
`complete` marker is written last, so a half-finished download is never used.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prozess.cluster.artifacts import install_atomically, run_build
from prozess.cluster.paths import NODE_DIR, cache_dir, kafka_dir
from prozess.setup import SetupError

__all__ = ["JarsError", "MIRROR_VERSION", "jars_dir", "jars_ready", "ensure_jars", "ensure_mirror_jars", "mirror_jars_dir", "mirror_jars_ready"]


class JarsError(SetupError):
    """The Kafka jars could not be resolved; the message says what to do."""


def jars_dir(version: str) -> Path:
    return kafka_dir(version) / "libs"


def jars_ready(version: str) -> bool:
    d = kafka_dir(version)
    return (d / "complete").is_file() and any(jars_dir(version).glob(f"kafka_2.13-{version}.jar"))


def ensure_jars(version: str, *, timeout: float = 900) -> Path:
    """Returns the libs dir for `version`, downloading it with Maven when missing."""
    if jars_ready(version):
        return jars_dir(version)
    mvn = shutil.which("mvn")
    if not mvn:
        raise JarsError("Maven (mvn) is needed to fetch the Kafka jars; install it (Debian: apt-get install maven) and retry")

    def download(tmp: Path) -> None:
        argv = [
            mvn, "-q", "-B", "-f", str(NODE_DIR / "pom.xml"), f"-Dkafka.version={version}",
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp / 'libs'}",
        ]
        r = run_build(argv, timeout, JarsError,
                      f"mvn did not finish within {timeout:.0f} s resolving Kafka {version}; check Maven's network settings")
        if r.returncode != 0:
            out = r.stdout + r.stderr
            missing = ("Could not find artifact", "was not found", "could not be resolved")
            if f"org.apache.kafka:kafka_2.13:jar:{version}" in out and any(m in out for m in missing):
                from prozess.cluster.versions import supported_range

                raise JarsError(f"Maven Central has no Apache Kafka release {version}; pick a released version "
                                f"(supported: {supported_range()})")
            raise JarsError(f"mvn could not resolve org.apache.kafka:kafka_2.13:{version}: {out.strip()[-800:]}")
        (tmp / "complete").write_text(version + "\n")

    install_atomically(kafka_dir(version), version, download)
    return jars_dir(version)


# --- MirrorMaker 2 ----------------------------------------------------------------------
#: The newest connect-mirror release Maven Central serves (4.4.0 is not published there;
#: 4.3.1 is, and speaks the same protocol to 4.4.0 brokers).
MIRROR_VERSION = "4.3.1"
MIRROR_POM = NODE_DIR / "mirror" / "pom.xml"


def mirror_jars_dir(version: str = MIRROR_VERSION) -> Path:
    """<cache>/mirror/<version>/libs: connect-mirror and its runtime dependencies (apart from the broker's jars)."""
    return cache_dir() / "mirror" / version / "libs"


def mirror_jars_ready(version: str = MIRROR_VERSION) -> bool:
    d = mirror_jars_dir(version).parent
    return (d / "complete").is_file() and (mirror_jars_dir(version) / f"connect-mirror-{version}.jar").is_file()


def ensure_mirror_jars(version: str = MIRROR_VERSION, *, timeout: float = 900) -> Path:
    """The libs dir of MirrorMaker 2 `version`, downloaded with Maven when missing (all or nothing)."""
    if mirror_jars_ready(version):
        return mirror_jars_dir(version)
    mvn = shutil.which("mvn")
    if not mvn:
        raise JarsError("Maven (mvn) is needed to fetch MirrorMaker 2's jars; install it (Debian: apt-get install maven) and retry")

    def download(tmp: Path) -> None:
        argv = [
            mvn, "-q", "-B", "-f", str(MIRROR_POM), f"-Dmirror.version={version}",
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp / 'libs'}",
        ]
        r = run_build(argv, timeout, JarsError,
                      f"mvn did not finish within {timeout:.0f} s resolving connect-mirror {version}; check Maven's network settings")
        if r.returncode != 0:
            out = r.stdout + r.stderr
            if f"connect-mirror:jar:{version}" in out:
                raise JarsError(f"Maven Central has no org.apache.kafka:connect-mirror {version}; pick a published release "
                                f"(mirror_version; {MIRROR_VERSION} is known to resolve)")
            raise JarsError(f"mvn could not resolve org.apache.kafka:connect-mirror:{version}: {out.strip()[-800:]}")
        (tmp / "complete").write_text(version + "\n")

    install_atomically(mirror_jars_dir(version).parent, version, download)
    return mirror_jars_dir(version)
