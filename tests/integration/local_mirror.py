"""MirrorMaker 2 (dedicated mode) as one JVM on the control host, between two local Kafkas, for the mirror workload tests.

The jars are Apache Kafka's `connect-mirror` from Maven Central with its
runtime dependencies, fetched once into the cache like `local_kafka`'s.
`connect-mirror` 4.4.0 does not resolve from the project's Maven repository,
so the default is 3.9.1, which speaks the same protocol to 4.4.0 brokers.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from local_kafka import LocalJvm, maven_libs

from prozess.cluster.mirror import mm2_properties

MIRROR_VERSION = "3.9.1"


def mirror_libs(version: str = MIRROR_VERSION, *, timeout: float = 600) -> Path:
    return maven_libs("mirror", "connect-mirror", version, "MirrorMaker 2", timeout=timeout)


class LocalMirrorMaker(LocalJvm):
    """`org.apache.kafka.connect.mirror.MirrorMaker` copying topics matching `topics` from source to target."""

    def __init__(self, source: str, target: str, topics: str, *, version: str = MIRROR_VERSION, heap: str = "384m"):
        self.source, self.target, self.topics, self.version, self.heap = source, target, topics, version, heap

    def start(self) -> "LocalMirrorMaker":
        libs = mirror_libs(self.version)
        self.dir = Path(tempfile.mkdtemp(prefix="prozess-mm2-"))
        props = self.dir / "mm2.properties"  # what a docker mirror set-up writes, for single-node clusters
        props.write_text(mm2_properties(self.source, self.target, topics=self.topics, source_rf=1, target_rf=1))
        log4j = self.dir / "log4j.properties"
        log4j.write_text("log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
                         f"log4j.appender.file.File={self.dir}/mm2.log\n"
                         "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.output = open(self.dir / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            ["java", f"-Xmx{self.heap}", "-XX:+UseSerialGC", f"-Dlog4j.configuration=file:{log4j}", "-cp", f"{libs}/*",
             "org.apache.kafka.connect.mirror.MirrorMaker", str(props), "--clusters", "target"],
            stdout=self.output, stderr=subprocess.STDOUT)
        time.sleep(2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"MirrorMaker exited with {self.proc.returncode}; see {self.dir}")
        return self
