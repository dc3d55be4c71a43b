"""Set-up steps of the report: a headless browser for the report's browser tests.

The report itself needs no browser; only the end-to-end tests drive Debian's
`chromium`, so the step is optional.
"""

from __future__ import annotations

from prozess.setup import Step, _debian_packages_step

__all__ = ["steps"]


def steps() -> list[Step]:
    return [_debian_packages_step("chromium (report browser tests)", ["chromium"], "the report's browser tests", optional=True)]
