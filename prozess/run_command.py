"""`prozess run`: run one test from a TOML spec and/or flags, check it, report it.

Exit codes as `prozess check`: 0 valid, 1 invalid, 2 bad input, 3 unknown
(also for a run cut short by an error). A Ctrl-C stops the workload, heals,
tears down, and still checks and reports the history recorded so far.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from prozess.exits import exit_code_for, fail

__all__ = ["run"]


class Client(str, Enum):
    confluent = "confluent"
    kafka_python = "kafka-python"


class Isolation(str, Enum):
    read_committed = "read_committed"
    read_uncommitted = "read_uncommitted"


PRESETS = Path(__file__).resolve().parent / "presets"


def preset_path(spec_file: Path) -> Path:
    """A spec file as given, or, when no such file exists, a named campaign preset (`--spec soak`)."""
    if not spec_file.exists() and spec_file.suffix == "" and (PRESETS / f"{spec_file.name}.toml").is_file():
        return PRESETS / f"{spec_file.name}.toml"
    return spec_file


def run(
    spec_file: Optional[Path] = typer.Option(None, "--spec", help="A TOML test spec, or a campaign preset's name (soak); flags override its values."),
    workload: Optional[str] = typer.Option(None, "--workload", help="Workload to run (queue, eos, group, compaction, mirror: a source and a target cluster with MirrorMaker 2 between them)."),
    name: Optional[str] = typer.Option(None, "--name", help="Test name (the run directory's parent)."),
    nodes: Optional[int] = typer.Option(None, "--nodes", help="Number of Kafka nodes."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Cluster preset: safe, unsafe, unsafe-unclean, unsafe-min-isr."),
    replication_factor: Optional[int] = typer.Option(None, "--replication-factor", help="Replication factor of the workload's topics (default: the preset's, 3)."),
    min_insync_replicas: Optional[int] = typer.Option(None, "--min-insync-replicas", help="min.insync.replicas of the workload's topics."),
    kafka_version: Optional[str] = typer.Option(None, "--kafka-version", help="Apache Kafka release to start, 3.7.x-4.4.x (default 4.4.0)."),
    metadata: Optional[str] = typer.Option(None, "--metadata", help="kraft, or zookeeper (Kafka 3.7-3.9: a 3-node ZooKeeper ensemble on nodes of its own)."),
    system: Optional[str] = typer.Option(None, "--system", help="System on trial: kafka (default) or tansu (Tansu brokers on PostgreSQL)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Node backend: docker, netns, ssh."),
    bootstrap: Optional[str] = typer.Option(None, "--bootstrap", help="HOST:PORT[,...] of an existing cluster to test instead of starting one."),
    attach: Optional[str] = typer.Option(None, "--cluster", help="Run against the cluster NAME started by `prozess cluster up` (faults work; it is left running)."),
    client_properties: Optional[Path] = typer.Option(None, "--client-properties", help="Client settings (SASL/SSL, ...) as a .properties file, passed through."),
    acks: Optional[str] = typer.Option(None, "--acks", help="Producer acks: 0, 1 or all."),
    idempotence: Optional[bool] = typer.Option(None, "--idempotence/--no-idempotence", help="Idempotent producer."),
    transactions: Optional[bool] = typer.Option(None, "--transactions/--no-transactions", help="Transactional producer and mixed txn ops."),
    retries: Optional[int] = typer.Option(None, "--retries", help="Producer retries (default: the client's)."),
    isolation: Optional[Isolation] = typer.Option(None, "--isolation", help="Consumer isolation level."),
    auto_offset_reset: Optional[str] = typer.Option(None, "--auto-offset-reset", help="Consumer auto.offset.reset: earliest, latest, none."),
    faults: Optional[str] = typer.Option(None, "--faults", help="Comma-separated faults, e.g. kill,partition."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds of workload (main phase)."),
    op_limit: Optional[int] = typer.Option(None, "--op-limit", help="At most this many ops in the main phase."),
    rate: Optional[float] = typer.Option(None, "--rate", help="Total ops/s over all processes (0: unlimited)."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Worker processes (one client each)."),
    client: Optional[Client] = typer.Option(None, "--client", help="Client library."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the generator and fault schedule (default: random, saved)."),
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", envvar="PROZESS_RESULTS_DIR", help="Where runs are stored (default ./results)."),
    keep_cluster: Optional[bool] = typer.Option(None, "--keep-cluster/--no-keep-cluster", help="Leave the cluster running after the run."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Live progress display (default: on a terminal)."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json on stdout."),
    ww_deps: Optional[bool] = typer.Option(None, "--ww-deps/--no-ww-deps", help="Infer write-write order from offsets in the txn graph (Jepsen's :ww-deps): G0 shows, ww-based G1c is allowed."),
    allow: Optional[str] = typer.Option(None, "--allow", help="TYPE[,TYPE]: anomaly types that do not make the run invalid (informational)."),
    forbid: Optional[str] = typer.Option(None, "--forbid", help="TYPE[,TYPE]: anomaly types that make it invalid even where Kafka's model allows them (e.g. G0)."),
) -> None:
    """Run a test against a real Kafka cluster, check it and report it. Exit 0 valid, 1 invalid, 2 bad input, 3 unknown."""
    from prozess.spec import SpecError, TestSpec

    try:
        spec = TestSpec.from_toml(preset_path(spec_file)) if spec_file else TestSpec()
        spec.override(
            workload=workload,
            name=name,
            preset=preset,
            backend=backend,
            bootstrap=bootstrap,
            attach=attach,
            time_limit=time_limit,
            op_limit=op_limit,
            rate=rate,
            concurrency=concurrency,
            seed=seed,
            keep_cluster=keep_cluster,
            results_dir=str(results_dir) if results_dir else None,
            faults=[f.strip() for f in faults.split(",") if f.strip()] if faults is not None else None,
            cluster_nodes=nodes,
            cluster_replication_factor=replication_factor,
            cluster_min_insync_replicas=min_insync_replicas,
            cluster_kafka_version=kafka_version,
            cluster_metadata=metadata,
            cluster_system=system,
            client_library=client.value if client else None,
            client_acks=acks,
            client_idempotence=idempotence,
            client_transactions=transactions,
            client_retries=retries,
            client_isolation=isolation.value if isolation else None,
            client_auto_offset_reset=auto_offset_reset,
            client_properties_file=str(client_properties) if client_properties else None,
            ww_deps=ww_deps,
            allow=[t.strip() for t in allow.split(",") if t.strip()] if allow is not None else None,
            forbid=[t.strip() for t in forbid.split(",") if t.strip()] if forbid is not None else None,
        )
        if name is None and spec_file is None:
            spec.name = _default_name(spec)
        spec.validate()
        if not (spec.bootstrap or spec.attach):
            _ensure_artifacts(spec.cluster_spec())
    except SpecError as e:
        fail(str(e))
        return
    from prozess.runner import RunError, run_test

    try:
        outcome = run_test(spec, progress=progress)
    except RunError as e:
        fail(str(e))
        return
    import json
    import sys

    if as_json:
        sys.stdout.write(json.dumps(outcome.results, indent=2, default=str) + "\n")
    else:
        try:
            from prozess.checkers import summary

            system = _system_line(spec)
            if system:
                typer.echo(system)
            typer.echo(summary(outcome.results))
        except Exception:
            typer.echo(f"valid: {outcome.valid}")
        for line in _fault_lines(outcome.results):
            typer.echo(line)
        if outcome.error:
            typer.echo(f"note: {outcome.error}", err=True)
        cl = (outcome.results.get("run") or {}).get("client_log") or {}
        if cl.get("path"):
            typer.echo(f"client log: {cl.get('warnings', 0)} warnings, {cl.get('errors', 0)} errors in {outcome.run_dir / cl['path']}")
        typer.echo(f"run: {outcome.run_dir}")
    raise typer.Exit(exit_code_for(outcome.valid))


def _fault_lines(results: dict) -> list[str]:
    """The verdict block's fault accounting: one line per requested kind, then why a verdict is unknown."""
    faults = results.get("faults")
    if not isinstance(faults, dict) or not faults.get("kinds"):
        return []
    from prozess.nemesis.accounting import summary_lines

    lines = ["faults:"] + [f"  {line}" for line in summary_lines(faults)]
    for kind, why in sorted((results.get("faults-not-applied") or {}).items()):
        lines.append(f"  => verdict unknown: fault {kind} never took effect ({why})")
    return lines


