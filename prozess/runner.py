"""The runner: the lifecycle of one test against a real cluster; leaves a checked run directory.

    run_test(spec) -> RunOutcome

1. Validates the spec, creates the run directory (`prozess.store.new_run`)
   and writes test.json.
2. Brings a cluster up (`prozess.cluster.open_cluster`), or uses the one
   given (`cluster=`), or an existing one by `spec.bootstrap`.
3. Builds the workload, its client options and topic manager, and sets the
   nemesis up.
4. Hands them to the interpreter (`prozess.interpreter`): the main phase
   (`spec.concurrency` workers plus the nemesis worker until the time limit,
   the op limit, or a stop by SIGINT/SIGTERM), a `heal-all`, then the
   workload's final phase (every worker re-reads all keys), bounded by its own
   time limit (10 s after a stop; a second Ctrl-C skips it). Every op is
   appended to history.jsonl as it happens.
5. In `finally`, on every exit path: heals, tears the nemesis down, collects
   node logs into nodes/, and tears the cluster down (unless kept).
6. Checks the history (`prozess.checkers.check`), applies the verdict
   downgrades (`downgrade_verdict`: a run cannot vouch for more than it did),
   writes results.json, and renders report.html (`prozess.report.write_report`).

Worker semantics (Jepsen's interpreter: process replacement after `info`,
crash ops, bounds) live in `prozess.interpreter`, which runs without a
cluster and is unit-tested with fakes.

The nemesis protocol (`Nemesis`) is owned by `prozess.nemesis.protocol`.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from prozess.generator import Stagger
from prozess.history import Op
from prozess.interpreter import Bounds, Interpreter, SafeWriter
from prozess.nemesis.protocol import Nemesis

__all__ = ["Nemesis", "NoopNemesis", "RunOutcome", "RunError", "SafeWriter", "run_test", "build_nemesis", "downgrade_verdict"]

log = logging.getLogger("prozess.runner")


class RunError(RuntimeError):
    """A run that could not start (bad spec, no cluster); the message says what to do."""


class _CannotRun(RuntimeError):
    """The main phase showed the run cannot work (every op failed the same way); ends it without final reads."""


class NoopNemesis:
    """The nemesis of a test without faults: schedules nothing, heals nothing."""

    def setup(self, cluster: Any, test: dict[str, Any]) -> None:
        pass

    def schedule(self, test: dict[str, Any], rng: random.Random) -> Iterable[tuple[float, str, Any]]:
        return ()

    def invoke(self, f: str, value: Any) -> tuple[str, Any]:
        return "info", value

    def heal_all(self) -> None:
        pass

    def teardown(self) -> None:
        pass


def build_nemesis(faults: list[str], options: dict[str, Any]) -> Nemesis:
    """The nemesis for `faults` from prozess.nemesis; a no-op one when there are no faults."""
    if not faults:
        return NoopNemesis()
    from prozess.nemesis.combined import build_nemesis as build

    try:
        return build(list(faults), dict(options))
    except ValueError as e:
        raise RunError(f"faults: {e}") from None


@dataclass
class RunOutcome:
    """What a run left: its directory, the checker result and how it ended."""

    run_dir: Path
    results: dict[str, Any]
    interrupted: bool = False
    ops: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> Any:
        return self.results.get("valid", "unknown")


class _Stop:
    """SIGINT/SIGTERM handling: the first signal asks the run to stop cleanly; a second one raises."""

    def __init__(self, event: threading.Event):
        self.event = event
        self.saved: dict[int, Any] = {}
        self.signal: str | None = None

    def __enter__(self) -> "_Stop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.event.is_set():
            raise KeyboardInterrupt(f"second {name}")
        self.signal = name
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


class _Progress:
    """The interpreter's observer for the progress display: phases, completions, active faults."""

    def __init__(self, stats: Any, test: dict[str, Any] | None = None):
        self.stats = stats
        self.test = test if test is not None else {}  # the nemesis writes its "fault_edges" here when it schedules

    def phase(self, name: str) -> None:
        self.stats.set_phase(name)
        if name == "main":
            self.stats.started = time.monotonic()

    def completed(self, type: str) -> None:
        self.stats.op(type)

    def fault(self, f: str, value: Any, failed: bool) -> None:
        _track_fault(self.stats, f, value, failed=failed, edges=self.test.get("fault_edges"))


