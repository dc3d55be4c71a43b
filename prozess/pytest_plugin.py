"""pytest plugin: campaigns against real Kafka clusters as ordinary tests.

Registered through the `pytest11` entry point. It gives:

- options, on the command line and in ini (command line wins over ini, ini over
  the default): `--prozess-backend`, `--prozess-nodes`, `--prozess-time-limit`,
  `--prozess-results-dir`, `--prozess-seed`, `--prozess-keep-cluster`,
  `--prozess-unknown` (fail | xfail | pass: what an `unknown` verdict does),
  `--prozess-kafka-version` (a release, or a comma-separated list of
  `VERSION[:zookeeper]` over which every campaign is parametrized);
- the marker `@pytest.mark.prozess(workload=..., faults=[...], preset=..., time_limit=...)`
  whose keywords are the defaults of every campaign the test runs, so that
  `pytest.mark.parametrize` over configs x faults x seeds is a campaign matrix;
  the checker policy keys work there too, as in a TOML spec:
  `@pytest.mark.prozess(ww_deps=True, allow=["poll-skip"], forbid=["G0"])`;
- fixtures: `prozess_cluster` (a session-scoped cluster, reused by every test
  with the same cluster spec and torn down at session end) and
  `prozess_campaign` (a function that runs one test spec and returns a
  `Campaign`: verdict, anomalies, report path);
- an invalid verdict fails the test with a message naming each anomaly type,
  its count, one explained example and the report path; the verdict, anomaly
  counts and report path are recorded as JUnit XML properties.

Under pytest-xdist each worker gets clusters of its own (names carry the worker
id). Heavy imports happen inside fixtures, so loading the plugin costs nothing
for suites that do not use it.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

__all__ = ["Campaign", "format_failure"]

OPTIONS: list[tuple[str, str, str]] = [
    ("backend", "docker", "node backend: docker, netns or ssh"),
    ("nodes", "3", "number of Kafka nodes per cluster"),
    ("time-limit", "30", "seconds each campaign runs its workload"),
    ("results-dir", "results", "where runs are stored"),
    ("seed", "", "seed for every campaign (default: the marker's, else derived from the test id)"),
    ("unknown", "fail", "what an unknown verdict does: fail, xfail or pass"),
    ("kafka-version", "", "Kafka release(s) every campaign runs on, comma-separated, each VERSION or VERSION:zookeeper "
                          "(e.g. 3.9.1:zookeeper,3.9.1,4.0.0,4.4.0); more than one parametrizes the campaigns over them"),
]

_CLUSTERS = pytest.StashKey["ClusterPool"]()


def _ini_name(name: str) -> str:
    return "prozess_" + name.replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prozess", "prozess campaigns against real Kafka clusters")
    for name, default, help_text in OPTIONS:
        ini = _ini_name(name)
        group.addoption(f"--prozess-{name}", dest=ini, default=None, help=f"{help_text} (ini: {ini}; default: {default or 'none'})")
        parser.addini(ini, help_text, default=default)
    group.addoption("--prozess-keep-cluster", dest="prozess_keep_cluster", action="store_true", default=None, help="leave clusters running after the session (ini: prozess_keep_cluster)")
    parser.addini("prozess_keep_cluster", "leave clusters running after the session", type="bool", default=False)


def kafka_targets(raw: Any) -> list[tuple[str, str]]:
    """(version, metadata) pairs from "3.9.1:zookeeper,4.4.0"; a bad entry is a usage error naming it."""
    from prozess.cluster.versions import VersionError, check_version

    out = []
    for entry in [e.strip() for e in str(raw or "").split(",") if e.strip()]:
        version, _, metadata = entry.partition(":")
        metadata = metadata or "kraft"
        try:
            check_version(version, metadata)
        except VersionError as e:
            raise pytest.UsageError(f"--prozess-kafka-version / ini prozess_kafka_version: {entry!r}: {e}") from None
        out.append((version, metadata))
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Campaign tests run once per Kafka release named by --prozess-kafka-version."""
    if "prozess_kafka" not in metafunc.fixturenames:
        return
    targets = kafka_targets(option(metafunc.config, "kafka-version"))
    if targets:
        metafunc.parametrize("prozess_kafka", targets, ids=[f"kafka{v}" + ("-zk" if m == "zookeeper" else "") for v, m in targets])


