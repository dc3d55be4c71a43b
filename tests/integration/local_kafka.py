"""A single-node KRaft Kafka on 127.0.0.1 for the workload and runner tests.

Real Apache Kafka (the same pinned release the cluster uses), run as one JVM on
the loopback interface: no containers, so the client adapters and the runner
can be tested wherever Java and Maven are. The jars come from Maven Central
through `mvn dependency:copy-dependencies` into a cache directory
(`$PROZESS_CACHE_DIR` or `~/.cache/prozess`), fetched once.

This is a test helper, not the cluster backend: the fault tests use
`prozess.cluster`. `LocalKafka` is a context manager; `stop()` kills the JVM
and removes its data directory on every exit path. `maven_libs` and `LocalJvm`
also serve the other local JVMs of the tests (MirrorMaker 2 in `local_mirror`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

from prozess.cluster.kafka import new_cluster_id
from pathlib import Path

KAFKA_VERSION = "4.4.0"

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>prozess.test</groupId>
  <artifactId>local-{name}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def cache_dir() -> Path:
    return Path(os.environ.get("PROZESS_CACHE_DIR", Path.home() / ".cache" / "prozess"))


def maven_libs(name: str, artifact: str, version: str, what: str, *, timeout: float = 600) -> Path:
    """The jars of org.apache.kafka:`artifact` and its runtime dependencies, fetched once into local-`name`-`version`."""
    libs = cache_dir() / f"local-{name}-{version}" / "libs"
    if (libs / f"{artifact}-{version}.jar").exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError(f"{what} needs java and mvn on PATH (apt-get install openjdk-17-jre-headless maven)")
    work = Path(tempfile.mkdtemp(prefix=f"prozess-{name}-pom-"))
    try:
        (work / "pom.xml").write_text(POM.format(name=name, artifact=artifact, version=version))
        tmp_libs = libs.with_name("libs.partial")
        shutil.rmtree(tmp_libs, ignore_errors=True)
        subprocess.run(
            ["mvn", "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
             f"-DoutputDirectory={tmp_libs}", "-DincludeScope=runtime"],
            check=True, timeout=timeout,
        )
        tmp_libs.rename(libs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return libs


def kafka_libs(version: str = KAFKA_VERSION, *, timeout: float = 600) -> Path:
    """The directory holding the Kafka broker jars and their runtime dependencies, fetched once."""
    return maven_libs("kafka", "kafka_2.13", version, "a local Kafka", timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalJvm:
    """One JVM the tests start on this host: its process, its scratch directory and its output file.

    `stop()` kills the JVM and removes the directory on every exit path; a context manager.
    """

    dir: Path | None = None
    proc: subprocess.Popen | None = None
    output = None   # the file the JVM's output goes to

    def start(self) -> "LocalJvm":
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        if self.output is not None:
            self.output.close()
            self.output = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_or_skip(kafka: "LocalKafka") -> "LocalKafka":
    """Starts a local Kafka, or skips the calling test saying why it cannot start here (no java / mvn)."""
    import pytest

    try:
        return kafka.start()
    except Exception as e:
        pytest.skip(f"a local Kafka cannot start here: {e}")


class LocalKafka(LocalJvm):
    """One combined broker+controller JVM on 127.0.0.1; `bootstrap` is its address."""

    def __init__(self, *, version: str = KAFKA_VERSION, heap: str = "512m"):
        self.version = version
        self.heap = heap
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "LocalKafka":
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()  # a broker that did not come up leaves no process and no directory behind
            raise

    def _start(self, timeout: float) -> "LocalKafka":
        libs = kafka_libs(self.version)
        self.dir = Path(tempfile.mkdtemp(prefix="prozess-local-kafka-"))
        data = self.dir / "data"
        props = self.dir / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "",
        ]))
        cp = str(libs) + "/*"
        cluster_id = new_cluster_id()
        java = ["java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseSerialGC", "-cp", cp]
        subprocess.run(
            java + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
            check=True, capture_output=True, timeout=120,
        )
        self.output = open(self.dir / "server.log", "wb")
        self.proc = subprocess.Popen(java + ["kafka.Kafka", str(props)], stdout=self.output, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"local Kafka exited with {self.proc.returncode}; see {self.dir}/server.log")
            try:
                md = admin.list_topics(timeout=2)
                if md.brokers:
                    return
            except Exception as e:  # not up yet
                last = e
            time.sleep(0.5)
        raise TimeoutError(f"local Kafka did not come up in {timeout}s ({last}); see {self.dir}/server.log")


try:  # the fixture, for test modules that import it (`from local_kafka import local_kafka`)
    import pytest

    @pytest.fixture(scope="module")
    def local_kafka():
        """A real single-node Kafka on 127.0.0.1 for this test module; killed and removed afterwards."""
        try:
            kafka_libs()
        except Exception as e:  # no java/mvn here: say why, never pass silently
            pytest.skip(f"local Kafka unavailable: {e}")
        with LocalKafka() as k:
            yield k
except ImportError:  # pragma: no cover - pytest is only needed by the tests
    pass
