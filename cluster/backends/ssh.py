"""The ssh backend: every node operation over SSH with paramiko, every remote argv quoted.

Two ways to get hosts:
- `hosts=[...]` ("user@host:port" or names from ~/.ssh/config): the user's machines,
  with credentials from the usual SSH config, agent and keys; unknown host keys are
  refused (add them to known_hosts). Kafka is installed under /opt/prozess over SFTP
  when missing.
- no hosts: prozess makes its own nodes, containers from the node image on a
  network from its pool running sshd, with a key pair generated for the cluster.
  After they start, nothing but SSH touches them.
"""

from __future__ import annotations

import io
import os
import posixpath
import shlex
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any, Callable

from prozess.cluster.backends.base import ExecResult, ExecTimeout, decode
from prozess.cluster.kafka import CONFIG_DIR, NodeLayout
from prozess.cluster.paths import NODE_DIR, state_dir

__all__ = ["SshBackend", "SshError", "parse_host"]


class SshError(RuntimeError):
    """A host could not be reached or used over SSH; the message says which and why."""


def parse_host(text: str) -> dict[str, Any]:
    """'user@host:port' (user and port optional) -> {"user", "host", "port"} (None where not given)."""
    user, _, rest = text.rpartition("@")
    host, _, port = rest.partition(":")
    if not host or (port and not port.isdigit()):
        raise SshError(f"ssh host {text!r} is not of the form [user@]host[:port]")
    return {"user": user or None, "host": host, "port": int(port) if port else None}


