"""The plugin end to end on a real cluster: an unsafe campaign fails readably, a safe one passes, JUnit carries both."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

CAMPAIGNS = """
import pytest

NEMESIS = {"interval": 7, "duty": 0.6, "quiet": 5, "targets": ["leader"]}

@pytest.mark.prozess(workload="queue", preset="safe", time_limit=28, rate=400, concurrency=6, nemesis=NEMESIS,
                     workload_options={"key_count": 4})
@pytest.mark.parametrize("client", [{"acks": "0", "idempotence": False}, {"acks": "all", "idempotence": True}], ids=["acks0", "acksall"])
def test_leader_kills(prozess_campaign, client):
    prozess_campaign(client=client, faults=["kill"])
"""


def test_unsafe_campaign_fails_readably_and_junit_has_the_verdicts(pytester: pytest.Pytester, tmp_path):
    pytester.makepyfile(test_matrix=CAMPAIGNS)
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--prozess-results-dir", str(tmp_path / "results"), f"--junitxml={junit}", timeout=900
    )
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_leader_kills[acks0]" in out
    assert "prozess campaign" in out and "is invalid" in out
    assert any(kind in out for kind in ("unseen:", "lost-write:")), out[-3000:]
    assert "e.g. " in out and "report: " in out

    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    def props(name):
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}

    unsafe, safe = props("test_leader_kills[acks0]"), props("test_leader_kills[acksall]")
    assert unsafe["prozess.verdict"] == "false" and safe["prozess.verdict"] == "true"
    assert any(k.startswith("prozess.anomaly.") for k in unsafe)
    assert unsafe["prozess.report"].endswith("report.html")
