"""The test spec: everything one run needs, as plain data, saved in full as test.json.

A spec comes from defaults, then a TOML file, then command-line flags (each
later source overrides the earlier). Saved to test.json, it replays the run:
same cluster, workload options, client settings, faults, limits and seed.

TOML layout (every key optional)::

    name = "queue-safe"
    workload = "queue"
    seed = 7
    time_limit = 60          # seconds of the main phase
    op_limit = 100000        # invocations of the main phase
    rate = 200               # ops/s over all processes (0: unlimited)
    concurrency = 10         # worker processes
    preset = "safe"          # cluster preset (safe, unsafe, ...)
    backend = "docker"       # docker, netns, ssh
    bootstrap = "host:9092"  # use an existing cluster instead of starting one (no faults)
    attach = "pz-1a2b3c"     # or a cluster started by `prozess cluster up` (faults work)
    faults = ["kill", "partition"]
    keep_cluster = false
    checkers = ["queue", "stats", "perf"]
    ww_deps = false          # infer write-write order from offsets (Jepsen's :ww-deps): G0 shows
    allow = ["poll-skip"]    # anomaly types that do not make the run invalid (informational)
    forbid = ["G0"]          # anomaly types that do, even where Kafka's model allows them

    [cluster]                # prozess.cluster ClusterSpec fields (over the preset)
    nodes = 3

    [client]                 # client library and producer/consumer settings
    library = "confluent"    # or "kafka-python"
    acks = "all"
    idempotence = true
    isolation = "read_committed"
    properties_file = "client.properties"   # SASL/SSL etc., passed through

    [workload]               # the workload's options fields (prozess.workloads.registry: queue -> QueueOptions)
    key_count = 8            # (with a [workload] table, its `name` names the workload: TOML allows
                             #  no `workload = "..."` beside it; [workload_options] is the same table)

    [nemesis]                # options for the fault injector (interval_s, ...)
    interval_s = 10
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prozess.workloads.registry import WORKLOADS
from prozess.workloads.registry import entry as workload_entry

__all__ = ["SpecError", "TestSpec", "read_properties", "CLIENT_DEFAULTS"]


class SpecError(ValueError):
    """A test spec that cannot be run; the message names the field or file and what to do."""


CLIENT_DEFAULTS: dict[str, Any] = {
    "library": "confluent",
    "acks": "all",
    "idempotence": True,
    "retries": None,
    "isolation": "read_committed",
    "auto_offset_reset": "earliest",
    "transactions": False,
    "timeout_s": 5.0,
    "properties_file": None,
    "properties": {},
}

BACKENDS = ("docker", "netns", "ssh")


def read_properties(path: str | os.PathLike) -> dict[str, str]:
    """Reads a Java-style .properties file (key=value or key: value; # and ! comments)."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"client properties file {p} does not exist; pass an existing file to --client-properties")
    out: dict[str, str] = {}
    for n, raw in enumerate(p.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        sep = min((i for i in (line.find("="), line.find(":")) if i > 0), default=-1)
        if sep < 0:
            raise SpecError(f"{p}:{n}: expected key=value, got {raw!r}")
        out[line[:sep].strip()] = line[sep + 1 :].strip()
    return out


#: Fields the runner and the nemesis add to a run's test.json (not part of a spec): a stored
#: run's test.json is read back as a spec (replay) with these set aside.
RUN_WRITTEN_FIELDS = frozenset({
    "versions", "started", "finished", "run_dir", "cluster_name", "bootstrap_servers", "topics", "duration-s",
    "fault_edges", "targeted", "unavailable-apis", "nemesis_log", "mirror",
})


@dataclass
class TestSpec:
    """One test: cluster + workload + client + faults + limits + seed. See the module docstring."""

    __test__ = False  # not a pytest test class

    name: str = "queue"
    workload: str = "queue"
    seed: int | None = None
    time_limit: float = 60.0
    op_limit: int | None = None
    rate: float = 200.0
    concurrency: int = 10
    preset: str = "safe"
    backend: str = "docker"
    bootstrap: str | None = None
    attach: str | None = None            # name of a cluster started by `prozess cluster up`
    keep_cluster: bool = False
    cluster: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=lambda: dict(CLIENT_DEFAULTS))
    workload_options: dict[str, Any] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    nemesis: dict[str, Any] = field(default_factory=dict)
    checkers: list[str] | None = None
    ww_deps: bool = False                # infer ww order from offsets in the txn graph (Jepsen's :ww-deps)
    allow: list[str] = field(default_factory=list)   # anomaly types moved to informational
    forbid: list[str] = field(default_factory=list)  # anomaly types that invalidate even where Kafka allows them
    results_dir: str | None = None
    # Set by the nemesis on the first run and saved in test.json; a replay hands it back so the same faults hit the same nodes.
    nemesis_schedule: list[dict[str, Any]] | None = None
    # The run this one replays (its directory), when it is a replay.
    replay_of: str | None = None

    def __post_init__(self) -> None:
        self.client = {**CLIENT_DEFAULTS, **(self.client or {})}

    # -- building ----------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "TestSpec":
        import tomllib

        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise SpecError(f"test spec file {p} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{p}: not valid TOML ({e})") from None
        if "workload" in data and isinstance(data["workload"], dict):
            # TOML cannot hold `workload = "mirror"` beside a [workload] table, so the table names it.
            table = dict(data.pop("workload"))
            if "workload_options" in data:
                raise SpecError(f"{p}: both [workload] and [workload_options] give workload options; keep one of them")
            if "name" in table:
                data["workload"] = table.pop("name")
            data["workload_options"] = table
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "test spec") -> "TestSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known - RUN_WRITTEN_FIELDS)
        if unknown:
            raise SpecError(f"{source}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def override(self, **changes: Any) -> "TestSpec":
        """Applies flag values that are not None (nested: client_*, cluster_*)."""
        for k, v in changes.items():
            if v is None:
                continue
            if k.startswith("client_"):
                self.client[k[len("client_") :]] = v
            elif k.startswith("cluster_"):
                self.cluster[k[len("cluster_") :]] = v
            elif k.startswith("workload_"):
                self.workload_options[k[len("workload_") :]] = v
            else:
                if not hasattr(self, k):
                    raise SpecError(f"unknown test spec field {k!r}")
                setattr(self, k, v)
        return self

    # -- derived -------------------------------------------------------------
    def cluster_spec(self) -> Any:
        """The prozess.cluster ClusterSpec: the preset with `cluster` fields over it."""
        from prozess.cluster.spec import ClusterSpec

        try:
            return ClusterSpec.preset(self.preset, **self.cluster)
        except (TypeError, ValueError) as e:
            raise SpecError(f"cluster: {e}") from None

    def client_properties(self) -> dict[str, str]:
        props: dict[str, str] = {}
        if self.client.get("properties_file"):
            props.update(read_properties(self.client["properties_file"]))
        props.update({str(k): str(v) for k, v in (self.client.get("properties") or {}).items()})
        return props

    def validate(self) -> None:
        def bad(name: str, why: str) -> SpecError:
            return SpecError(f"{name}={getattr(self, name)!r} {why}")

        from prozess.store import StoreError, safe_test_name

        if not isinstance(self.name, str):
            raise bad("name", "must be a string")
        try:
            safe_test_name(self.name)
        except StoreError as e:
            raise SpecError(str(e)) from None
        if self.workload not in WORKLOADS:
            raise bad("workload", f"is not a known workload; choose one of {', '.join(WORKLOADS)}")
        if not isinstance(self.time_limit, (int, float)) or not 0 < self.time_limit <= 7 * 24 * 3600:
            raise bad("time_limit", "must be a positive number of seconds")
        if self.op_limit is not None and (not isinstance(self.op_limit, int) or self.op_limit < 1):
            raise bad("op_limit", "must be a positive integer (or unset)")
        if not isinstance(self.rate, (int, float)) or self.rate < 0:
            raise bad("rate", "must be a non-negative number of ops/s (0: unlimited)")
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 1000:
            raise bad("concurrency", "must be an integer from 1 to 1000")
        if self.backend not in BACKENDS:
            raise bad("backend", f"must be one of {', '.join(BACKENDS)}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise bad("seed", "must be an integer")
        if not isinstance(self.faults, list) or not all(isinstance(f, str) and f for f in self.faults):
            raise bad("faults", "must be a list of fault names")
        if not isinstance(self.ww_deps, bool):
            raise bad("ww_deps", "must be true or false")
        from prozess.checkers.policy import PolicyError, options

        try:
            options({"allow": self.allow, "forbid": self.forbid})
        except PolicyError as e:
            raise SpecError(str(e)) from None
        if self.client.get("library") not in ("confluent", "kafka-python"):
            raise SpecError(f"client.library={self.client.get('library')!r} must be confluent or kafka-python")
        acks = str(self.client.get("acks"))
        if acks not in ("0", "1", "all", "-1"):
            raise SpecError(f"client.acks={self.client.get('acks')!r} must be 0, 1 or all")
        self.client["acks"] = acks
        if self.client.get("isolation") not in ("read_committed", "read_uncommitted"):
            raise SpecError(f"client.isolation={self.client.get('isolation')!r} must be read_committed or read_uncommitted")
        if self.client.get("transactions") and not self.client.get("idempotence"):
            raise SpecError("client.transactions needs client.idempotence; drop --no-idempotence or turn transactions off")
        if self.bootstrap and self.attach:
            raise SpecError("pass either --bootstrap (any cluster) or --cluster NAME (one prozess started), not both")
        if self.bootstrap and self.faults:
            raise SpecError("--faults needs nodes prozess controls; for a cluster started by `prozess cluster up` "
                            "pass --cluster NAME instead of --bootstrap, or drop --faults")
        if self.bootstrap is None:
            self.cluster_spec()  # raises on a bad preset or cluster field
        try:
            workload_entry(self.workload).options.from_dict(dict(self.workload_options)).validate()
        except (TypeError, ValueError) as e:
            raise SpecError(f"workload: {e}") from None
        if self.workload != "mirror" and self.faults:
            from prozess.nemesis.mirror import KINDS as MIRROR_KINDS

            named = {k.strip() for f in self.faults for part in f.split(",") for k in part.split("+")}
            if named & set(MIRROR_KINDS):
                raise SpecError(f"faults: {', '.join(sorted(named & set(MIRROR_KINDS)))} act on MirrorMaker 2, which only a "
                                "mirror campaign has; add --workload mirror or drop them")
        if self.workload == "mirror" and self.bootstrap and not self.workload_options.get("target_bootstrap"):
            # prozess makes the target (and MM2) only for clusters it makes itself
            raise SpecError("workload: the mirror workload against --bootstrap needs target_bootstrap (the cluster "
                            "MirrorMaker 2 copies into); or drop --bootstrap and prozess makes both clusters and MM2")
        if self.client.get("properties_file"):
            read_properties(self.client["properties_file"])
        props = self.client.get("properties") or {}
        if not isinstance(props, dict):
            raise SpecError("client.properties must be a table of key = value")
        for k, v in props.items():
            if not str(k).strip() or any(c in str(k) + str(v) for c in "\n\r\x00"):
                raise SpecError(f"client.properties entry {str(k)!r}={str(v)!r} must be a key and a value on one line")

    def resolve_seed(self) -> int:
        """Fixes a random seed if none was given (so test.json always holds the one used)."""
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(1, 2**31)
        return self.seed

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if self.bootstrap is None:
            try:
                d["cluster"] = self.cluster_spec().to_dict()
            except SpecError:
                pass
        return d
