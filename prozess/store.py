"""The run store: one directory per run, laid out so that any run can be re-checked and replayed.

    results/<test-name>/<YYYYmmddTHHMMSSZ>/
        test.json        the full test spec, seed and versions
        history.jsonl    every op, appended as the run goes (or history.edn, imported)
        nemesis.jsonl    every fault command applied
        client.log       the client libraries' own log lines
        results.json     the checkers' result
        report.html      the human-readable report, plots/ beside it
        nodes/<node>/    logs and configs collected from the nodes
    results/latest ->    the newest run

This module is the one place that spells these names: every other module asks
a `Run` for its paths (`run.history_path`, ...) or uses the constants below.
It also holds the one reader of a run's JSON files (`read_json`), the one
listing of the runs under a results directory (`list_runs`), and the atomic
writes (`atomic_write`, `write_json`, `replace_dir`).

The results directory is `--results-dir`, else $PROZESS_RESULTS_DIR, else ./results.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = [
    "CLIENT_LOG",
    "EXPECTED",
    "HISTORY",
    "HISTORY_EDN",
    "LATEST",
    "NEMESIS_LOG",
    "NODES",
    "PLOTS",
    "REPORT",
    "RESULTS",
    "RESULTS_ENV",
    "RUN_FILES",
    "TEST",
    "Run",
    "StoreError",
    "default_results_dir",
    "find_run",
    "list_runs",
    "new_run",
    "versions",
    "write_json",
    "atomic_write",
    "replace_dir",
    "clean_results",
    "history_file",
    "is_run_dir",
    "read_history",
    "read_json",
    "RESERVED_NAMES",
]

# The files and folders of a run directory.
TEST = "test.json"
HISTORY = "history.jsonl"
HISTORY_EDN = "history.edn"  # a Jepsen history imported as a run (or saved as a regression case)
NEMESIS_LOG = "nemesis.jsonl"
CLIENT_LOG = "client.log"
RESULTS = "results.json"
REPORT = "report.html"
PLOTS = "plots"
NODES = "nodes"
LATEST = "latest"  # results/latest: the link to the newest run
EXPECTED = "expected.json"  # a regression case (`prozess save`): its history, test.json and the verdict it must keep
RUN_FILES = (HISTORY, HISTORY_EDN, RESULTS, TEST)  # a directory holding any of these is a run

RESULTS_ENV = "PROZESS_RESULTS_DIR"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._=+-]+")
RESERVED_NAMES = frozenset({LATEST})  # `results/latest` is the link to the newest run


class StoreError(ValueError):
    """A run directory or results directory that cannot be used; the message says which and why."""


def default_results_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else Path("results")


def safe_test_name(name: str) -> str:
    """A test name usable as one directory name (no slashes, no spaces)."""
    cleaned = _SAFE_NAME.sub("-", name).strip("-.")
    cleaned = cleaned or "test"
    if cleaned in RESERVED_NAMES:
        raise StoreError(f"test name {name!r} is reserved (results/{cleaned} is the link to the newest run); choose another --name")
    return cleaned


def versions(kafka: str | None = None) -> dict[str, str | None]:
    """Versions of everything that shaped a run, for test.json."""
    from importlib import metadata

    import prozess

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "prozess": prozess.__version__,
        "kafka": kafka,
        "python": platform.python_version(),
        "confluent_kafka": dist("confluent-kafka"),
        "kafka_python": dist("kafka-python"),
    }


def write_json(path: Path, data: Any) -> None:
    """Writes JSON atomically (temp file + rename), so a reader never sees half a file."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text))


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Makes `path` by calling `write(tmp)` on a fresh file beside it, then renaming it over `path`.

    The temporary name is unique and created exclusively (`mkstemp`: O_EXCL, so a
    planted symlink is never followed), and it lives in the same directory, so the
    rename is atomic: a reader, or a crash half-way, sees the old file or the new
    one, never a mix. A failing `write` leaves `path` as it was.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_dir(dest: Path, fill: Callable[[Path], Any]) -> None:
    """Replaces the directory `dest` whole: `fill(new)` builds the new one aside, then the two swap.

    Nothing of the old directory survives into the new one, and a failing `fill`
    leaves the old directory untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.new."))
    umask = os.umask(0)
    os.umask(umask)
    new.chmod(0o777 & ~umask)  # mkdtemp makes it private; the case is an ordinary folder
    try:
        fill(new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if not dest.exists() and not dest.is_symlink():
        os.replace(new, dest)
        return
    old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old."))
    os.replace(dest, old / "x")
    try:
        os.replace(new, dest)
    except BaseException:
        os.replace(old / "x", dest)
        shutil.rmtree(new, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def is_run_dir(path: Path) -> bool:
    """A real directory (not a symlink) that holds a run: one of its files (`RUN_FILES`)."""
    return path.is_dir() and not path.is_symlink() and any(os.path.lexists(path / f) for f in RUN_FILES)


def run_dirs(results_dir: str | os.PathLike | None = None) -> Iterator[Path]:
    """Every run directory under the results dir, in name order: `<root>/<test>/<run>/` and `<root>/<run>/`.

    A run is a directory holding one of `RUN_FILES`, or one named by its start
    time inside a test folder (as `new_run` makes it, before its first file).
    Symlinks (`latest` among them) and dot-folders (half-built directories of
    `replace_dir`) are never entered; a folder that cannot be listed is skipped.
    """
    root = default_results_dir(results_dir)
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
            continue
        if is_run_dir(entry):  # a run placed directly in the results dir
            yield entry
            continue
        try:
            inner = sorted(entry.iterdir())
        except OSError:
            continue
        for run in inner:
            if is_run_dir(run) or (_TIMESTAMP.match(run.name) and run.is_dir() and not run.is_symlink()):
                yield run


def clean_results(results_dir: str | os.PathLike | None = None) -> list[Path]:
    """Deletes the run directories under the results dir and nothing else; returns what went.

    The runs are those `run_dirs` finds. Symlinks are never followed; folders
    that are not runs, and files such as README.md, stay. Test folders left
    empty go, and so does a `latest` link that no longer points anywhere.
    """
    root = default_results_dir(results_dir)
    removed: list[Path] = []
    for run in list(run_dirs(root)):
        shutil.rmtree(run)
        removed.append(run)
        parent = run.parent
        if parent != root and not any(parent.iterdir()):
            parent.rmdir()
    latest = root / LATEST
    if latest.is_symlink() and not latest.exists():
        latest.unlink()
    return removed


@dataclass(frozen=True)
class Run:
    """A run directory: the paths of its files and what can be read from them without running anything."""

    path: Path

    @property
    def test_name(self) -> str:
        return self.path.parent.name

    @property
    def timestamp(self) -> str:
        return self.path.name

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY

    @property
    def history_edn_path(self) -> Path:
        return self.path / HISTORY_EDN

    @property
    def nemesis_path(self) -> Path:
        return self.path / NEMESIS_LOG

    @property
    def client_log_path(self) -> Path:
        return self.path / CLIENT_LOG

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def test_path(self) -> Path:
        return self.path / TEST

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    @property
    def nodes_dir(self) -> Path:
        return self.path / NODES

    @property
    def plots_dir(self) -> Path:
        return self.path / PLOTS

    def history_file(self) -> Path:
        """The run's history: history.jsonl, else history.edn where only that exists."""
        return history_file(self.path)

    def test(self) -> dict[str, Any]:
        return _read_json_object(self.test_path) or {}

    def results(self) -> dict[str, Any] | None:
        return _read_json_object(self.results_path)

    def write_test(self, spec: dict[str, Any]) -> None:
        write_json(self.test_path, spec)

    def write_results(self, results: dict[str, Any]) -> None:
        write_json(self.results_path, results)

    def verdict(self) -> Any:
        """`True`, `False`, `"unknown"`, or None when the run has not been checked."""
        r = self.results()
        return None if r is None else r.get("valid")

    def started(self) -> datetime:
        """When the run began: from its directory name (as `new_run` makes it), else test.json's `started`, else the folder's mtime."""
        if _TIMESTAMP.match(self.path.name):
            try:
                return datetime.strptime(self.path.name[:16], TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
            except ValueError:
                pass
        try:
            started = self.test().get("started")
        except StoreError:
            started = None
        if isinstance(started, str):
            try:
                t = datetime.fromisoformat(started.replace("Z", "+00:00"))
                return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
            except ValueError:
                pass
        try:
            return datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc)
        except (OSError, ValueError, OverflowError):
            return datetime.fromtimestamp(0, timezone.utc)

    def summary(self) -> dict[str, Any]:
        """One row of `prozess runs`."""
        test = self.test()
        results = self.results() or {}
        anomalies: dict[str, int] = {}
        try:
            for checker in (results.get("checkers") or {}).values():
                for name, entry in (checker.get("anomalies") or {}).items():
                    if name in (checker.get("anomaly-types") or []):
                        anomalies[name] = anomalies.get(name, 0) + int(entry.get("count", 0) or 0)
        except (AttributeError, TypeError, ValueError):
            raise StoreError(f"{self.results_path}: not a checker result (unexpected shape); re-check the run with `prozess check {self.path} --save`") from None
        return {
            "test": self.test_name,
            "time": self.timestamp,
            "path": str(self.path),
            "valid": results.get("valid") if results else None,
            "anomalies": anomalies,
            "duration-s": test.get("duration-s"),
            "seed": test.get("seed"),
        }