class SshBackend:
    name = "ssh"

    def __init__(self, state: dict[str, Any], *, hosts: list[str] | None = None, user: str | None = None,
                 key_filename: str | None = None, log: Callable[[str], None] | None = None, **docker_options: Any):
        self.state = state
        opts = state.setdefault("backend_options", {})
        if hosts is not None:
            opts["hosts"] = list(hosts)
        if user:
            opts["user"] = user
        if key_filename:
            opts["key_filename"] = key_filename
        self.log = log or (lambda msg: None)
        self.provision = not opts.get("hosts")
        self.uses_pool = self.provision
        self._docker = None
        if self.provision:
            from prozess.cluster.backends.docker import DockerBackend

            self._docker = DockerBackend(state, log=self.log, **docker_options)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def node_layout(self, node: str) -> NodeLayout:
        return NodeLayout()

    # --- connection details ----------------------------------------------------------
    def _key_path(self) -> Path:
        return state_dir() / f"{self.state['name']}.id_rsa"

    def _target(self, node: str) -> dict[str, Any]:
        return self.state["resources"]["ssh"][node]

    def client(self, node: str):
        import paramiko

        with self._lock:
            c = self._clients.get(node)
            if c is not None and c.get_transport() is not None and c.get_transport().is_active():
                return c
            t = self._target(node)
            c = paramiko.SSHClient()
            c.load_system_host_keys()
            if self.state["resources"].get("own_hosts"):
                c.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # containers prozess just made itself
            else:
                c.set_missing_host_key_policy(paramiko.RejectPolicy())
            kwargs: dict[str, Any] = {"hostname": t["host"], "port": t["port"], "username": t["user"], "timeout": 15,
                                      "banner_timeout": 30, "auth_timeout": 30}
            if t.get("key_filename"):
                kwargs.update(key_filename=t["key_filename"], allow_agent=False, look_for_keys=False)
            last = None
            for _ in range(30):
                try:
                    c.connect(**kwargs)
                    self._clients[node] = c
                    return c
                except paramiko.SSHException as e:
                    if "not found in known_hosts" in str(e):
                        raise SshError(f"{t['host']}: host key unknown; add it to ~/.ssh/known_hosts (ssh-keyscan {t['host']})") from None
                    last = e
                except OSError as e:
                    last = e
                time.sleep(1)
            raise SshError(f"cannot reach {node} over SSH at {t['user']}@{t['host']}:{t['port']}: {last}")

    def close(self) -> None:
        with self._lock:
            for c in self._clients.values():
                try:
                    c.close()
                except Exception:
                    pass
            self._clients.clear()
        if self._docker:
            self._docker.close()

    # --- lifecycle -------------------------------------------------------------------------
    def prepare(self, spec) -> None:
        if self.provision:
            self._docker.prepare(spec)
            return
        hosts = self.state["backend_options"]["hosts"]
        if len(hosts) != spec.nodes:
            raise SshError(f"the spec has {spec.nodes} nodes but {len(hosts)} ssh hosts were given; give one --host per node")
        # The user's hosts keep their own addresses; resolve them now so up() can render configs.
        self.state["addresses"] = {}
        for node, h in zip(spec.node_names, hosts):
            self.state["addresses"][node] = socket.gethostbyname(self._resolve(parse_host(h))["host"])

    def _resolve(self, h: dict[str, Any]) -> dict[str, Any]:
        """Fills user/port/hostname/identity from ~/.ssh/config, like ssh does."""
        import paramiko

        cfg_path = Path.home() / ".ssh" / "config"
        cfg = paramiko.SSHConfig.from_path(str(cfg_path)) if cfg_path.exists() else paramiko.SSHConfig()
        found = cfg.lookup(h["host"])
        ident = found.get("identityfile")
        return {
            "host": found.get("hostname", h["host"]),
            "port": h["port"] or int(found.get("port", 22)),
            "user": h["user"] or self.state["backend_options"].get("user") or found.get("user") or os.environ.get("USER", "root"),
            "key_filename": self.state["backend_options"].get("key_filename") or (ident[0] if ident else None),
        }

    def create(self, state: dict[str, Any], save: Callable[[], None]) -> None:
        res = state.setdefault("resources", {})
        if self.provision:
            import paramiko

            key = paramiko.RSAKey.generate(2048)
            path = self._key_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            res["key_file"] = str(path)
            res["own_hosts"] = True
            save()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                key.write_private_key(f)
            pub = f"{key.get_name()} {key.get_base64()} prozess-{state['name']}\n".encode()
            self._docker.files = {"/root/.ssh/authorized_keys": (pub, 0o600)}
            self._docker.command = ["sh", "-c", "ssh-keygen -A >/dev/null && /usr/sbin/sshd -e && exec sleep infinity"]
            self._docker.create(state, save)
            res["ssh"] = {n: {"host": state["addresses"][n], "port": 22, "user": "root", "key_filename": str(path)} for n in state["nodes"]}
            save()
            return
        res["ssh"] = {n: self._resolve(parse_host(h)) for n, h in zip(state["nodes"], state["backend_options"]["hosts"])}
        save()
        for node in state["nodes"]:
            self._install_if_missing(node, state, save)

    def _install_if_missing(self, node: str, state: dict[str, Any], save: Callable[[], None]) -> None:
        from prozess.cluster.jars import ensure_jars

        version = state["spec"]["kafka_version"]
        lay = self.node_layout(node)
        if self.exec(node, ["test", "-f", f"{lay.libs}/kafka_2.13-{version}.jar"]).returncode == 0:
            return
        self.log(f"installing Kafka {version} on {node} over SFTP")
        state["resources"].setdefault("installed", []).append(node)
        save()
        self.exec(node, ["mkdir", "-p", lay.bin, lay.libs])
        # Another version's jars in prozess's libs dir would share the classpath: one version at a time.
        self.exec(node, ["find", lay.libs, "-maxdepth", "1", "-name", "*.jar", "-delete"])
        for p in sorted((NODE_DIR / "bin").iterdir()):
            self.put_file(node, f"{lay.bin}/{p.name}", p.read_bytes(), 0o755)
        for p in sorted(ensure_jars(version).glob("*.jar")):
            self.put_file(node, f"{lay.libs}/{p.name}", p.read_bytes())

    def destroy(self, state: dict[str, Any]) -> list[str]:
        res = state.get("resources", {})
        problems: list[str] = []
        if res.get("own_hosts") or self.provision:
            self.close()
            problems += (self._docker or _docker_for(state)).destroy(state)
        else:
            for node in res.get("ssh", {}):
                lay = self.node_layout(node)
                try:
                    self.exec(node, [f"{lay.bin}/kafka-signal", "KILL"], timeout=60)
                    paths = [CONFIG_DIR, lay.data, lay.logs, posixpath.dirname(lay.pidfile)]
                    if node in res.get("installed", []):
                        paths.append(posixpath.dirname(lay.bin))
                    self.exec(node, ["rm", "-rf", "--", *paths], timeout=60)
                except Exception as e:
                    problems.append(f"cleaning {node}: {e}")
            self.close()
        if res.get("key_file"):
            try:
                os.unlink(res["key_file"])
            except FileNotFoundError:
                pass
        return problems

    # --- commands and files -------------------------------------------------------------
    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> ExecResult:
        command = shlex.join(["timeout", "-s", "KILL", f"{max(timeout, 0.1):.1f}s", *argv])
        chan = self.client(node).get_transport().open_session(timeout=15)
        try:
            chan.settimeout(1.0)
            chan.exec_command(command)
            if input:
                chan.sendall(input)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            start = time.monotonic()
            deadline = start + timeout + 15
            while True:
                got = False
                if chan.recv_ready():
                    out += chan.recv(65536)
                    got = True
                if chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                    got = True
                if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                if time.monotonic() > deadline:
                    raise ExecTimeout(f"on {node}: {argv!r} did not finish within {timeout} s")
                if not got:
                    time.sleep(0.01)
            code = chan.recv_exit_status()
        finally:
            chan.close()
        if code == 137 and time.monotonic() - start >= timeout:
            raise ExecTimeout(f"on {node}: {argv!r} did not finish within {timeout} s")
        return ExecResult(code, decode(bytes(out)), decode(bytes(err)))

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None:
        r = self.exec(node, ["mkdir", "-p", posixpath.dirname(path) or "/"])
        if r.returncode != 0:
            raise OSError(f"on {node}: cannot create the directory of {path}: {r.stderr.strip()}")
        sftp = self.client(node).open_sftp()
        try:
            sftp.putfo(io.BytesIO(data), path)
            sftp.chmod(path, mode)
        finally:
            sftp.close()

    def get_file(self, node: str, path: str) -> bytes:
        sftp = self.client(node).open_sftp()
        try:
            try:
                if not stat.S_ISREG(sftp.stat(path).st_mode):
                    raise IsADirectoryError(f"on {node}: {path} is not a regular file")
            except FileNotFoundError:
                raise FileNotFoundError(f"on {node}: {path}") from None
            buf = io.BytesIO()
            sftp.getfo(path, buf)
            return buf.getvalue()
        finally:
            sftp.close()


def _docker_for(state: dict[str, Any]):
    from prozess.cluster.backends.docker import DockerBackend

    return DockerBackend(state)
