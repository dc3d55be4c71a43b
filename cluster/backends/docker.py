"""The docker backend: one user-defined bridge network per cluster, one container per node.

Containers `<cluster>-n1..nN` run `tini -- sleep infinity` as PID 1, so killing or
pausing the Kafka process (started by exec) never kills the node. They carry
NET_ADMIN (iptables, tc inside the node), and, for a cluster made with
`disk_faults=True`, /dev/fuse and SYS_ADMIN (to mount the prozess-disk layer under
Kafka's data directory), get fixed addresses from the cluster's
subnet, and reach each other by node name. The control host reaches them directly
over the bridge.
"""

from __future__ import annotations

import io
import posixpath
import socket
import tarfile
import time
from typing import Any, Callable

from prozess.cluster.backends.base import ExecResult, ExecTimeout, decode
from prozess.cluster.kafka import NodeLayout

__all__ = ["DockerBackend", "LABEL"]

LABEL = "prozess.cluster"


class DockerBackend:
    name = "docker"
    uses_pool = True

    def __init__(self, state: dict[str, Any], *, image: str | None = None, data_tmpfs: bool | None = None,
                 disk_faults: bool | None = None, log: Callable[[str], None] | None = None):
        self.state = state
        opts = state.setdefault("backend_options", {})
        self.image = image or opts.get("image")
        # Kafka's data on tmpfs: a killed process loses nothing it had written (page cache
        # survives), and fsync latency on a loaded host no longer stalls KRaft elections.
        self.data_tmpfs = opts.setdefault("data_tmpfs", True) if data_tmpfs is None else data_tmpfs
        opts["data_tmpfs"] = self.data_tmpfs
        # Disk faults: Kafka's data directory sits on the prozess-disk FUSE layer, which
        # needs /dev/fuse and CAP_SYS_ADMIN (mount(2)); granted only to such clusters.
        self.disk_faults = bool(opts.setdefault("disk_faults", False) if disk_faults is None else disk_faults)
        opts["disk_faults"] = self.disk_faults
        self.log = log or (lambda msg: None)
        self._client = None
        # Hooks for backends built on these containers (ssh): the command PID 1 (tini)
        # runs, and files placed in each container before it starts: {path: (bytes, mode)}.
        self.command: list[str] | None = None
        self.files: dict[str, tuple[bytes, int]] = {}

    # --- engine ------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            from prozess.cluster.engine import docker_client

            self._client = docker_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None

    def node_layout(self, node: str) -> NodeLayout:
        return NodeLayout()

    def container_name(self, node: str) -> str:
        return f"{self.state['name']}-{node}"

    def network_name(self) -> str:
        return f"{self.state['name']}-net"

    # --- lifecycle -------------------------------------------------------------------
    def prepare(self, spec) -> None:
        """Builds (or finds cached) the node image before any resource is made."""
        if not self.image:
            from prozess.cluster.image import ensure_node_image, ensure_tansu_image

            if getattr(spec, "system", "kafka") == "tansu":
                self.image = ensure_tansu_image(self.client, spec.tansu_version, log=self.log)
            else:
                self.image = ensure_node_image(self.client, spec.kafka_version, log=self.log)
        self.state.setdefault("backend_options", {})["image"] = self.image

    def create(self, state: dict[str, Any], save: Callable[[], None]) -> None:
        from docker.types import IPAMConfig, IPAMPool

        res = state.setdefault("resources", {})
        api = self.client.api
        labels = {LABEL: state["name"]}
        net_name = self.network_name()
        res["network"] = net_name
        save()
        self.client.networks.create(
            net_name, driver="bridge", labels=labels,
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=state["subnet"], gateway=state["gateway"])]),
        )
        res.setdefault("containers", [])
        for node in state["nodes"]:
            cname = self.container_name(node)
            res["containers"].append(cname)
            save()
            host_config = api.create_host_config(
                cap_add=["NET_ADMIN", "SYS_ADMIN"] if self.disk_faults else ["NET_ADMIN"], init=False,
                devices=["/dev/fuse:/dev/fuse:rwm"] if self.disk_faults else None,
                tmpfs={"/var/lib/kafka": "size=2g"} if self.data_tmpfs else None,
            )
            net_config = api.create_networking_config(
                {net_name: api.create_endpoint_config(ipv4_address=state["addresses"][node], aliases=[node])}
            )
            c = api.create_container(
                self.image, name=cname, hostname=node, labels=labels, detach=True,
                host_config=host_config, networking_config=net_config, command=self.command,
            )
            files = dict(self.files)
            if self.disk_faults:  # kafka-start mounts the layer when this marker is there
                files["/etc/prozess/disk-layer"] = (b"prozess-disk\n", 0o644)
            for path, (data, mode) in files.items():
                api.put_archive(c["Id"], "/", _tar_one(path.lstrip("/"), data, mode))
            api.start(c["Id"])

    def destroy(self, state: dict[str, Any]) -> list[str]:
        import docker

        problems = []
        res = state.get("resources", {})
        client = self.client
        names = set(res.get("containers", []))
        try:  # also anything labelled for this cluster (a crash between create and save)
            for c in client.containers.list(all=True, filters={"label": f"{LABEL}={state['name']}"}):
                names.add(c.name)
        except Exception as e:
            problems.append(f"listing containers: {e}")
        for cname in sorted(names):
            try:
                client.api.remove_container(cname, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except Exception as e:
                problems.append(f"removing container {cname}: {e}")
        net_names = {res["network"]} if res.get("network") else set()
        try:
            for n in client.networks.list(filters={"label": f"{LABEL}={state['name']}"}):
                net_names.add(n.name)
        except Exception as e:
            problems.append(f"listing networks: {e}")
        for net in sorted(net_names):
            for attempt in range(10):
                try:
                    client.api.remove_network(net)
                    break
                except docker.errors.NotFound:
                    break
                except Exception as e:
                    if attempt == 9:
                        problems.append(f"removing network {net}: {e}")
                    time.sleep(0.5)
        return problems

    # --- commands and files -------------------------------------------------------------
    def exec(self, node: str, argv: list[str], *, timeout: float = 30, input: bytes | None = None) -> ExecResult:
        from docker.utils.socket import STDOUT, frames_iter

        api = self.client.api
        wrapped = ["timeout", "-s", "KILL", f"{max(timeout, 0.1):.1f}s", *argv]
        eid = api.exec_create(self.container_name(node), wrapped, stdin=input is not None, stdout=True, stderr=True, user="root")["Id"]
        start = time.monotonic()
        sock = api.exec_start(eid, socket=True, demux=False)
        raw = getattr(sock, "_sock", sock)
        raw.settimeout(timeout + 30)
        try:
            if input is not None:
                raw.sendall(input)
            try:
                raw.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            out, err = bytearray(), bytearray()
            for stream, chunk in frames_iter(sock, tty=False):
                (out if stream == STDOUT else err).extend(chunk)
        finally:
            sock.close()
        code = None
        for _ in range(50):
            code = api.exec_inspect(eid).get("ExitCode")
            if code is not None:
                break
            time.sleep(0.05)
        code = -1 if code is None else code
        if code == 137 and time.monotonic() - start >= timeout:
            raise ExecTimeout(f"on {node}: {argv!r} did not finish within {timeout} s")
        return ExecResult(code, decode(bytes(out)), decode(bytes(err)))

    def put_file(self, node: str, path: str, data: bytes, mode: int = 0o644) -> None:
        parent = posixpath.dirname(path) or "/"
        r = self.exec(node, ["mkdir", "-p", parent])
        if r.returncode != 0:
            raise OSError(f"on {node}: cannot create {parent}: {r.stderr.strip()}")
        self.client.api.put_archive(self.container_name(node), parent, _tar_one(posixpath.basename(path), data, mode))

    def get_file(self, node: str, path: str) -> bytes:
        import docker

        try:
            stream, _ = self.client.api.get_archive(self.container_name(node), path)
        except docker.errors.NotFound:
            raise FileNotFoundError(f"on {node}: {path}") from None
        buf = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=buf) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise IsADirectoryError(f"on {node}: {path} is not a regular file")
            f = tar.extractfile(member)
            return f.read() if f else b""


def _tar_one(name: str, data: bytes, mode: int) -> bytes:
    """A tar archive holding one regular file (and its parent directories, mode 0700)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = tarfile.TarInfo("/".join(parts[:i]))
            d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o700, int(time.time())
            tar.addfile(d)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