def _track_fault(stats: Any, f: str, value: Any, *, failed: bool = False, edges: Any = None) -> None:
    """Keeps the progress display's list of active faults, by the start/stop pairs the nemesis wrote into the test.

    `edges`: f -> [kind, "start" | "stop"] (test["fault_edges"]). A start that
    failed opens nothing; it is counted as a failed fault instead.
    """
    edge = tuple(edges[f]) if isinstance(edges, dict) and edges.get(f) else None
    if failed and edge is not None and edge[1] == "start":
        stats.fault_failed(edge[0])
        return
    if f.startswith("heal"):
        for name in list(stats.faults):
            stats.fault_ended(name)
        return
    if edge is None:
        return
    kind, side = edge
    if side == "start":
        stats.fault_started(kind, value)
    else:
        stats.fault_ended(kind)


def _run_partitions(topics: Any, keymap: Any) -> Any:
    """A callable listing every (topic, partition) the workload has created so far, for live nemesis targets."""

    def partitions() -> list[tuple[str, int]]:
        return [(keymap.topic_name(i), p) for i in sorted(topics.created) for p in range(keymap.partitions_per_topic)]

    return partitions


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _open_cluster(spec: Any) -> Any:
    from prozess.cluster import open_cluster

    cspec = spec.cluster_spec()
    from prozess.nemesis.disk import KINDS as DISK_KINDS
    from prozess.nemesis.schedule import parse_faults

    if spec.workload == "mirror":
        # A mirror campaign: the run's cluster is the source; a target and an MM2 node come with it.
        from prozess.cluster.mirror import open_mirror

        return open_mirror(cspec, spec.workload_options, backend=spec.backend, keep=spec.keep_cluster)
    if any(k in DISK_KINDS for group in parse_faults(spec.faults) for k in group):
        # Disk faults need the FUSE layer under the data directory, made with the nodes.
        return open_cluster(cspec, backend=spec.backend, keep=spec.keep_cluster, disk_faults=True)
    return open_cluster(cspec, backend=spec.backend, keep=spec.keep_cluster)


def _attach_cluster(name: str) -> Any:
    from prozess.cluster import attach_cluster

    try:
        return attach_cluster(name)
    except Exception as e:
        raise RunError(f"cannot attach cluster {name!r}: {e}") from None


def _check(run_dir: Path, test: dict[str, Any]) -> dict[str, Any]:
    """Runs the checkers on the recorded history; any failure becomes `unknown` with the reason."""
    from prozess.checking import check_history, unknown
    from prozess.store import Run

    history = Run(run_dir).history_path
    if not history.exists():
        return unknown("no ops recorded: the run ended before the workload started")
    return check_history(history, test, test.get("checkers")).result


def _report(run_dir: Path) -> str | None:
    from prozess.report import write_report

    try:
        write_report(run_dir)
        return None
    except Exception as e:
        return f"report failed: {type(e).__name__}: {e}"