def read_json(path: str | os.PathLike) -> Any:
    """The decoded JSON file of a run (test.json, results.json, ...); None when there is no such file.

    Anything else that keeps it from being read raises `StoreError` naming the
    file and the problem: not a regular file (a directory, FIFO or device is
    refused at once, opened non-blocking, never waited on — the history
    reader's `open_regular_file`), unreadable, or not JSON (damaged, or nested
    deeper than the decoder goes).
    """
    from prozess.history import HistoryError, open_regular_file

    path = Path(path)
    if not os.path.lexists(path):
        return None
    try:
        with open_regular_file(path, what="run's JSON file (test.json, results.json)") as fh:
            data = fh.read()
    except HistoryError as e:  # not a regular file, or gone between the two looks
        raise StoreError(f"{path}: {e.problem}") from None
    except OSError as e:
        raise StoreError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise StoreError(f"{path}: not valid JSON ({str(e)[:200]}); the run may have been interrupted while writing it") from None


def _read_json_object(path: Path) -> dict[str, Any] | None:
    data = read_json(path)
    if data is not None and not isinstance(data, dict):
        raise StoreError(f"{path}: holds a JSON {type(data).__name__}, not an object; the file is damaged or not prozess's")
    return data


def history_file(path: str | os.PathLike) -> Path:
    """The history file that `path` names: a file as it is; for a run directory its history.jsonl,
    else its history.edn where only that exists (a Jepsen history imported as a run)."""
    path = Path(path)
    if not path.is_dir():
        return path
    jsonl, edn = path / HISTORY, path / HISTORY_EDN
    return edn if not jsonl.exists() and edn.exists() else jsonl


