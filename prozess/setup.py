"""`prozess setup`: bring a machine to the point where campaigns run, idempotently.

Set-up is a list of steps. Each step can say whether it is ready without changing
anything (`check`, used by `prozess setup --check`) and can make itself ready
(`apply`). Areas of the project contribute their own steps (the cluster adds the
docker engine, Kafka jars and node images; the report adds the browser), built from
the pieces here; `prozess.setup_plan.all_steps` collects them, and this module only
runs them. So the areas import this module and it imports none of them.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["Step", "StepStatus", "SetupError", "check_all", "run_setup", "is_root", "is_debian", "apt_install"]


class SetupError(RuntimeError):
    """A set-up step could not complete; the message says what to do instead."""


@dataclass(frozen=True)
class StepStatus:
    ready: bool
    detail: str


@dataclass(frozen=True)
class Step:
    """One idempotent piece of set-up.

    `check` must change nothing. `apply` makes the step ready or raises
    SetupError with an instruction for the user.
    """

    name: str
    check: Callable[[], StepStatus]
    apply: Callable[[], None]
    needed_for: str = "campaigns"
    optional: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    #: a system beyond Apache Kafka (e.g. "tansu") whose artifacts this step makes; such steps run only
    #: when asked (`prozess setup --with tansu`, or `--all`), since one may take long (a cargo build)
    extra: str | None = None


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def is_debian() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return "ID=debian" in text or "ID_LIKE=debian" in text


def missing_debian_packages(packages: list[str]) -> list[str]:
    """Debian packages of `packages` that dpkg does not list as installed."""
    if not shutil.which("dpkg-query"):
        return list(packages)
    missing = []
    for pkg in packages:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if r.returncode != 0 or "install ok installed" not in r.stdout:
            missing.append(pkg)
    return missing


_apt_updated = False


def apt_install(packages: list[str]) -> None:
    """Installs Debian packages by name, or explains what to do when this is not root on Debian."""
    global _apt_updated
    missing = missing_debian_packages(packages)
    if not missing:
        return
    if not is_debian():
        raise SetupError(
            f"need the packages {', '.join(missing)}; this is not Debian ({platform.platform()}), "
            "so install their equivalents with your package manager and run `prozess setup` again"
        )
    if not is_root():
        raise SetupError(
            f"need the Debian packages {', '.join(missing)}; run `sudo apt-get install -y {' '.join(missing)}` "
            "or run `prozess setup` as root"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        _apt_updated = True
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SetupError(f"apt-get install {' '.join(missing)} failed: {r.stderr.strip()[-500:]}")


def _debian_packages_step(name: str, packages: list[str], needed_for: str, optional: bool = False) -> Step:
    def check() -> StepStatus:
        missing = missing_debian_packages(packages)
        if missing:
            return StepStatus(False, "missing: " + ", ".join(missing))
        return StepStatus(True, "installed: " + ", ".join(packages))

    return Step(name, check, lambda: apt_install(packages), needed_for=needed_for, optional=optional)


def check_all(steps: list[Step]) -> list[tuple[Step, StepStatus]]:
    """Each step with its status now; changes nothing."""
    out = []
    for step in steps:
        try:
            status = step.check()
        except Exception as e:  # a check that cannot even run is "not ready", with the reason
            status = StepStatus(False, f"check failed: {e}")
        out.append((step, status))
    return out


def run_setup(steps: list[Step], *, on_step: Callable[[Step, str], None] | None = None,
              extras: Iterable[str] | None = ()) -> list[tuple[Step, StepStatus]]:
    """Applies every step that is not ready, in order; raises SetupError at the first that cannot be made ready.

    Steps of an extra system run only when `extras` names it (None: every extra).
    """
    results = []
    wanted = None if extras is None else set(extras)
    for step in steps:
        if step.extra is not None and wanted is not None and step.extra not in wanted:
            if on_step:
                on_step(step, "not asked")
            continue
        status = step.check()
        if not status.ready:
            if on_step:
                on_step(step, "applying")
            try:
                step.apply()
            except SetupError:
                if step.optional:
                    results.append((step, step.check()))
                    continue
                raise
            status = step.check()
            if not status.ready and not step.optional:
                raise SetupError(f"{step.name}: still not ready after set-up: {status.detail}")
        if on_step:
            on_step(step, "ready" if status.ready else "skipped")
        results.append((step, status))
    return results