@pytest.fixture
def prozess_kafka() -> tuple[str, str] | None:
    """(Kafka version, metadata mode) this campaign runs on, or None for the spec's default."""
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "prozess(**spec): defaults of the prozess campaigns this test runs (workload, faults, preset, time_limit, client, cluster, ...)")


def option(config: pytest.Config, name: str) -> Any:
    """An option's value: the command line over the ini file over the default."""
    ini = _ini_name(name)
    value = config.getoption(ini, default=None)
    if value is None:
        value = config.getini(ini)
    return value


def _convert(raw: Any, kind: type, where: str) -> Any:
    if raw in (None, ""):
        return None
    try:
        return kind(raw)
    except ValueError:
        raise pytest.UsageError(f"{where}: {raw!r} is not a valid {kind.__name__}") from None


def _typed(config: pytest.Config, name: str, kind: type) -> Any:
    """The option's value (command line, else ini), converted."""
    return _convert(option(config, name), kind, f"--prozess-{name} / ini {_ini_name(name)}")


# ------------------------------------------------------------------ results


@dataclass
class Campaign:
    """What a campaign run left behind: verdict, anomalies and where to read more."""

    valid: Any
    results: dict[str, Any]
    run_dir: Path | None
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def report(self) -> Path | None:
        if self.run_dir is None:
            return None
        from prozess.store import Run

        path = Run(self.run_dir).report_path
        return path if path.exists() else None

    @property
    def anomalies(self) -> dict[str, int]:
        """Anomaly type -> count over every checker that found it."""
        counts: dict[str, int] = {}
        for checker in (self.results.get("checkers") or {}).values():
            for name in checker.get("anomaly-types") or []:
                entry = (checker.get("anomalies") or {}).get(name) or {}
                counts[name] = counts.get(name, 0) + int(entry.get("count", 1) or 1)
        return counts


def _first_example(results: dict[str, Any], anomaly: str) -> str | None:
    for checker in (results.get("checkers") or {}).values():
        entry = (checker.get("anomalies") or {}).get(anomaly)
        if entry and entry.get("examples"):
            example = entry["examples"][0]
            text = example.get("explanation") or str(example)
            ops = example.get("ops")
            return f"{text} (ops {', '.join(map(str, ops))})" if ops else text
    return None


def junit_properties(campaign: Campaign) -> list[tuple[str, Any]]:
    """The JUnit properties of a campaign: verdict, anomaly counts, report, and applied/failed fault actions per kind."""
    props: list[tuple[str, Any]] = [("prozess.verdict", str(campaign.valid).lower())]
    for name, count in sorted(campaign.anomalies.items()):
        props.append((f"prozess.anomaly.{name}", count))
    if campaign.report or campaign.run_dir:
        props.append(("prozess.report", str(campaign.report or campaign.run_dir)))
    faults = campaign.results.get("faults") if isinstance(campaign.results.get("faults"), dict) else {}
    for kind, counts in (faults.get("kinds") or {}).items():
        props.append((f"prozess.faults.{kind}.applied", counts.get("applied", 0)))
        props.append((f"prozess.faults.{kind}.failed", counts.get("failed", 0) + counts.get("unavailable", 0)))
    return props


def format_failure(campaign: Campaign) -> str:
    """The failure message of an invalid or unknown campaign: each anomaly, an example, the report."""
    verdict = {False: "invalid", True: "valid"}.get(campaign.valid, "unknown")
    lines = [f"prozess campaign {campaign.spec.get('name', '')} is {verdict}".replace("  ", " ")]
    for name, count in sorted(campaign.anomalies.items()):
        lines.append(f"  {name}: {count}")
        example = _first_example(campaign.results, name)
        if example:
            lines.append(f"    e.g. {example}")
    if verdict == "unknown":
        for checker_name, checker in sorted((campaign.results.get("checkers") or {}).items()):
            if checker.get("valid") == "unknown":
                lines.append(f"  checker {checker_name} could not decide: {checker.get('error') or checker.get('reason') or 'no reason given'}")
    for kind, why in sorted((campaign.results.get("faults-not-applied") or {}).items()):
        lines.append(f"  fault {kind} never took effect: {why}")
    faults = campaign.results.get("faults")
    if isinstance(faults, dict) and faults.get("kinds"):
        from prozess.nemesis.accounting import summary_lines

        lines += [f"  faults: {line}" for line in summary_lines(faults)]
    where = campaign.report or campaign.run_dir
    if where is not None:
        lines.append(f"  report: {where}")
    return "\n".join(lines)


