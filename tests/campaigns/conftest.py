"""Campaigns: the classic Kafka questions as named, parametrized tests.

Each test is a real campaign (real cluster, real clients, real faults). Short
defaults keep CI fast; `--prozess-time-limit 300` runs them longer.
"""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "campaigns" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.slow)
