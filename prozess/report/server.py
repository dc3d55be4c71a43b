"""`prozess serve`: the run store over HTTP on a loopback address.

`/` is the run index (built afresh on every request, so new runs appear on
reload); every other path is a file under the results dir. A run's report.html
that does not exist yet is written on first request, by a child process with a
memory and a time limit, so no history can make a GET exhaust the machine.
Only loopback addresses are accepted: the reports carry cluster details and the
server has no authentication. For the same reason:

- only regular files and directories whose resolved path lies inside the
  results dir are served (a symlink out of it answers 404, whatever it names);
- only requests whose Host header names this server on loopback
  (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`) are answered, so a web page
  cannot read the runs through DNS rebinding (others get 421).
"""

from __future__ import annotations

import email.utils
import http.server
import ipaddress
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from prozess.store import REPORT, Run

__all__ = ["serve", "serve_until_interrupted", "make_server", "check_loopback", "REPORT_TIMEOUT_S", "REPORT_MEMORY_BYTES"]

REPORT_TIMEOUT_S = 300.0  # a million-op report takes well under a minute
REPORT_MEMORY_BYTES = 8 * 2**30  # address space of the report builder: a 1M-op run needs ~2.5 GB resident, numpy reserves more

# Runs in a child process: caps its address space, then builds one report.
_BUILD = """
import resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from prozess.report.render import write_report
write_report(sys.argv[1])
"""


def check_loopback(host: str) -> None:
    """Raises ValueError unless `host` is a loopback address or "localhost"."""
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"host {host!r} is not a loopback address; prozess serve listens on 127.0.0.1 or ::1 only")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def build_report(run: Path, *, timeout: float, memory: int) -> str | None:
    """Writes `run`'s report.html in a child process bounded in memory and time; None on success, else why not."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _BUILD, str(run), str(memory)],
            capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return f"building the report took longer than {timeout:g} s and was stopped; run `prozess report {run}` instead"
    if proc.returncode == 0:
        return None
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1] if lines else f"exit status {proc.returncode}"
    if "MemoryError" in last or proc.returncode < 0:
        return f"building the report needed more than {memory / 2**30:g} GiB of memory and was stopped ({last}); run `prozess report {run}` instead"
    return last


def _handler(root: Path, *, report_timeout: float, report_memory: int) -> type[http.server.SimpleHTTPRequestHandler]:
    lock = threading.Lock()
    real_root = os.path.realpath(root)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # quiet; the CLI prints the address
            pass

        def _send(self, body: bytes, status: int = 200, ctype: str = "text/html; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _host_ok(self) -> bool:
            """Only a Host naming this server on loopback: the defence against DNS rebinding."""
            port = self.server.server_address[1]
            host = (self.headers.get("Host") or "").strip().lower()
            return host in {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}

        def _route(self) -> bool:
            if not self._host_ok():
                self._send(b"misdirected request: this server answers only Host 127.0.0.1:PORT or localhost:PORT\n", 421, "text/plain; charset=utf-8")
                return True
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path == "/favicon.ico":
                self._send(b"", 204, "image/x-icon")
                return True
            if path in ("/", "/index.html"):
                from prozess.report.index import build_index

                self._send(build_index(root).encode())
                return True
            if path.endswith("/" + REPORT):
                run = Run(Path(self.translate_path(self.path)).parent)
                if not _inside(os.path.realpath(run.path), real_root) or run.path.is_symlink():
                    return False
                if not os.path.lexists(run.report_path) and run.history_path.is_file():
                    with lock:
                        if not os.path.lexists(run.report_path):
                            why = build_report(run.path, timeout=report_timeout, memory=report_memory)
                            if why is not None:  # show why, instead of a bare 404
                                status = 503 if "stopped" in why else 500
                                self._send(f"could not build the report of {run.path.name}: {why}\n".encode(), status, "text/plain; charset=utf-8")
                                return True
            return False

        def send_head(self) -> Any:
            """Serves a regular file or lists a directory, only where the resolved path lies inside the results dir."""
            fs_path = self.translate_path(self.path)
            real = os.path.realpath(fs_path)
            if not _inside(real, real_root):
                self.send_error(404, "Not inside the results directory")
                return None
            if os.path.isdir(real):
                parts = urllib.parse.urlsplit(self.path)
                if not parts.path.endswith("/"):
                    self.send_response(301)
                    self.send_header("Location", urllib.parse.urlunsplit(("", "", parts.path + "/", parts.query, parts.fragment)))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self.list_directory(real)
            try:
                fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                self.send_error(404, "File not found")
                return None
            fh = os.fdopen(fd, "rb")
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                fh.close()
                self.send_error(404, "Not a regular file")
                return None
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(real))
            self.send_header("Content-Length", str(st.st_size))
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return fh

        def do_GET(self) -> None:
            if not self._route():
                super().do_GET()

        def do_HEAD(self) -> None:
            if not self._route():
                super().do_HEAD()

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(
    results_dir: str | os.PathLike,
    port: int = 8000,
    host: str = "127.0.0.1",
    *,
    report_timeout: float = REPORT_TIMEOUT_S,
    report_memory: int = REPORT_MEMORY_BYTES,
) -> http.server.ThreadingHTTPServer:
    """A ready (bound, not yet serving) server; port 0 picks a free port (see `server_address`).

    `report_timeout` (s) and `report_memory` (bytes of address space) bound the
    child process that builds a missing report.html on first view.
    """
    check_loopback(host)
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such results directory; pass --results-dir or set PROZESS_RESULTS_DIR")
    cls = _Server6 if ":" in host else _Server
    return cls((host, port), _handler(root, report_timeout=report_timeout, report_memory=report_memory))


def serve(results_dir: str | os.PathLike, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serves until interrupted (Ctrl-C), then closes the socket."""
    serve_until_interrupted(make_server(results_dir, port=port, host=host))


def serve_until_interrupted(server: Any) -> None:
    """Runs a made server until Ctrl-C, then closes its socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
