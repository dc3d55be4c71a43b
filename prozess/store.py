"""The run store: one directory per run, laid out so that any run can be re-checked and replayed.

    results/<test-name>/<YYYYmmddTHHMMSSZ>/
        test.json        the full test spec, seed and versions
        history.jsonl    every op, appended as the run goes
        nemesis.jsonl    every fault command applied
        results.json     the checkers' result
        report.html      the human-readable report, plots/ beside it
        nodes/<node>/    logs and configs collected from the nodes
    results/latest ->    the newest run

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
    "RESULTS_ENV",
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
    "RESERVED_NAMES",
]

RESULTS_ENV = "PROZESS_RESULTS_DIR"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._=+-]+")
RESERVED_NAMES = frozenset({"latest"})  # `results/latest` is the link to the newest run


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
    """A real directory (not a symlink) that holds a run: its test.json or history.jsonl."""
    return path.is_dir() and not path.is_symlink() and any(os.path.lexists(path / f) for f in ("test.json", "history.jsonl"))


def clean_results(results_dir: str | os.PathLike | None = None) -> list[Path]:
    """Deletes the run directories under the results dir and nothing else; returns what went.

    A run is `<root>/<test>/<run>/` (or `<root>/<run>/`) holding test.json or
    history.jsonl. Symlinks are never followed; folders that are not runs, and
    files such as README.md, stay. Test folders left empty go, and so does a
    `latest` link that no longer points anywhere.
    """
    root = default_results_dir(results_dir)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        if is_run_dir(entry):
            shutil.rmtree(entry)
            removed.append(entry)
            continue
        emptied = False
        for run in sorted(entry.iterdir()):
            if is_run_dir(run):
                shutil.rmtree(run)
                removed.append(run)
                emptied = True
        if emptied and not any(entry.iterdir()):
            entry.rmdir()
    latest = root / "latest"
    if latest.is_symlink() and not latest.exists():
        latest.unlink()
    return removed


@dataclass(frozen=True)
class Run:
    """A run directory and what can be read from it without running anything."""

    path: Path

    @property
    def test_name(self) -> str:
        return self.path.parent.name

    @property
    def timestamp(self) -> str:
        return self.path.name

    @property
    def history_path(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def nemesis_path(self) -> Path:
        return self.path / "nemesis.jsonl"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def test_path(self) -> Path:
        return self.path / "test.json"

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    @property
    def nodes_dir(self) -> Path:
        return self.path / "nodes"

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

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

    def summary(self) -> dict[str, Any]:
        """One row of `prozess runs` / the run browser."""
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


def _read_json(path: Path) -> Any:
    if not os.path.lexists(path):
        return None
    if not path.is_file():
        raise StoreError(f"{path}: not a regular file; a run keeps its JSON files as plain files")
    try:
        return json.loads(path.read_bytes())
    except OSError as e:
        raise StoreError(f"{path}: cannot be read ({e.strerror or e})") from None
    except (ValueError, RecursionError) as e:
        raise StoreError(f"{path}: not valid JSON ({e}); the run may have been interrupted while writing it") from None


def _read_json_object(path: Path) -> dict[str, Any] | None:
    data = _read_json(path)
    if data is not None and not isinstance(data, dict):
        raise StoreError(f"{path}: holds a JSON {type(data).__name__}, not an object; the file is damaged or not prozess's")
    return data


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
    (path / "nodes").mkdir()
    _point_latest(root, path)
    return Run(path)


def _point_latest(root: Path, path: Path) -> None:
    link = root / "latest"
    tmp = root / f".latest.{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(path.relative_to(root))
        os.replace(tmp, link)
    except OSError:
        pass  # a filesystem without symlinks still has every run; only the shortcut is missing


def iter_run_dirs(results_dir: str | os.PathLike | None = None) -> Iterator[Path]:
    root = default_results_dir(results_dir)
    if not root.is_dir():
        return
    for test_dir in root.iterdir():
        if test_dir.name == "latest" or not test_dir.is_dir() or test_dir.is_symlink():
            continue
        for run_dir in test_dir.iterdir():
            if run_dir.is_dir() and not run_dir.is_symlink() and _TIMESTAMP.match(run_dir.name):
                yield run_dir


def list_runs(results_dir: str | os.PathLike | None = None) -> list[Run]:
    """Every run under the results directory, newest first."""
    runs = [Run(p) for p in iter_run_dirs(results_dir)]
    runs.sort(key=lambda r: (r.timestamp, r.test_name), reverse=True)
    return runs


def find_run(ref: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Run:
    """Resolves a run reference: a run directory, `latest`, or `<test>/<timestamp>` under the results dir."""
    p = Path(ref)
    if p.is_dir() and (p / "test.json").exists() or (p.is_dir() and (p / "history.jsonl").exists()):
        return Run(p.resolve())
    root = default_results_dir(results_dir)
    q = root / ref
    if q.is_dir():
        return Run(q.resolve())
    raise StoreError(f"{ref}: no such run; pass a run directory, `latest`, or TEST/TIMESTAMP under {root}")