# ------------------------------------------------------------------ clusters


def _worker_suffix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"-{worker}" if worker else ""


class ClusterPool:
    """Clusters of this session, one per distinct cluster spec, torn down at session end."""

    def __init__(self, backend: str, keep: bool):
        self.backend = backend
        self.keep = keep
        self._clusters: dict[str, Any] = {}
        self.campaigns = 0

    def get(self, cluster_spec: Any, mirror: dict[str, Any] | None = None) -> Any:
        """The running cluster for `cluster_spec`; with `mirror` (a mirror campaign's set-up settings), the
        source of a mirror set-up (target and MM2 node with it), shared by campaigns with the same settings."""
        import json

        from prozess.cluster import open_cluster

        key = json.dumps(cluster_spec.to_dict(), sort_keys=True)
        if mirror is not None:
            key = json.dumps({"cluster": cluster_spec.to_dict(), "mirror": mirror}, sort_keys=True)
        if key not in self._clusters:
            # open_cluster draws a random, unused name: no clash between xdist workers or sessions.
            if mirror is not None:
                from prozess.cluster.mirror import open_mirror

                cluster = open_mirror(cluster_spec, mirror, backend=self.backend, keep=self.keep)
            else:
                cluster = open_cluster(cluster_spec, backend=self.backend, keep=self.keep)
            self._clusters[key] = cluster
            cluster.up()
        return self._clusters[key]

    def close(self) -> None:
        errors = []
        for cluster in self._clusters.values():
            if self.keep:
                continue
            try:
                cluster.down()
            except Exception as e:  # keep tearing the others down; report all at the end
                errors.append(f"{cluster.name}: {e}")
        self._clusters.clear()
        if errors:
            raise RuntimeError("could not tear down every prozess cluster: " + "; ".join(errors))


@pytest.fixture(scope="session")
def prozess_clusters(request: pytest.FixtureRequest):
    """The session's pool of clusters (see `ClusterPool`)."""
    config = request.config
    keep = config.getoption("prozess_keep_cluster", default=None)
    if keep is None:
        keep = bool(config.getini("prozess_keep_cluster"))
    pool = ClusterPool(option(config, "backend"), keep)
    try:
        yield pool
    finally:
        pool.close()


def _marker_spec(node: pytest.Item) -> dict[str, Any]:
    """Keywords of every prozess marker on the test, closest last (so the closest wins)."""
    spec: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers("prozess"))):
        # Copies: a marker's dicts are shared by every parametrized test and every campaign they run.
        spec.update(copy.deepcopy(mark.kwargs))
    return spec


def _explicit(config: pytest.Config, name: str, kind: type) -> Any:
    """The option's value if given on the command line, else None."""
    return _convert(config.getoption(_ini_name(name), default=None), kind, f"--prozess-{name}")