def _system_line(spec: object) -> str:
    """E.g. "system: Apache Kafka 3.9.1 (ZooKeeper mode)" for a cluster prozess started."""
    if spec.bootstrap or spec.attach:  # type: ignore[attr-defined]
        return ""
    try:
        c = spec.cluster_spec()  # type: ignore[attr-defined]
    except Exception:
        return ""
    if getattr(c, "system", "kafka") == "tansu":
        return f"system: Tansu {c.tansu_version} (PostgreSQL storage on its own node)"
    return f"system: Apache Kafka {c.kafka_version} ({'ZooKeeper' if c.metadata == 'zookeeper' else 'KRaft'} mode)"


def _ensure_artifacts(cspec: object) -> None:
    """Resolves the Kafka release's jars before anything starts, so a release Maven Central
    does not have is one clear error (exit 2), not a failed run."""
    from prozess.cluster.jars import ensure_jars
    from prozess.setup import SetupError
    from prozess.spec import SpecError

    try:
        if getattr(cspec, "system", "kafka") == "tansu":
            from prozess.cluster.tansu import ensure_tansu

            ensure_tansu(cspec.tansu_version)  # type: ignore[attr-defined]
        else:
            ensure_jars(cspec.kafka_version)  # type: ignore[attr-defined]
    except SetupError as e:  # JarsError, TansuError
        raise SpecError(str(e)) from None


def _default_name(spec: object) -> str:
    c = spec.client  # type: ignore[attr-defined]
    parts = [spec.workload, spec.preset if not (spec.bootstrap or spec.attach) else "existing", f"acks{c['acks']}"]  # type: ignore[attr-defined]
    if spec.faults:  # type: ignore[attr-defined]
        parts.append("+".join(spec.faults))  # type: ignore[attr-defined]
    return "-".join(parts)
