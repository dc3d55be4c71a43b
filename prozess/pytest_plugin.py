"""pytest plugin: prozess options, fixtures and campaign markers (registered through the pytest11 entry point).

Heavy imports happen inside fixtures, so loading the plugin costs nothing for
test suites that do not use it.
"""

from __future__ import annotations

import pytest

OPTIONS = [
    ("backend", "docker", "node backend: docker, netns or ssh"),
    ("nodes", "3", "number of Kafka nodes per cluster"),
    ("time-limit", "30", "seconds each campaign runs its workload"),
    ("results-dir", "results", "where runs are stored"),
    ("seed", "", "seed for every campaign (default: from the marker or random)"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prozess", "prozess campaigns against real Kafka clusters")
    for name, default, help_text in OPTIONS:
        ini = "prozess_" + name.replace("-", "_")
        group.addoption(f"--prozess-{name}", dest=ini, default=None, help=f"{help_text} (ini: {ini}; default {default or 'none'})")
        parser.addini(ini, help_text, default=default)
    group.addoption("--prozess-keep-cluster", dest="prozess_keep_cluster", action="store_true", default=False, help="leave clusters running after the session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "prozess(**spec): declare a prozess campaign (workload, faults, preset, time_limit, ...)")