def run_test(
    spec: Any,
    *,
    cluster: Any = None,
    nemesis: Nemesis | None = None,
    progress: bool | None = None,
    stop: threading.Event | None = None,
    run_dir: Path | None = None,
) -> RunOutcome:
    """Runs `spec` (a `prozess.spec.TestSpec`) and returns the outcome; see the module docstring.

    `cluster`: an already-running `Cluster` to use (not torn down here).
    `nemesis`: overrides `build_nemesis(spec.faults, spec.nemesis)`.
    `stop`: an event another thread may set to end the run early, like SIGINT.
    """
    from prozess.client_log import ClientLog
    from prozess.progress import ProgressDisplay, RunStats
    from prozess.spec import SpecError
    from prozess.store import Run, new_run, versions, write_json
    from prozess.workloads.clients.admin import TopicManager

    _validate(spec)
    seed = spec.resolve_seed()
    nemesis = nemesis or build_nemesis(spec.faults, spec.nemesis)
    if cluster is None and spec.attach:
        cluster = _attach_cluster(spec.attach)  # started by `prozess cluster up`: not ours to tear down
    run = new_run(spec.results_dir, spec.name) if run_dir is None else Run(Path(run_dir))
    rdir = run.path
    rdir.mkdir(parents=True, exist_ok=True)
    run.nodes_dir.mkdir(exist_ok=True)
    test = spec.to_dict()
    kafka_version = (test.get("cluster") or {}).get("kafka_version")
    test.update({"versions": versions(kafka_version), "started": _now_iso()})
    write_json(run.test_path, test)

    stats = RunStats(spec.time_limit)
    stop_event = stop or threading.Event()
    own_cluster = False
    interp: Interpreter | None = None
    writer: SafeWriter | None = None
    interrupted = False
    error: str | None = None
    extra: dict[str, Any] = {}
    client_log = ClientLog(run.client_log_path)
    with _Stop(stop_event) as sig, ProgressDisplay(stats, enabled=progress), client_log:
        try:
            # -- cluster -----------------------------------------------------
            stats.set_phase("cluster")
            cspec = None if spec.bootstrap else spec.cluster_spec()
            if cluster is not None and getattr(cluster, "spec", None) is not None:  # attached or handed in: record what runs
                cspec = cluster.spec
                test["cluster"] = cspec.to_dict()
                test["versions"] = versions(cspec.kafka_version)
            if spec.bootstrap and cluster is None:
                if spec.faults:
                    raise RunError("--faults needs nodes prozess controls; for a cluster started by `prozess cluster up` "
                                   "pass --cluster NAME instead of --bootstrap, or drop --faults")
                bootstrap = spec.bootstrap
            else:
                if cluster is None:
                    cluster = _open_cluster(spec)
                    own_cluster = True
                    cluster.up()
                bootstrap = cluster.bootstrap_servers()
            test["bootstrap_servers"] = bootstrap
            if cluster is not None:
                test["cluster_name"] = getattr(cluster, "name", None)
            mirror_options = cluster.workload_options() if hasattr(cluster, "workload_options") else {}
            if mirror_options:  # a mirror set-up: where MM2 copies to, for the workload and the record
                test["mirror"] = cluster.describe()
            elif spec.workload == "mirror" and not spec.workload_options.get("target_bootstrap"):
                raise RunError(f"cluster {getattr(cluster, 'name', bootstrap)} has no mirror target; run the mirror workload without "
                               "--cluster (prozess makes source, target and MirrorMaker 2), or give workload option target_bootstrap")
            write_json(run.test_path, test)  # now with the cluster's name: `prozess heal NAME` works mid-run
            # -- workload ----------------------------------------------------
            copts = _client_options(spec, bootstrap, rdir.name)
            from prozess.cluster.api_versions import missing_apis

            lacking = missing_apis(bootstrap, spec.workload, idempotence=copts.idempotence, transactions=copts.transactions)
            if lacking:  # the system cannot serve this workload: unavailable, not a failure
                test["unavailable-apis"] = lacking
                raise _Unavailable("; ".join(f"{g} needs {', '.join(apis)}, which the brokers do not support" for g, apis in sorted(lacking.items())))
            # Fresh topics per run: a reused cluster still holds earlier runs' messages.
            workload, wopts = _make_workload(spec, copts, f"prozess-{rdir.name.lower()}", mirror_options)
            test["topics"] = {"prefix": wopts.topic_prefix, "partitions_per_topic": wopts.partitions_per_topic}
            tspec = topic_settings_spec(spec, cspec)
            rf = tspec.replication_factor if tspec else int(spec.cluster.get("replication_factor", 3))
            min_isr = tspec.min_insync_replicas if tspec else spec.cluster.get("min_insync_replicas")
            unclean = bool(tspec and tspec.unclean_leader_election)
            topic_config = {"unclean.leader.election.enable": "true"} if unclean else {}
            test["topics"].update(replication_factor=rf, min_insync_replicas=min_isr, unclean_leader_election=unclean)
            topics = TopicManager(bootstrap, workload.keymap, replication_factor=rf, min_insync_replicas=min_isr, config=topic_config,
                                  extra=copts.extra, per_topic=getattr(workload, "topic_configs", None))
            writer = SafeWriter(run.history_path)
            interp = Interpreter(workload, topics, writer, concurrency=spec.concurrency, test=test, faults=bool(spec.faults),
                                 stop=stop_event, observer=_Progress(stats, test))
            # -- nemesis -----------------------------------------------------
            if hasattr(nemesis, "use_topics"):  # `leader` targets pick among the partitions the workload uses
                nemesis.use_topics(_run_partitions(topics, workload.keymap))
            nemesis.setup(cluster, {**test, "run_dir": str(rdir), "nemesis_log": str(run.nemesis_path)})
            # -- main phase with the nemesis, heal, final reads: the interpreter
            rng = random.Random(seed)
            main = Stagger(workload.generator(random.Random(rng.random())), spec.rate or None, random.Random(rng.random()))
            nemesis_rng = random.Random(rng.random())
            bounds = Bounds(time_limit_s=spec.time_limit, op_limit=spec.op_limit,
                            final_time_limit_s=wopts.final_time_limit_s, op_timeout_s=wopts.op_timeout_s)
            cannot_run = interp.run(main, workload.final_generator, nemesis, nemesis_rng, bounds)
            if cannot_run:
                raise _CannotRun(cannot_run)
        except _CannotRun as e:
            error = str(e)  # no final phase: its ops would fail the same way
        except KeyboardInterrupt as e:
            interrupted = True
            error = f"interrupted ({e})"
        except _Unavailable as e:
            error = f"unavailable: {e}"
        except RunError:
            raise
        except SpecError as e:
            raise RunError(str(e)) from None
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            log.error("run failed:\n%s", traceback.format_exc())
        finally:
            stats.set_phase("teardown")
            stop_event.set()
            if interp is not None:
                interp.halt()
            _quietly(nemesis.heal_all, "heal_all")
            _quietly(nemesis.teardown, "nemesis teardown")
            if interp is not None:
                interp.close_clients()
            if writer is not None:
                writer.close()
            if cluster is not None:
                _quietly(lambda: cluster.collect_logs(run.nodes_dir), "collect_logs")
                if own_cluster and not spec.keep_cluster:
                    _quietly(cluster.down, "cluster down")
            interrupted = interrupted or sig.signal is not None
            if sig.signal:
                error = error or f"stopped by {sig.signal}"
    # -- verdict -----------------------------------------------------------------
    test["finished"] = _now_iso()
    write_json(run.test_path, test)
    results = _check(rdir, test)
    results = dict(results)
    results["run"] = {
        "interrupted": interrupted,
        "error": error,
        "ops": len(writer) if writer is not None else 0,
        "counts": stats.snapshot()["counts"],
        "client_log": client_log.counts(),
    }
    unavailable = dict(getattr(nemesis, "unavailable", None) or {})
    if spec.faults:
        _account_faults(results, interp.nemesis_ops if interp is not None else [], test, unavailable)
    results = downgrade_verdict(results, unavailable_apis=test.get("unavailable-apis"), unavailable_faults=unavailable,
                                error=error, interrupted=interrupted)
    write_json(run.results_path, results)
    report_error = _report(rdir)
    if report_error:
        extra["report_error"] = report_error
    return RunOutcome(rdir, results, interrupted=interrupted, ops=results["run"]["ops"], error=error, extra=extra)


