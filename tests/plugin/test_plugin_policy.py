"""The checker policy keys (ww_deps, allow, forbid) in the prozess marker, driven through pytester."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]


def test_marker_carries_ww_deps_allow_and_forbid(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import json, pytest
        @pytest.mark.prozess(workload="queue", ww_deps=True, allow=["poll-skip"], forbid=["G0"])
        def test_policy(prozess_spec):
            d = prozess_spec.to_dict()
            print("POLICY", json.dumps({k: d[k] for k in ("ww_deps", "allow", "forbid")}))
        """
    )
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    line = next(x for x in result.outlines if "POLICY " in x)
    assert json.loads(line.split("POLICY ", 1)[1]) == {"ww_deps": True, "allow": ["poll-skip"], "forbid": ["G0"]}


def test_marker_with_an_unknown_anomaly_name_is_an_error_naming_it(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.prozess(workload="queue", forbid=["G-zero"])
        def test_typo(prozess_spec):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown anomaly type(s) 'G-zero'*valid names*"])
