"""Every set-up step of every area, in the order `prozess setup` runs them.

Apart from `prozess.setup` (the step type and its runner), which the areas import
to build their steps: collecting them here keeps the arrows one way.
"""

from __future__ import annotations

from prozess.setup import Step, _debian_packages_step

__all__ = ["all_steps"]


def all_steps() -> list[Step]:
    """Host packages, then the cluster's steps (engine, jars, node image, ...), then the report's."""
    from prozess.cluster.setup_steps import steps as cluster_steps
    from prozess.report.setup_steps import steps as report_steps

    return [
        _debian_packages_step("host packages", ["iptables", "iproute2", "procps"], "faults and the netns backend"),
        *cluster_steps(),
        *report_steps(),
    ]