TOPIC_FIELDS = ("replication_factor", "min_insync_replicas", "unclean_leader_election")


def topic_settings_spec(spec: Any, cluster_spec: Any) -> Any:
    """Whose replication settings the run's topics get: the test's, when it names them, else the cluster's.

    Topics are created per run, so their replication factor, min.insync.replicas and
    unclean-election setting are the test's to choose: a test that names a preset
    other than the default or any of those fields in `[cluster]` gets them on any
    cluster, also one it attached to or was handed (the detection matrix runs its
    unsafe cells on one cluster started safe). A test that names neither takes the
    cluster's own settings (`prozess run --cluster NAME` on a cluster made unsafe).
    On brokers reached by `--bootstrap` (no cluster spec) only a named preset is
    taken whole; otherwise None, and the caller uses the fields the test names.
    """
    names_preset = spec.preset != type(spec).preset
    if cluster_spec is None:  # --bootstrap: the brokers' own defaults and the fields the test names (the caller's)
        return spec.cluster_spec() if names_preset else None
    if names_preset or any(k in spec.cluster for k in TOPIC_FIELDS):
        return spec.cluster_spec()
    return cluster_spec


def downgrade_verdict(results: Mapping[str, Any], *, unavailable_apis: Mapping[str, Any] | None = None,
                      unavailable_faults: Mapping[str, str] | None = None, error: str | None = None,
                      interrupted: bool = False) -> dict[str, Any]:
    """The verdict a run can vouch for, as a new results dict (`results` is left as it was).

    A checker's `valid: true` means "nothing wrong in what was recorded"; the run
    may have recorded less than the test asked for. Each downgrade below names
    why in `error` (an earlier error is kept):

    - the brokers lack an API the workload needs (`unavailable_apis`, from
      ApiVersions): the run never started its workload; `unknown`, with the run's
      error and `unavailable`, whatever the checkers said;
    - a fault the test asked for could not be applied on this machine
      (`unavailable_faults`, kind -> reason, e.g. netem without sch_netem): listed
      as `unavailable-faults`; `true` becomes `unknown`, `false` stays `false`
      (an anomaly found under the other faults is real);
    - the run broke off on an error (`error`, not an interrupt by the user):
      `true` becomes `unknown`. An interrupted run keeps its verdict: its prefix
      was checked as it is, and results.json says `run.interrupted`.

    (A requested fault kind that was scheduled but never took effect is the
    fault accounting's downgrade, `prozess.nemesis.accounting.verdict_notes`; a
    final phase that ran out of time before reading a key to its end is the
    `truncated-tail` checker's finding, not a downgrade.)
    """
    out = dict(results)
    if unavailable_apis:
        out.update({"valid": "unknown", "unavailable": unavailable_apis, "error": error})
    if unavailable_faults:
        # A fault the test asked for never happened: the run cannot vouch for behaviour under it.
        out["unavailable-faults"] = dict(unavailable_faults)
        if out.get("valid") is True:
            out["valid"] = "unknown"
            out.setdefault("error", "; ".join(f"fault {k} {v}" for k, v in sorted(unavailable_faults.items())))
    if error and not interrupted and out.get("valid") is True:
        out["valid"] = "unknown"  # a run that broke off on an error proves less than it seems
        out.setdefault("error", error)
    return out