def read_history(path: str | os.PathLike, *, warnings: list[str] | None = None) -> Any:
    """Reads the history of a run directory, or a `.jsonl` / `.edn` history file (`prozess.history.read_history`)."""
    from prozess.history import HistoryError
    from prozess.history import read_history as read_file

    path = Path(path)
    file = history_file(path)
    if file != path and not file.exists():
        raise HistoryError(f"directory has no {HISTORY} or {HISTORY_EDN}; pass a run directory", path=path)
    return read_file(file, warnings=warnings)


def new_run(results_dir: str | os.PathLike | None, test_name: str, *, now: float | None = None) -> Run:
    """Creates a fresh run directory for `test_name` and points `latest` at it."""
    root = default_results_dir(results_dir)
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc).strftime(TIMESTAMP_FORMAT)
    test_dir = root / safe_test_name(test_name)
    test_dir.mkdir(parents=True, exist_ok=True)
    path = test_dir / stamp
    n = 1
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = test_dir / f"{stamp}-{n}"
    run = Run(path)
    run.nodes_dir.mkdir()
    _point_latest(root, path)
    return run


def _point_latest(root: Path, path: Path) -> None:
    link = root / LATEST
    tmp = root / f".{LATEST}.{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(path.relative_to(root))
        os.replace(tmp, link)
    except OSError:
        pass  # a filesystem without symlinks still has every run; only the shortcut is missing


def _newest_first(run: Run) -> tuple:
    suffix = run.path.name.rpartition("-")[2] if _TIMESTAMP.match(run.path.name) and "-" in run.path.name else "1"
    return (-run.started().timestamp(), -int(suffix), run.path.as_posix())


def list_runs(results_dir: str | os.PathLike | None = None) -> list[Run]:
    """Every run under the results directory (see `run_dirs`), newest first (`Run.started`); none when it does not exist."""
    return sorted((Run(p) for p in run_dirs(results_dir)), key=_newest_first)


def find_run(ref: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Run:
    """Resolves a run reference: a run directory, `latest`, or `<test>/<timestamp>` under the results dir."""
    p = Path(ref)
    if p.is_dir() and any((p / f).exists() for f in RUN_FILES):
        return Run(p.resolve())
    root = default_results_dir(results_dir)
    q = root / ref
    if q.is_dir():
        return Run(q.resolve())
    raise StoreError(f"{ref}: no such run; pass a run directory, `latest`, or TEST/TIMESTAMP under {root}")
