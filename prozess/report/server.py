"""`prozess serve`: the run store over HTTP on a loopback address.

`/` is the run index (built afresh on every request, so new runs appear on
reload); every other path is a file under the results dir. A run's report.html
that does not exist yet is written on first request. Only loopback addresses
are accepted: the reports carry cluster details and the server has no
authentication.
"""

from __future__ import annotations

import http.server
import ipaddress
import os
import socket
import threading
import urllib.parse
from pathlib import Path
from typing import Any

__all__ = ["serve", "make_server", "check_loopback"]


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


def _handler(root: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    lock = threading.Lock()

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

        def _route(self) -> bool:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path == "/favicon.ico":
                self._send(b"", 204, "image/x-icon")
                return True
            if path in ("/", "/index.html"):
                from prozess.report.index import build_index

                self._send(build_index(root).encode())
                return True
            if path.endswith("/report.html"):
                run = (root / path.lstrip("/")).parent
                try:
                    run.resolve().relative_to(root.resolve())
                except ValueError:
                    return False
                if not (run / "report.html").exists() and (run / "history.jsonl").exists():
                    from prozess.report.render import write_report

                    with lock:
                        if not (run / "report.html").exists():
                            try:
                                write_report(run)
                            except Exception as e:  # show why, instead of a bare 404
                                self._send(f"could not build the report of {run.name}: {e}".encode(), 500, "text/plain; charset=utf-8")
                                return True
            return False

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


def make_server(results_dir: str | os.PathLike, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """A ready (bound, not yet serving) server; port 0 picks a free port (see `server_address`)."""
    check_loopback(host)
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such results directory; pass --results-dir or set PROZESS_RESULTS_DIR")
    cls = _Server6 if ":" in host else _Server
    return cls((host, port), _handler(root))


def serve(results_dir: str | os.PathLike, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serves until interrupted (Ctrl-C), then closes the socket."""
    server = make_server(results_dir, port=port, host=host)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
