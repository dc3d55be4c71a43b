"""The `prozess` command line.

Exit codes, which other tools rely on, are the same for every command that
delivers a verdict (`check`, `run`, `replay`): 0 valid, 1 invalid, 2 bad input
or usage, 3 unknown (`prozess.exits`, which the mounted commands use too). Commands of other areas (cluster, run, heal) live in their
own modules and are mounted here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from prozess.exits import EXIT_BAD_INPUT, exit_code_for, fail, printable
from prozess.history import HistoryError

app = typer.Typer(
    name="prozess",
    help="Jepsen-style verification and chaos testing for Kafka: run campaigns, check histories, read reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
history_app = typer.Typer(help="Read and convert saved histories.", no_args_is_help=True)
app.add_typer(history_app, name="history")

ResultsDir = typer.Option(None, "--results-dir", envvar="PROZESS_RESULTS_DIR", help="Where runs are stored (default ./results).")


def one_shot() -> None:
    """For commands that load a history, work and exit: no cyclic GC at all.

    A history is millions of small acyclic objects; pausing the collector only
    defers one full pass over them to the moment it is re-enabled. A process
    that exits right after the work never needs that pass.
    """
    import gc

    if _AS_PROCESS:
        gc.disable()


_AS_PROCESS = False  # set by main(): the command owns the whole process (not so under CliRunner)


# ------------------------------------------------------------------ setup


@app.command()
def setup(check: bool = typer.Option(False, "--check", help="Only say what is ready and what is missing; change nothing."),
          with_: Optional[str] = typer.Option(None, "--with", help="Also set up these other systems (comma-separated, e.g. tansu: a cargo build of 15-30 minutes once)."),
          all_: bool = typer.Option(False, "--all", help="Set up every system (what the full test suite needs).")) -> None:
    """Install and start what campaigns need (idempotent): host packages, docker engine, Kafka jars, node image."""
    from prozess.setup import SetupError, check_all, run_setup
    from prozess.setup_plan import all_steps

    if check:
        statuses = check_all(all_steps())
        missing = 0
        for step, status in statuses:
            mark = "ready  " if status.ready else ("missing" if not step.optional else "absent ")
            if not status.ready and not step.optional:
                missing += 1
            typer.echo(f"{mark}  {step.name}: {status.detail}")
        if missing:
            typer.echo(f"{missing} step(s) missing; run `prozess setup` to install them.")
            raise typer.Exit(1)
        typer.echo("everything needed is ready.")
        return

    def on_step(step, state: str) -> None:
        typer.echo(f"{state:9} {step.name}", err=True)

    try:
        run_setup(all_steps(), on_step=on_step, extras=None if all_ else [w.strip() for w in (with_ or "").split(",") if w.strip()])
    except SetupError as e:
        fail(str(e), 1)
    typer.echo("setup complete.")


# ------------------------------------------------------------------ runs


@app.command()
def runs(results_dir: Optional[Path] = ResultsDir, as_json: bool = typer.Option(False, "--json", help="Print the list as JSON.")) -> None:
    """List stored runs, newest first, with their verdicts."""
    from prozess.store import StoreError, list_runs

    rows = []
    for run in list_runs(results_dir):
        try:
            rows.append(run.summary())
        except StoreError as e:
            rows.append({"test": run.test_name, "time": run.timestamp, "path": str(run.path), "valid": "unreadable", "anomalies": {}, "error": str(e)})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no runs yet.")
        return
    for row in rows:
        verdict = {True: "valid", False: "INVALID", None: "unchecked"}.get(row["valid"], str(row["valid"]))
        anomalies = ", ".join(f"{k}×{v}" for k, v in sorted(row["anomalies"].items()))
        typer.echo(printable(f"{row['time']}  {verdict:9}  {row['test']}  {anomalies}".rstrip()))


# ------------------------------------------------------------------ check


def _check_source(path: Path) -> tuple[Path, dict[str, Any] | None]:
    """(the history file, the run's test spec or None) for a run directory, .jsonl or .edn file."""
    from prozess.store import Run, StoreError, history_file

    if not path.exists():
        raise HistoryError("no such file or directory; pass a history.jsonl, a Jepsen .edn history or a run directory", path=path)
    if not path.is_dir():
        if path.suffix not in (".jsonl", ".edn", ".json"):
            raise HistoryError("unknown history format; pass a .jsonl, a .edn or a run directory", path=path)
        return path, None
    try:
        test = Run(path).test() or None
    except StoreError as e:
        raise HistoryError(f"{e}; fix or remove it to check the history alone") from None
    source = history_file(path)
    if not source.exists():
        raise HistoryError("directory has no history.jsonl or history.edn; pass a run directory", path=path)
    return source, test


def check_policy(ww_deps: bool | None, allow: str | None, forbid: str | None) -> dict[str, Any]:
    """The test-spec keys (ww_deps, allow, forbid) that --ww-deps/--allow/--forbid set; ValueError on unknown types."""
    from prozess.checkers.policy import names_of

    out: dict[str, Any] = {}
    if ww_deps is not None:
        out["ww_deps"] = ww_deps
    if allow is not None:
        out["allow"] = names_of(allow, what="--allow")
    if forbid is not None:
        out["forbid"] = names_of(forbid, what="--forbid")
    return out


@app.command("check")
def check_cmd(
    path: Path = typer.Argument(..., help="A history.jsonl, a Jepsen .edn history, or a run directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON on stdout."),
    checkers: Optional[str] = typer.Option(None, "--checkers", help="Comma-separated checker names (default: the run's, or all)."),
    save: bool = typer.Option(False, "--save", help="Also write results.json into the run directory."),
    ww_deps: Optional[bool] = typer.Option(None, "--ww-deps/--no-ww-deps", help="Infer write-write order from offsets in the txn graph (Jepsen's :ww-deps): G0 shows, ww-based G1c is allowed."),
    allow: Optional[str] = typer.Option(None, "--allow", help="TYPE[,TYPE]: anomaly types that do not make the history invalid here (informational)."),
    forbid: Optional[str] = typer.Option(None, "--forbid", help="TYPE[,TYPE]: anomaly types that make it invalid even where Kafka's model allows them (e.g. G0)."),
) -> None:
    """Re-check a saved history offline. Exit 0 valid, 1 invalid, 2 bad input, 3 unknown."""
    from prozess.checking import check_history

    one_shot()
    try:
        policy = check_policy(ww_deps, allow, forbid)
    except ValueError as e:
        fail(str(e))
        return
    try:
        source, test = _check_source(path)
    except HistoryError as e:
        fail(str(e))
        return
    names = [n.strip() for n in checkers.split(",") if n.strip()] if checkers else None
    if policy:
        test = {**(test or {}), **policy}
    big = source.suffix == ".jsonl" and source.stat().st_size > PROGRESS_BYTES
    warnings: list[str] = []
    progress = None
    if source.suffix == ".jsonl":  # read and check steps on stderr: at once for a big file, else once it runs long
        from prozess.columnar import progress_printer

        if big:
            typer.echo(f"prozess: reading {source} ({source.stat().st_size / 1e6:.0f} MB)", err=True)
        progress = progress_printer(after=0.0 if big else None)
    try:
        # JSON Lines are checked through numpy columns, in one streaming pass (bounded memory, same verdicts).
        result, n = check_history(source, test, names, strict=True, warnings=warnings, progress=progress)
    except ValueError as e:  # HistoryError among them: bad input
        fail(str(e))
        return
    if big:
        typer.echo(f"prozess: checked {n} ops in {result.get('seconds')} s", err=True)
    for w in warnings:
        typer.echo(f"prozess: warning: {printable(w)}", err=True)
    _finish_check(path, n, result, warnings, save=save, as_json=as_json)


def _finish_check(path: Path, n_ops: int, result: dict[str, Any], warnings: list[str], *, save: bool, as_json: bool) -> None:
    """The end of `prozess check`: keep the reader's warnings, save, print, exit by verdict."""
    from prozess.checkers import summary
    from prozess.store import RESULTS, Run

    if warnings:
        result = {**result, "warnings": warnings}
    if save:
        if not path.is_dir():
            fail(f"--save needs a run directory (a bare history file has no place for {RESULTS})")
        Run(path).write_results(result)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    else:
        typer.echo(printable(f"{path}: {n_ops} ops"))
        typer.echo(printable(summary(result)))
    raise typer.Exit(exit_code_for(result.get("valid")))


PROGRESS_BYTES = 50_000_000  # `prozess check` reports its progress on stderr for histories larger than this


# ------------------------------------------------------------------ history


@history_app.command("convert")
def history_convert(
    source: Path = typer.Argument(..., help="A .jsonl or .edn history (or a run directory)."),
    dest: Path = typer.Argument(..., help="Where to write: .jsonl or .edn, chosen by the suffix."),
    force: bool = typer.Option(False, "--force", help="Overwrite DEST if it exists."),
) -> None:
    """Convert a history between prozess JSON Lines and Jepsen EDN."""
    from prozess.edn import write_edn
    from prozess.history import write_jsonl
    from prozess.store import atomic_write, history_file, read_history

    if dest.suffix not in (".jsonl", ".edn"):
        fail(f"{dest}: unknown format; name it .jsonl or .edn")
    if dest.is_dir():
        fail(f"{dest}: is a directory; name the file to write, e.g. {dest / ('history' + dest.suffix)}")
    if not dest.parent.is_dir():
        fail(f"{dest.parent}: no such directory; create it first or write somewhere else")
    if dest.exists() or dest.is_symlink():
        if not force:
            fail(f"{dest}: exists; pass --force to overwrite it")
        src_file = history_file(source)
        if dest.resolve() == src_file.resolve() or (src_file.exists() and dest.exists() and dest.samefile(src_file)):
            fail(f"{dest}: is the input itself; write the converted history to another file")
    try:
        history = read_history(source)
    except HistoryError as e:
        fail(str(e))
        return
    writer = write_edn if dest.suffix == ".edn" else write_jsonl
    try:
        # A unique file beside DEST, renamed over it when complete: a failure half-way leaves DEST as it was.
        atomic_write(dest, lambda tmp: writer(history, tmp))
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        fail(f"{source}: cannot be written as {dest.suffix} ({str(e)[:200]}); {dest} is unchanged")
    except OSError as e:
        fail(f"{dest}: cannot be written ({e.strerror or e}); it is unchanged")
    typer.echo(f"wrote {len(history)} ops to {dest}")


@history_app.command("show")
def history_show(
    source: Path = typer.Argument(..., help="A run directory, .jsonl or .edn history."),
    key: Optional[str] = typer.Option(None, "--key", help="Only ops that touch this key."),
    process: Optional[str] = typer.Option(None, "--process", help="Only ops of this process (a number or `nemesis`)."),
    f: Optional[str] = typer.Option(None, "--f", help="Only ops with this f."),
    start: int = typer.Option(0, "--from", help="First op index to show."),
    limit: int = typer.Option(200, "--limit", help="Most ops to show."),
) -> None:
    """Print a slice of a history for reading in the terminal."""
    from prozess.history import NEMESIS
    from prozess.store import read_history

    try:
        history = read_history(source)
    except HistoryError as e:
        fail(str(e))
        return
    want_process: Any = None
    if process is not None:
        try:
            want_process = int(process) if process.lstrip("-").isascii() and process.lstrip("-").isdigit() else process
        except ValueError:
            want_process = process
        if not isinstance(want_process, int) and want_process != NEMESIS:
            fail(f"--process {printable(process)!r}: pass a process number or `nemesis`")
    shown = 0
    import bisect

    # --from is an op index; indices may have gaps, so find the first op at or after it.
    first = bisect.bisect_left([op.index for op in history.ops], start) if not history.dense else max(start, 0)
    for op in history.ops[first:]:
        if shown >= limit:
            break
        if want_process is not None and op.process != want_process:
            continue
        if f is not None and op.f != f:
            continue
        if key is not None and not _touches_key(op.value, key):
            continue
        err = f"  error={op.error}" if op.error is not None else ""
        line = f"{op.index:>8} {op.time / 1e9:10.3f}s {str(op.process):>8} {op.type:6} {op.f:10} {json.dumps(op.value, default=str)}{err}"
        typer.echo(printable(line))
        shown += 1


def _touches_key(value: Any, key: str) -> bool:
    if isinstance(value, list):
        for mop in value:
            if mop == key:
                return True
            if isinstance(mop, list) and len(mop) > 1:
                if mop[0] == "send" and mop[1] == key:
                    return True
                if mop[0] == "poll" and isinstance(mop[1], dict) and key in mop[1]:
                    return True
    return False


# ------------------------------------------------------------------ report and serve


@app.command()
def report(
    source: Path = typer.Argument(..., help="A run directory, or a bare .jsonl/.edn history (checked first)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory to write report.html into (default: beside the source)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report.html beside a history file or in --out."),
) -> None:
    """Write the HTML report of a run or a history.

    A run directory's report is derived from the run and is rebuilt in place. A
    bare history file's report goes beside it (or into --out); an existing
    report.html there is replaced only with --force, since it may belong to
    another history.
    """
    from prozess.report import write_report
    from prozess.store import PLOTS, REPORT, StoreError

    one_shot()
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out {out}: exists and is not a directory; pass a directory for {REPORT} and {PLOTS}/")
    target = out if out is not None else (None if source.is_dir() else source.parent)
    if target is not None and (target / REPORT).exists() and not force:
        fail(f"{target / REPORT}: exists; pass --force to replace it, or --out DIR to write elsewhere")
    try:
        path = write_report(source, out)
    except (HistoryError, StoreError) as e:
        fail(str(e))
        return
    except OSError as e:
        fail(f"cannot write the report ({e.strerror or e}{': ' + str(e.filename) if e.filename else ''})")
        return
    typer.echo(str(path))


@app.command()
def serve(
    results_dir: Optional[Path] = ResultsDir,
    port: int = typer.Option(8000, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Browse all stored runs in a local web page (loopback only)."""
    from prozess.store import default_results_dir

    from prozess.report.server import make_server, serve_until_interrupted

    root = default_results_dir(results_dir)
    try:
        server = make_server(root, port=port)
    except (OSError, ValueError) as e:
        fail(f"cannot serve {root} on 127.0.0.1:{port}: {e.strerror if isinstance(e, OSError) and e.strerror else e}")
        return
    typer.echo(f"serving {root} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    serve_until_interrupted(server)


# ------------------------------------------------------------------ commands of other areas


def _mount() -> None:
    """Mounts the commands that other areas own (each module imports only typer at load time)."""
    from prozess.cluster.cli import app as cluster_app
    from prozess.nemesis.cli import heal
    from prozess.replay import replay
    from prozess.run_command import run as run_command
    from prozess.save import save

    app.add_typer(cluster_app, name="cluster", help="Start, inspect and remove Kafka clusters.")
    app.command("run")(run_command)
    app.command("replay")(replay)
    app.command("heal")(heal)
    app.command("save")(save)


_mount()


def main() -> None:
    """Console-script entry point: usage errors exit 2, as every verdict command promises."""
    global _AS_PROCESS
    _AS_PROCESS = True
    try:
        app()
    except HistoryError as e:
        typer.echo(f"prozess: error: {e}", err=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
