"""`prozess setup` steps of the cluster: docker engine, Kafka jars, node image, netns host tools.

Each check changes nothing and is fast when the step is ready; each apply is
idempotent and raises SetupError with an instruction when it cannot proceed.
"""

from __future__ import annotations

from prozess.setup import SetupError, Step, StepStatus, apt_install, missing_debian_packages

__all__ = ["steps"]


def _engine_check() -> StepStatus:
    from prozess.cluster.engine import engine_answers, no_engine_message

    return StepStatus(True, "a docker engine answers") if engine_answers() else StepStatus(False, no_engine_message())


def _engine_apply() -> None:
    from prozess.cluster.engine import ensure_engine

    ensure_engine()


def _jars_check() -> StepStatus:
    from prozess.cluster.jars import jars_dir, jars_ready
    from prozess.cluster.spec import KAFKA_VERSION

    if jars_ready(KAFKA_VERSION):
        return StepStatus(True, f"Kafka {KAFKA_VERSION} jars in {jars_dir(KAFKA_VERSION)}")
    return StepStatus(False, f"Kafka {KAFKA_VERSION} jars not downloaded yet (mvn dependency:copy-dependencies)")


def _jars_apply() -> None:
    from prozess.cluster.jars import ensure_jars
    from prozess.cluster.spec import KAFKA_VERSION

    ensure_jars(KAFKA_VERSION)


def _image_check() -> StepStatus:
    from prozess.cluster.engine import engine_answers
    from prozess.cluster.image import image_present, node_tag
    from prozess.cluster.jars import jars_ready
    from prozess.cluster.spec import KAFKA_VERSION

    if not jars_ready(KAFKA_VERSION):
        return StepStatus(False, "needs the Kafka jars first")
    if not engine_answers():
        return StepStatus(False, "needs a docker engine first")
    from prozess.cluster.engine import docker_client

    client = docker_client()
    try:
        tag = node_tag(KAFKA_VERSION)
        return StepStatus(True, f"{tag} built") if image_present(client, tag) else StepStatus(False, f"{tag} not built yet")
    finally:
        client.close()


def _image_apply() -> None:
    from prozess.cluster.engine import docker_client
    from prozess.cluster.image import ensure_node_image
    from prozess.cluster.spec import KAFKA_VERSION

    client = docker_client(timeout=1800)
    try:
        ensure_node_image(client, KAFKA_VERSION)
    finally:
        client.close()


NETNS_PACKAGES = ["openjdk-17-jre-headless", "libfaketime", "iproute2", "iptables"]


def _netns_check() -> StepStatus:
    missing = missing_debian_packages(NETNS_PACKAGES)
    return StepStatus(not missing, "missing: " + ", ".join(missing) if missing else "java, libfaketime, ip, iptables installed")


# The disk layer's own tests mount it on this host with Debian's python3 (as the nodes do).
DISK_LAYER_PACKAGES = ["fuse3", "python3-pyfuse3"]


def _disk_layer_check() -> StepStatus:
    missing = missing_debian_packages(DISK_LAYER_PACKAGES)
    return StepStatus(not missing, "missing: " + ", ".join(missing) if missing else "fuse3, python3-pyfuse3 installed")


def _tansu_check() -> StepStatus:
    from prozess.cluster.tansu import tansu_binary, tansu_ready
    from prozess.cluster.spec import TANSU_VERSION

    if tansu_ready(TANSU_VERSION):
        return StepStatus(True, f"Tansu {TANSU_VERSION} in {tansu_binary(TANSU_VERSION)}")
    return StepStatus(False, f"Tansu {TANSU_VERSION} not built yet (cargo install, 15-30 minutes once)")


def _tansu_apply() -> None:
    from prozess.cluster.tansu import ensure_tansu
    from prozess.cluster.spec import TANSU_VERSION

    ensure_tansu(TANSU_VERSION)


TANSU_HOST_PACKAGES = ["postgresql", "libfaketime"]


def _tansu_host_check() -> StepStatus:
    missing = missing_debian_packages(TANSU_HOST_PACKAGES)
    return StepStatus(not missing, "missing: " + ", ".join(missing) if missing else "postgresql, libfaketime installed")


def _tansu_image_check() -> StepStatus:
    from prozess.cluster.engine import engine_answers
    from prozess.cluster.image import image_present, tansu_tag
    from prozess.cluster.spec import TANSU_VERSION
    from prozess.cluster.tansu import tansu_ready

    if not tansu_ready(TANSU_VERSION):
        return StepStatus(False, "needs the Tansu binary first")
    if not engine_answers():
        return StepStatus(False, "needs a docker engine first")
    from prozess.cluster.engine import docker_client

    client = docker_client()
    try:
        tag = tansu_tag(TANSU_VERSION)
        return StepStatus(True, f"{tag} built") if image_present(client, tag) else StepStatus(False, f"{tag} not built yet")
    finally:
        client.close()


def _tansu_image_apply() -> None:
    from prozess.cluster.engine import docker_client
    from prozess.cluster.image import ensure_tansu_image
    from prozess.cluster.spec import TANSU_VERSION

    client = docker_client(timeout=1800)
    try:
        ensure_tansu_image(client, TANSU_VERSION)
    finally:
        client.close()


def steps() -> list[Step]:
    return [
        Step("docker engine", _engine_check, _engine_apply, needed_for="the docker backend (default)"),
        Step("Kafka jars", _jars_check, _jars_apply, needed_for="every backend"),
        Step("node image", _image_check, _image_apply, needed_for="the docker backend (default)"),
        Step("netns host tools", _netns_check, lambda: apt_install(NETNS_PACKAGES), needed_for="the netns backend", optional=True),
        Step("disk layer host tools", _disk_layer_check, lambda: apt_install(DISK_LAYER_PACKAGES),
             needed_for="the disk layer's tests on this host", optional=True),
        Step("Tansu binary", _tansu_check, _tansu_apply, needed_for="--system tansu", optional=True, extra="tansu"),
        Step("Tansu host packages", _tansu_host_check, lambda: apt_install(TANSU_HOST_PACKAGES), needed_for="--system tansu on the netns backend", optional=True, extra="tansu"),
        Step("Tansu node image", _tansu_image_check, _tansu_image_apply, needed_for="--system tansu on the docker backend", optional=True, extra="tansu"),
    ]


__all__ += ["SetupError"]
