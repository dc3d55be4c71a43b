"""MirrorMaker 2 (dedicated mode) as one JVM on the control host, between two local Kafkas, for the mirror workload tests.

The jars are Apache Kafka's `connect-mirror` from Maven Central with its
runtime dependencies, fetched once into the cache like `local_kafka`'s.
`connect-mirror` 4.4.0 does not resolve from the project's Maven repository,
so the default is 3.9.1, which speaks the same protocol to 4.4.0 brokers.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from local_kafka import cache_dir

MIRROR_VERSION = "3.9.1"

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>prozess.test</groupId>
  <artifactId>local-mirror</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>connect-mirror</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def mirror_libs(version: str = MIRROR_VERSION, *, timeout: float = 600) -> Path:
    libs = cache_dir() / f"local-mirror-{version}" / "libs"
    if (libs / f"connect-mirror-{version}.jar").exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError("MirrorMaker 2 needs java and mvn on PATH")
    work = Path(tempfile.mkdtemp(prefix="prozess-mm2-pom-"))
    try:
        (work / "pom.xml").write_text(POM.format(version=version))
        tmp = libs.with_name("libs.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["mvn", "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
                        f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"], check=True, timeout=timeout)
        tmp.rename(libs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return libs


class LocalMirrorMaker:
    """`org.apache.kafka.connect.mirror.MirrorMaker` copying topics matching `topics` from source to target."""

    def __init__(self, source: str, target: str, topics: str, *, version: str = MIRROR_VERSION, heap: str = "384m"):
        self.source, self.target, self.topics, self.version, self.heap = source, target, topics, version, heap
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LocalMirrorMaker":
        libs = mirror_libs(self.version)
        self.dir = Path(tempfile.mkdtemp(prefix="prozess-mm2-"))
        props = self.dir / "mm2.properties"
        rf = {k: "1" for k in ("replication.factor", "checkpoints.topic.replication.factor", "heartbeats.topic.replication.factor",
                               "offset-syncs.topic.replication.factor", "offset.storage.replication.factor",
                               "status.storage.replication.factor", "config.storage.replication.factor")}
        conf = {
            "clusters": "source, target",
            "source.bootstrap.servers": self.source,
            "target.bootstrap.servers": self.target,
            "source->target.enabled": "true",
            "target->source.enabled": "false",
            "source->target.topics": self.topics,
            "source->target.groups": ".*",
            "sync.group.offsets.enabled": "true",
            "sync.group.offsets.interval.seconds": "1",
            "emit.checkpoints.interval.seconds": "1",
            "refresh.topics.interval.seconds": "2",
            "refresh.groups.interval.seconds": "2",
            "emit.heartbeats.enabled": "false",
            "offset.lag.max": "100",
            "tasks.max": "1",
            **{f"source->target.{k}": v for k, v in rf.items()}, **rf,
        }
        props.write_text("".join(f"{k} = {v}\n" for k, v in conf.items()))
        log4j = self.dir / "log4j.properties"
        log4j.write_text("log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
                         f"log4j.appender.file.File={self.dir}/mm2.log\n"
                         "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.out = open(self.dir / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            ["java", f"-Xmx{self.heap}", "-XX:+UseSerialGC", f"-Dlog4j.configuration=file:{log4j}", "-cp", f"{libs}/*",
             "org.apache.kafka.connect.mirror.MirrorMaker", str(props), "--clusters", "target"],
            stdout=self.out, stderr=subprocess.STDOUT)
        time.sleep(2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"MirrorMaker exited with {self.proc.returncode}; see {self.dir}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        if getattr(self, "out", None) is not None:
            self.out.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
