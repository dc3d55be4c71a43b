"""The runner: executes a test against a real cluster and leaves a checked run directory.

    run_test(spec) -> RunOutcome

1. Creates the run directory (`prozess.store.new_run`) and writes test.json.
2. Brings a cluster up (`prozess.cluster.open_cluster`), or uses the one
   given (`cluster=`), or an existing one by `spec.bootstrap`.
3. Runs `spec.concurrency` worker threads, one client each, plus the nemesis
   thread, until the time limit, the op limit, or a stop (SIGINT/SIGTERM).
   Every op is appended to history.jsonl as it happens.
4. Heals every fault, then runs the workload's final phase (every worker
   re-reads all keys), bounded by its own time limit (10 s after a stop;
   a second Ctrl-C skips it).
5. In `finally`, on every exit path: heals, tears the nemesis down, collects
   node logs into nodes/, and tears the cluster down (unless kept).
6. Checks the history (`prozess.checkers.check`), writes results.json, and
   renders report.html (`prozess.report.write_report`) where those exist.

Worker semantics are Jepsen's interpreter: a process runs one op at a time;
an op that ends `info` (or any exception) abandons its client and the thread
continues as process `p + concurrency` with a fresh client. Every loop is
bounded: by the phase time limit, the op limit and the stop event, and every
client call by its own timeout.

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
from typing import Any, Iterable

from prozess.generator import PENDING, Context, Limit, Stagger, TimeLimit
from prozess.history import NEMESIS, HistoryWriter, Op
from prozess.nemesis.protocol import Nemesis

__all__ = ["Nemesis", "NoopNemesis", "RunOutcome", "RunError", "SafeWriter", "run_test", "build_nemesis"]

log = logging.getLogger("prozess.runner")

INTERRUPTED_FINAL_S = 10.0  # final reads after a stop, at most
EARLY_CHECK_S = 5.0  # when every op of the main phase's first seconds failed before it was sent, the run stops


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


class SafeWriter:
    """A HistoryWriter shared by threads: one lock around every append; closed writers drop ops."""

    def __init__(self, path: Path):
        self.writer = HistoryWriter(path, keep_ops=False)  # ops live on disk only: flat memory over hours
        self.lock = threading.Lock()
        self.closed = False

    def record(self, type: str, process: Any, f: str, value: Any = None, *, error: Any = None,
               extra: dict[str, Any] | None = None) -> Op | None:
        with self.lock:
            if self.closed:
                return None
            return self.writer.record(type, process, f, value, error=error, extra=extra)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.writer.close()

    def __len__(self) -> int:
        return self.writer._next


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


class _Phase:
    """One phase of worker ops: a generator under a lock, a clock, and the stop event."""

    def __init__(self, name: str, gen: Any, stop: threading.Event):
        self.name = name
        self.gen = gen
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.stop = stop

    def now(self) -> float:
        return time.monotonic() - self.start


class _EarlyStop:
    """Decides once, after EARLY_CHECK_S of the main phase, whether the run cannot work at all.

    When every op completed so far failed before it was sent (no client could be
    built, or its topic could not be created), all with the same error (e.g.
    settings the client library refuses, an illegal topic name), the rest of
    the time limit would only repeat it: `see` returns True once, and `error`
    says why. Any other outcome (one ok op, another error) and the run goes on.
    """

    def __init__(self, concurrency: int, after_s: float = EARLY_CHECK_S):
        self.after_s = after_s
        self.min_ops = max(3, concurrency)
        self.lock = threading.Lock()
        self.errors: set[str] = set()
        self.failed = 0
        self.other = False
        self.decided = False
        self.error: str | None = None

    def see(self, now: float, typ: str, error: Any) -> bool:
        with self.lock:
            if self.decided:
                return False
            if typ == "fail" and isinstance(error, str) and error.startswith(("no client: ", "topic setup: ")):
                self.failed += 1
                self.errors.add(error)
            else:
                self.other = True
            if self.other:
                self.decided = True
                return False
            if now < self.after_s or self.failed < self.min_ops:
                return False
            self.decided = True
            if len(self.errors) != 1:
                return False
            self.error = (f"every op of the first {now:.0f} s failed the same way ({self.failed} ops): "
                          f"{next(iter(self.errors))}; the run stopped early")
            return True


class Runner:
    """State of one run; `run_test` drives it."""

    def __init__(self, spec: Any, run_dir: Path, test: dict[str, Any], workload: Any, topics: Any, writer: SafeWriter, stats: Any):
        self.spec = spec
        self.run_dir = run_dir
        self.test = test
        self.workload = workload
        self.topics = topics
        self.writer = writer
        self.stats = stats
        self.stop = threading.Event()
        self.main_done = threading.Event()
        self.concurrency = spec.concurrency
        self.processes = list(range(spec.concurrency))
        self.clients: list[Any] = [None] * spec.concurrency
        self.nemesis_ops: list[Op] = []
        self.early = _EarlyStop(spec.concurrency)

    # -- workers ------------------------------------------------------------
    def _record(self, typ: str, process: Any, f: str, value: Any, error: Any = None,
                extra: dict[str, Any] | None = None) -> None:
        self.writer.record(typ, process, f, value, error=error, extra=extra)
        if typ != "invoke":
            self.stats.op(typ)

    def _close_client(self, thread: int) -> None:
        c = self.clients[thread]
        self.clients[thread] = None
        if c is not None:
            try:
                c.close(timeout=2.0)
            except Exception:
                log.debug("closing client failed", exc_info=True)

    def run_phase(self, phase: _Phase, *, join_timeout: float) -> None:
        threads = [
            threading.Thread(target=self._worker, args=(phase, t), name=f"prozess-worker-{t}", daemon=True)
            for t in range(self.concurrency)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + join_timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            log.warning("workers still busy after the phase deadline (their ops stay open, i.e. indeterminate): %s", ", ".join(stuck))

    def _worker(self, phase: _Phase, thread: int) -> None:
        wl = self.workload
        n = self.concurrency
        backoff = 0.0
        # Ops of the final phase carry "final": true, so an offline check knows the catch-up reads.
        marks = {"final": True} if phase.name == "final" else None
        while not phase.stop.is_set():
            process = self.processes[thread]
            with phase.lock:
                o = phase.gen.op(Context(phase.now(), process, thread, n))
            if o is None:
                return
            if o is PENDING:
                phase.stop.wait(0.01)
                continue
            start = o.get("time")
            if start is not None:
                delay = start - phase.now()
                if delay > 0 and phase.stop.wait(delay):
                    return
            f, value = o["f"], o.get("value")
            error: Any = None
            typ: str
            result: Any = value
            # Topics and a client first; if either is impossible, the op certainly did not happen.
            try:
                self.topics.ensure(wl.keys_of(o))
            except Exception as e:
                error = f"topic setup: {e}"
            if error is None and self.clients[thread] is None and f != "crash":
                if backoff:
                    phase.stop.wait(backoff)
                try:
                    self.clients[thread] = wl.open_client(process)
                    backoff = 0.0
                except Exception as e:
                    error = f"no client: {getattr(e, 'error', e)}"
                    backoff = min(2.0, (backoff or 0.1) * 2)
            self._record("invoke", process, f, value, extra=marks)
            ctx = Context(phase.now(), process, thread, n)
            with phase.lock:
                phase.gen.update(ctx, {"type": "invoke", "process": process, "f": f, "value": value})
            if error is not None:
                typ = "fail"
            else:
                try:
                    if f == "crash" and self.clients[thread] is None:
                        typ, result, error = "info", value, "crash: no client open"
                    else:
                        typ, result, error = wl.invoke(self.clients[thread], o)
                except Exception as e:
                    typ, result, error = "info", value, f"indeterminate: {type(e).__name__}: {e}"
                    log.debug("op crashed:\n%s", traceback.format_exc())
            self._record(typ, process, f, result, error, extra=marks)
            if phase.name == "main" and self.early.see(phase.now(), typ, error):
                log.error("stopping the run: %s", self.early.error)
                phase.stop.set()
            ctx = Context(phase.now(), process, thread, n)
            with phase.lock:
                phase.gen.update(ctx, {"type": typ, "process": process, "f": f, "value": result, "error": error})
            if typ == "info":
                self._close_client(thread)
                self.processes[thread] = process + n

    def close_clients(self) -> None:
        for t in range(self.concurrency):
            self._close_client(t)

    # -- nemesis ------------------------------------------------------------
    def nemesis_loop(self, nemesis: Nemesis, rng: random.Random) -> None:
        try:
            sched = iter(nemesis.schedule(self.test, rng))
        except Exception as e:
            self.writer.record("info", NEMESIS, "schedule", None, error=f"{type(e).__name__}: {e}")
            return
        for _ in range(1_000_000):  # bounded; the time limit ends it long before
            if self.main_done.is_set() or self.stop.is_set():
                return
            try:
                delay, f, value = next(sched)
            except StopIteration:
                return
            except Exception as e:
                self.writer.record("info", NEMESIS, "schedule", None, error=f"{type(e).__name__}: {e}")
                return
            if delay > 0 and (self.main_done.wait(delay) or self.stop.is_set()):
                return
            self.nemesis_op(nemesis, f, value)

    def heal(self, nemesis: Nemesis) -> None:
        """Heals every fault, recorded as a nemesis op pair `heal-all` (when the test has faults)."""
        if not self.spec.faults:
            nemesis.heal_all()
            return
        self._nemesis_record("heal-all", None)
        try:
            result = nemesis.heal_all()
            self._nemesis_record("heal-all", result if _jsonable(result) else repr(result))
        except Exception as e:
            self._nemesis_record("heal-all", None, error=f"{type(e).__name__}: {e}")
        _track_fault(self.stats, "heal-all", None)

    def nemesis_op(self, nemesis: Nemesis, f: str, value: Any) -> None:
        self._nemesis_record(f, value)
        try:
            _typ, result = nemesis.invoke(f, value)
            done = self._nemesis_record(f, result)
        except Exception as e:
            done = self._nemesis_record(f, value, error=f"{type(e).__name__}: {e}")
        failed = done is None or bool(done.error) or (isinstance(done.value, dict) and bool(done.value.get("error")))
        _track_fault(self.stats, f, value, failed=failed)

    def _nemesis_record(self, f: str, value: Any, *, error: Any = None) -> Op | None:
        """Records a nemesis op and keeps it for the fault accounting (no re-read of the history)."""
        op = self.writer.record("info", NEMESIS, f, value, error=error)
        if op is not None:
            self.nemesis_ops.append(op)
        return op


def _track_fault(stats: Any, f: str, value: Any, *, failed: bool = False) -> None:
    """Keeps the progress display's list of active faults, by the nemesis's own start/stop pairs.

    A start that failed opens nothing; it is counted as a failed fault instead.
    """
    from prozess.nemesis import fault_edge

    if failed and fault_edge(f) is not None and fault_edge(f)[1] == "start":
        stats.fault_failed(fault_edge(f)[0])
        return
    if f.startswith("heal"):
        for name in list(stats.faults):
            stats.fault_ended(name)
        return
    edge = fault_edge(f)
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


def _jsonable(x: Any) -> bool:
    import json

    try:
        json.dumps(x)
        return True
    except (TypeError, ValueError):
        return False


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _open_cluster(spec: Any) -> Any:
    from prozess.cluster import open_cluster

    cspec = spec.cluster_spec()
    from prozess.nemesis.disk import KINDS as DISK_KINDS
    from prozess.nemesis.schedule import parse_faults

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
    from prozess.columnar_check import check_path  # numpy columns: bounded memory after a soak
    from prozess.history import HistoryError

    t0 = time.monotonic()
    if not (run_dir / "history.jsonl").exists():
        return {"valid": "unknown", "anomaly-types": [], "error": "no ops recorded: the run ended before the workload started"}
    try:
        return check_path(run_dir / "history.jsonl", test, test.get("checkers"))[0]
    except HistoryError as e:
        return {"valid": "unknown", "anomaly-types": [], "error": f"history unreadable: {e}"}
    except Exception as e:
        return {"valid": "unknown", "anomaly-types": [], "error": f"checker raised {type(e).__name__}: {e}",
                "seconds": time.monotonic() - t0}


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
    from prozess.store import new_run, versions, write_json
    from prozess.workloads.clients.admin import TopicManager
    from prozess.workloads.clients.base import ClientOptions
    from prozess.workloads.registry import build as build_workload

    try:
        spec.validate()
    except SpecError as e:
        raise RunError(str(e)) from None
    from prozess.conflicts import client_conflicts

    try:
        conflicts = client_conflicts(spec.client, spec.client_properties())
    except (OSError, ValueError) as e:
        raise RunError(f"client properties: {e}") from None
    if conflicts:  # the client library would refuse every op; say so before any cluster starts
        raise RunError("; ".join(conflicts))
    seed = spec.resolve_seed()
    nemesis = nemesis or build_nemesis(spec.faults, spec.nemesis)
    if cluster is None and spec.attach:
        cluster = _attach_cluster(spec.attach)  # started by `prozess cluster up`: not ours to tear down
    run = new_run(spec.results_dir, spec.name) if run_dir is None else None
    rdir = Path(run_dir) if run_dir is not None else run.path  # type: ignore[union-attr]
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "nodes").mkdir(exist_ok=True)
    test = spec.to_dict()
    kafka_version = (test.get("cluster") or {}).get("kafka_version")
    test.update({"versions": versions(kafka_version), "started": _now_iso()})
    write_json(rdir / "test.json", test)

    stats = RunStats(spec.time_limit)
    stop_event = stop or threading.Event()
    final_stop = threading.Event()
    own_cluster = False
    runner: Runner | None = None
    writer: SafeWriter | None = None
    interrupted = False
    error: str | None = None
    extra: dict[str, Any] = {}
    nemesis_thread: threading.Thread | None = None
    client_log = ClientLog(rdir / "client.log")
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
            write_json(rdir / "test.json", test)  # now with the cluster's name: `prozess heal NAME` works mid-run
            # -- workload ----------------------------------------------------
            props = spec.client_properties()
            c = spec.client
            copts = ClientOptions(
                bootstrap=bootstrap,
                acks=str(c["acks"]),
                idempotence=bool(c["idempotence"]),
                retries=c.get("retries"),
                isolation=c["isolation"],
                auto_offset_reset=c.get("auto_offset_reset", "earliest"),
                transactions=bool(c.get("transactions")),
                group_id=f"prozess-{rdir.name}",
                client_id=f"prozess-{rdir.name.lower()}",
                timeout_s=float(c.get("timeout_s", 5.0)),
                extra=props,
            )
            from prozess.cluster.api_versions import missing_apis

            lacking = missing_apis(bootstrap, spec.workload, idempotence=copts.idempotence, transactions=copts.transactions)
            if lacking:  # the system cannot serve this workload: unavailable, not a failure
                test["unavailable-apis"] = lacking
                raise _Unavailable("; ".join(f"{g} needs {', '.join(apis)}, which the brokers do not support" for g, apis in sorted(lacking.items())))
            # Fresh topics per run: a reused cluster still holds earlier runs' messages.
            fresh_prefix = f"prozess-{rdir.name.lower()}"
            workload = build_workload(spec.workload, {"topic_prefix": fresh_prefix, **spec.workload_options}, c["library"], copts,
                                      concurrency=spec.concurrency)
            wopts = workload.options
            test["topics"] = {"prefix": wopts.topic_prefix, "partitions_per_topic": wopts.partitions_per_topic}
            rf = cspec.replication_factor if cspec else int(spec.cluster.get("replication_factor", 3))
            min_isr = cspec.min_insync_replicas if cspec else spec.cluster.get("min_insync_replicas")
            topic_config = {"unclean.leader.election.enable": "true"} if cspec and cspec.unclean_leader_election else {}
            topics = TopicManager(bootstrap, workload.keymap, replication_factor=rf, min_insync_replicas=min_isr, config=topic_config, extra=props,
                                  per_topic=getattr(workload, "topic_configs", None))
            writer = SafeWriter(rdir / "history.jsonl")
            runner = Runner(spec, rdir, test, workload, topics, writer, stats)
            runner.stop = stop_event
            # -- nemesis -----------------------------------------------------
            if hasattr(nemesis, "use_topics"):  # `leader` targets pick among the partitions the workload uses
                nemesis.use_topics(_run_partitions(topics, workload.keymap))
            nemesis.setup(cluster, {**test, "run_dir": str(rdir), "nemesis_log": str(rdir / "nemesis.jsonl")})
            # -- main phase --------------------------------------------------
            rng = random.Random(seed)
            gen = TimeLimit(Limit(Stagger(workload.generator(random.Random(rng.random())), spec.rate or None, random.Random(rng.random())), spec.op_limit), spec.time_limit)
            nemesis_rng = random.Random(rng.random())
            stats.set_phase("main")
            stats.started = time.monotonic()
            nemesis_thread = threading.Thread(target=runner.nemesis_loop, args=(nemesis, nemesis_rng), name="prozess-nemesis", daemon=True)
            nemesis_thread.start()
            phase = _Phase("main", gen, stop_event)
            runner.run_phase(phase, join_timeout=spec.time_limit + wopts.op_timeout_s * 3 + 30)
            runner.main_done.set()
            if runner.early.error:
                raise _CannotRun(runner.early.error)
            nemesis_thread.join(wopts.op_timeout_s * 6 + 30)
            # -- heal, then the final reads ----------------------------------
            stats.set_phase("heal")
            runner.heal(nemesis)
            # After a stop the final reads still run, but for at most INTERRUPTED_FINAL_S (a second
            # Ctrl-C ends them): without them, writes not yet read would all look "unseen".
            final_limit = wopts.final_time_limit_s if not stop_event.is_set() else min(wopts.final_time_limit_s, INTERRUPTED_FINAL_S)
            stats.set_phase("final")
            final = TimeLimit(workload.final_generator(), final_limit)
            runner.run_phase(_Phase("final", final, final_stop), join_timeout=final_limit + wopts.op_timeout_s * 3 + 30)
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
            final_stop.set()
            if runner is not None:
                runner.main_done.set()
            _quietly(nemesis.heal_all, "heal_all")
            _quietly(nemesis.teardown, "nemesis teardown")
            if runner is not None:
                runner.close_clients()
            if writer is not None:
                writer.close()
            if cluster is not None:
                _quietly(lambda: cluster.collect_logs(rdir / "nodes"), "collect_logs")
                if own_cluster and not spec.keep_cluster:
                    _quietly(cluster.down, "cluster down")
            interrupted = interrupted or sig.signal is not None
            if sig.signal:
                error = error or f"stopped by {sig.signal}"
    # -- verdict -----------------------------------------------------------------
    test["finished"] = _now_iso()
    write_json(rdir / "test.json", test)
    results = _check(rdir, test)
    results = dict(results)
    results["run"] = {
        "interrupted": interrupted,
        "error": error,
        "ops": len(writer) if writer is not None else 0,
        "counts": stats.snapshot()["counts"],
        "client_log": client_log.counts(),
    }
    if test.get("unavailable-apis"):
        results.update({"valid": "unknown", "unavailable": test["unavailable-apis"], "error": error})
    unavailable = dict(getattr(nemesis, "unavailable", None) or {})
    if spec.faults:
        _account_faults(results, runner.nemesis_ops if runner is not None else [], test, unavailable)
    if unavailable:
        # A fault the test asked for never happened: the run cannot vouch for behaviour under it.
        results["unavailable-faults"] = unavailable
        if results.get("valid") is True:
            results["valid"] = "unknown"
            results.setdefault("error", "; ".join(f"fault {k} {v}" for k, v in sorted(unavailable.items())))
    if error and not interrupted and results.get("valid") is True:
        results["valid"] = "unknown"  # a run that broke off on an error proves less than it seems
        results.setdefault("error", error)
    write_json(rdir / "results.json", results)
    report_error = _report(rdir)
    if report_error:
        extra["report_error"] = report_error
    return RunOutcome(rdir, results, interrupted=interrupted, ops=results["run"]["ops"], error=error, extra=extra)


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
