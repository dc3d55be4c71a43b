"""The docker engine: find one that answers, or (root on Debian) install and start one.

`docker_client()` is what backends call; it raises EngineError with one clear
instruction when no engine answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from prozess.setup import SetupError, apt_install, is_debian, is_root

__all__ = ["EngineError", "engine_answers", "docker_client", "ensure_engine", "DOCKERD_LOG"]

DOCKERD_LOG = Path(os.environ.get("PROZESS_DOCKERD_LOG", "/var/log/prozess-dockerd.log"))


class EngineError(SetupError):
    """No docker engine answers; the message says what to install or start."""


def engine_answers(timeout: float = 5) -> bool:
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
            return True
        finally:
            client.close()
    except Exception:
        return False


def no_engine_message() -> str:
    if is_root() and is_debian():
        return "no docker engine answers; run `prozess setup` (it installs Debian's docker.io and starts dockerd), or use --backend netns"
    if is_debian():
        return (
            "no docker engine answers and this user is not root; install one with "
            "`sudo apt-get install docker.io` and start it (`sudo systemctl start docker`), add yourself to the "
            "docker group, or run prozess as root with --backend netns"
        )
    return (
        "no docker engine answers; install Docker Engine and start it, "
        "or run prozess as root with --backend netns"
    )


def docker_client(timeout: float = 120):
    """A docker SDK client whose engine answered a ping."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as e:
        raise EngineError(f"{no_engine_message()} (docker said: {e})") from None


def ensure_engine(wait: float = 60) -> None:
    """Uses a running engine; as root on Debian installs docker.io and starts dockerd (logging to a file)."""
    if engine_answers():
        return
    if not (is_root() and is_debian()):
        raise EngineError(no_engine_message())
    if not shutil.which("dockerd"):
        apt_install(["docker.io"])
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if engine_answers(timeout=2):
            return
        time.sleep(1)
    raise EngineError(f"dockerd was started but did not answer within {wait:.0f} s; see {DOCKERD_LOG}")