def _validate(spec: Any) -> None:
    """Refuses a spec that cannot run (RunError naming the fix) before anything starts."""
    from prozess.conflicts import client_conflicts
    from prozess.spec import SpecError

    try:
        spec.validate()
    except SpecError as e:
        raise RunError(str(e)) from None
    try:
        conflicts = client_conflicts(spec.client, spec.client_properties())
    except (OSError, ValueError) as e:
        raise RunError(f"client properties: {e}") from None
    if conflicts:  # the client library would refuse every op; say so before any cluster starts
        raise RunError("; ".join(conflicts))


def _client_options(spec: Any, bootstrap: str, run_name: str) -> Any:
    """The clients' settings: the spec's client section, its properties, and ids carrying the run's name."""
    from prozess.workloads.clients.base import ClientOptions

    c = spec.client
    return ClientOptions(
        bootstrap=bootstrap,
        acks=str(c["acks"]),
        idempotence=bool(c["idempotence"]),
        retries=c.get("retries"),
        isolation=c["isolation"],
        auto_offset_reset=c.get("auto_offset_reset", "earliest"),
        transactions=bool(c.get("transactions")),
        group_id=f"prozess-{run_name}",
        client_id=f"prozess-{run_name.lower()}",
        timeout_s=float(c.get("timeout_s", 5.0)),
        extra=spec.client_properties(),
    )


def _make_workload(spec: Any, copts: Any, fresh_prefix: str, set_up: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
    """(workload, its options) for `spec.workload`, built through the one registry; topics get `fresh_prefix`
    unless the spec names a prefix; `set_up` is what the cluster says (a mirror set-up's target) and wins."""
    from prozess.workloads.registry import build as build_workload

    options = {"topic_prefix": fresh_prefix, **spec.workload_options, **(set_up or {})}
    workload = build_workload(spec.workload, options, spec.client["library"],
                              copts, concurrency=spec.concurrency)
    return workload, workload.options


def _account_faults(results: dict[str, Any], nemesis_ops: list[Op], test: dict[str, Any], unavailable: dict[str, str]) -> None:
    """results["faults"]: each action's outcome and the windows in force; a requested kind that never took effect makes the verdict unknown."""
    from prozess.nemesis.accounting import account, verdict_notes

    try:
        faults = account(nemesis_ops, faults=test.get("faults"), schedule=test.get("nemesis_schedule"), unavailable=unavailable)
    except Exception as e:  # accounting must never lose a run's results
        results["faults"] = {"error": f"fault accounting failed: {type(e).__name__}: {e}"}
        if results.get("valid") is True:
            results["valid"] = "unknown"
            results.setdefault("error", results["faults"]["error"])
        return
    results["faults"] = faults
    verdict_notes(results, faults)


class _Unavailable(Exception):
    """The brokers lack an API the workload needs (ApiVersions): the run is `unavailable`, not failed."""


def _quietly(fn: Any, what: str) -> None:
    try:
        fn()
    except Exception as e:
        log.warning("%s failed: %s", what, e)

