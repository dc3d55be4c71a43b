"""Which anomaly types count against a history: the test's `allow`, `forbid` and `ww_deps`.

Each checker already knows the types that are normal for Kafka (Jepsen's
`allowed-error-types`: G0 and ww-based G1c, int-send-skip, poll-skip under
subscribe, ...) and reports them as informational. A test can change that, as a
Jepsen test can:

- `allow = ["poll-skip", ...]` moves those types to informational (the system is
  not expected to avoid them);
- `forbid = ["G0", ...]` makes them invalidating even where Kafka's model allows
  them (a system that promises more than Kafka, e.g. write isolation);
- `ww_deps = true` infers write-write order from offsets in the txn graph, as
  Jepsen's `:ww-deps`: G0 then shows (informational unless forbidden), and cycles
  that need a ww edge are allowed G1c.

The keys are read from the test spec (test.json / TOML) as `allow`, `forbid`,
`ww_deps` (Jepsen's spellings `allowed-anomalies` and `ww-deps` work too); the CLI's
`--allow/--forbid/--ww-deps` and the pytest marker write the same keys. Unknown
names are bad input (`PolicyError`, listing the valid ones).
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["PolicyError", "apply", "names_of", "options", "valid_names"]


class PolicyError(ValueError):
    """An allow/forbid list naming an anomaly type no checker reports."""


def valid_names() -> list[str]:
    from prozess.checkers.definitions import DEFINITIONS

    return sorted(DEFINITIONS)


def names_of(value: Any, *, what: str) -> list[str]:
    """A list of anomaly type names from a list or a comma-separated string; raises PolicyError on unknown ones."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = [s.strip() for s in value.split(",") if s.strip()]
    elif isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(s, str) for s in value):
        items = [s.strip() for s in value if s.strip()]
    else:
        raise PolicyError(f"{what} must be a list of anomaly type names (or TYPE,TYPE), got {value!r}")
    valid = set(valid_names())
    unknown = [s for s in items if s not in valid]
    if unknown:
        raise PolicyError(f"{what}: unknown anomaly type(s) {', '.join(map(repr, unknown))}; "
                          f"valid names: {', '.join(sorted(valid))}")
    return items


def options(test: dict | None) -> tuple[bool, set[str], set[str]]:
    """(ww_deps, allow, forbid) from a test spec dict; raises PolicyError on unknown names."""
    if not test:
        return False, set(), set()
    ww = test.get("ww_deps", test.get("ww-deps", False))
    allow = names_of(test.get("allow"), what="allow") + names_of(test.get("allowed-anomalies"), what="allowed-anomalies")
    forbid = names_of(test.get("forbid"), what="forbid")
    both = set(allow) & set(forbid)
    if both:
        raise PolicyError(f"anomaly type(s) {', '.join(sorted(both))} are both allowed and forbidden; pick one")
    return bool(ww), set(allow), set(forbid)


def apply(result: dict, allow: Iterable[str], forbid: Iterable[str]) -> dict:
    """Moves allowed types to informational and forbidden ones to anomalies; recomputes `valid`."""
    allow, forbid = set(allow), set(forbid)
    if not allow and not forbid or not isinstance(result, dict):
        return result
    bad = dict(result.get("anomalies") or {})
    info = dict(result.get("informational") or {})
    had_bad = bool(bad)
    for t in [t for t in bad if t in allow]:
        info[t] = bad.pop(t)
    for t in [t for t in info if t in forbid]:
        bad[t] = info.pop(t)
    result["anomalies"] = {t: bad[t] for t in sorted(bad)}
    result["anomaly-types"] = sorted(bad)
    if info:
        result["informational"] = {t: info[t] for t in sorted(info)}
        result["informational-types"] = sorted(info)
    else:
        result.pop("informational", None)
        result.pop("informational-types", None)
    if bad:
        result["valid"] = False
    elif had_bad and result.get("valid") is False:
        result["valid"] = True
    return result