def _spec_for(request: pytest.FixtureRequest, overrides: dict[str, Any]):
    """A TestSpec: ini values, under the marker, under the call's keywords, under explicit command-line options."""
    import zlib

    from prozess.spec import TestSpec

    config = request.config
    data: dict[str, Any] = {"backend": option(config, "backend")}
    cluster: dict[str, Any] = {}
    ini_time = _typed(config, "time-limit", float)
    if ini_time is not None:
        data["time_limit"] = ini_time
    ini_nodes = _typed(config, "nodes", int)
    if ini_nodes is not None:
        cluster["nodes"] = ini_nodes
    merged = {**_marker_spec(request.node), **copy.deepcopy(overrides)}
    cluster.update(merged.pop("cluster", {}) or {})
    callspec = getattr(request.node, "callspec", None)
    target = callspec.params.get("prozess_kafka") if callspec is not None else None
    if target:
        cluster["kafka_version"], cluster["metadata"] = target
    data.update(merged)
    for name, kind, key in (("time-limit", float, "time_limit"), ("seed", int, "seed"), ("backend", str, "backend")):
        value = _explicit(config, name, kind)
        if value is not None:
            data[key] = value
    nodes = _explicit(config, "nodes", int)
    if nodes is not None:
        cluster["nodes"] = nodes
    data["cluster"] = cluster
    if data.get("seed") is None:
        ini_seed = _typed(config, "seed", int)
        data["seed"] = ini_seed if ini_seed is not None else zlib.crc32(request.node.nodeid.encode())
    if "name" not in data:
        data["name"] = re.sub(r"[^A-Za-z0-9._=+-]+", "-", request.node.name).strip("-")
    data["results_dir"] = str(option(config, "results-dir"))
    spec = TestSpec.from_dict(data, source=f"prozess marker of {request.node.nodeid}")
    spec.validate()
    return spec


@pytest.fixture
def prozess_spec(request: pytest.FixtureRequest, prozess_kafka: Any):
    """The test spec this test's campaigns start from (options, ini and marker resolved)."""
    return _spec_for(request, {})


@pytest.fixture
def prozess_cluster(request: pytest.FixtureRequest, prozess_clusters: ClusterPool, prozess_kafka: Any):
    """A running cluster for this test's spec (marker `preset`/`cluster`), shared across the session."""
    spec = _spec_for(request, {})
    return prozess_clusters.get(spec.cluster_spec())


@pytest.fixture
def prozess_campaign(request: pytest.FixtureRequest, prozess_clusters: ClusterPool, prozess_kafka: Any) -> Callable[..., Campaign]:
    """Runs one campaign: `prozess_campaign(**spec_overrides) -> Campaign`.

    By default an invalid verdict fails the test (`check=False` returns the
    campaign for the test to judge itself); an unknown verdict does what
    `--prozess-unknown` says.
    """
    from prozess.runner import run_test

    unknown_mode = option(request.config, "unknown")
    if unknown_mode not in ("fail", "xfail", "pass"):
        raise pytest.UsageError(f"--prozess-unknown / ini prozess_unknown: {unknown_mode!r}; choose fail, xfail or pass")

    def run(*, check: bool = True, **overrides: Any) -> Campaign:
        spec = _spec_for(request, overrides)
        # Campaigns share clusters: topics of their own keep one run's records out of the next one's history.
        prozess_clusters.campaigns += 1
        spec.workload_options.setdefault("topic_prefix", f"c{os.getpid() % 100000}-{prozess_clusters.campaigns}{_worker_suffix()}")
        mirror = None
        if spec.workload == "mirror" and not spec.workload_options.get("target_bootstrap"):
            from prozess.cluster.mirror import setup_options

            mirror = setup_options(spec.workload_options)  # prozess makes the target and MM2 node as well
        cluster = None if spec.bootstrap else prozess_clusters.get(spec.cluster_spec(), mirror)
        outcome = run_test(spec, cluster=cluster, progress=False)
        campaign = Campaign(outcome.valid, outcome.results, Path(outcome.run_dir) if outcome.run_dir else None, spec.__dict__.copy())
        request.node.user_properties.extend(junit_properties(campaign))
        unavailable = campaign.results.get("unavailable-faults") or {}
        if unavailable and campaign.valid is not False:  # an anomaly found under the other faults still fails
            pytest.skip("; ".join(f"fault {kind} {why}" for kind, why in sorted(unavailable.items())))
        if check:
            if campaign.valid is False:
                pytest.fail(format_failure(campaign), pytrace=False)
            if campaign.valid not in (True, False):
                if unknown_mode == "fail":
                    pytest.fail(format_failure(campaign), pytrace=False)
                if unknown_mode == "xfail":
                    pytest.xfail(format_failure(campaign))
        return campaign

    return run
