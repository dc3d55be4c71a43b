"""Node images, built with no container registry.

Two layers, each cached by a hash of its inputs and rebuilt only when they change:
- base: `debootstrap` of Debian bookworm from the mirror the machine's apt sources
  name, with every package a node needs, loaded by `docker import`
  (prozess-base:<hash>). $PROZESS_NODE_BASE names a stock image instead (a user with
  a registry), and then no debootstrap runs.
- node: cluster/node/Dockerfile (ARG BASE) adding one Kafka version's jars and the node
  scripts (prozess-node:<hash>; the hash covers the version and its jars, so every
  version has its own image; the default version's is also tagged
  prozess-node:latest for docker-compose).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from prozess.cluster.jars import ensure_jars, jars_dir
from prozess.cluster.paths import NODE_DIR, cache_dir
from prozess.setup import SetupError, is_root

__all__ = [
    "ImageError", "SUITE", "PACKAGES", "debian_mirror", "base_tag", "node_tag", "image_present",
    "ensure_base", "ensure_node_image", "NODE_REPO", "BASE_REPO",
]

SUITE = "bookworm"
PACKAGES = [
    "openjdk-17-jre-headless", "iptables", "iproute2", "procps", "libfaketime", "tini",
    "openssh-server", "ca-certificates",
    # the disk layer (cluster/node/bin/prozess-disk): libfuse 3 and its Python binding
    "fuse3", "python3-pyfuse3",
]
BASE_REPO = "prozess-base"
NODE_REPO = "prozess-node"
BASE_FORMAT = "1"  # bump when the way the base is made changes


class ImageError(SetupError):
    """A node image could not be built; the message says what to do."""


# --- apt sources ------------------------------------------------------------------

def _one_line_entries(text: str):
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        parts = line.split()[1:]
        if parts and parts[0].startswith("["):  # options like [arch=amd64 signed-by=...]
            while parts and not parts[0].endswith("]"):
                parts.pop(0)
            parts = parts[1:]
        if len(parts) >= 3:
            yield parts[0], [parts[1]], parts[2:]


def _deb822_entries(text: str):
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += " " + raw.strip()
            elif ":" in raw:
                key, _, value = raw.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split(), fields.get("components", "").split()


def apt_source_entries(root: Path = Path("/etc/apt")) -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every `deb` entry in the machine's apt sources."""
    entries = []
    files = [root / "sources.list"] + sorted((root / "sources.list.d").glob("*"))
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        if f.suffix == ".sources":
            entries += list(_deb822_entries(text))
        elif f.suffix == ".list" or f.name == "sources.list":
            entries += list(_one_line_entries(text))
    return entries


def debian_mirror(root: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the machine's apt sources name for bookworm main ($PROZESS_DEBIAN_MIRROR overrides)."""
    env = os.environ.get("PROZESS_DEBIAN_MIRROR")
    if env:
        return env
    for uri, suites, components in apt_source_entries(root):
        if SUITE in suites and "main" in components:
            return uri.rstrip("/")
    raise ImageError(
        f"no apt source names a Debian mirror for {SUITE} main; set PROZESS_DEBIAN_MIRROR to a Debian mirror URL, "
        f"or set PROZESS_NODE_BASE to a stock image such as debian:{SUITE}-slim if a registry is reachable"
    )


# --- hashing and tags -----------------------------------------------------------------

def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()[:16]


def base_tag() -> str:
    stock = os.environ.get("PROZESS_NODE_BASE")
    if stock:
        return stock
    arch = platform.machine()
    return f"{BASE_REPO}:{_digest([BASE_FORMAT.encode(), SUITE.encode(), arch.encode(), ' '.join(PACKAGES).encode()])}"


def _context_files(version: str) -> dict[str, Path]:
    files = {"Dockerfile": NODE_DIR / "Dockerfile"}
    for p in sorted((NODE_DIR / "bin").iterdir()):
        files[f"bin/{p.name}"] = p
    for p in sorted(jars_dir(version).glob("*.jar")):
        files[f"libs/{p.name}"] = p
    return files


def node_tag(version: str) -> str:
    """prozess-node:<hash of base tag, Dockerfile, scripts and jar names/sizes>."""
    parts = [base_tag().encode(), version.encode()]
    for rel, path in _context_files(version).items():
        parts.append(rel.encode())
        if rel.startswith("libs/"):
            parts.append(str(path.stat().st_size).encode())
        else:
            parts.append(path.read_bytes())
    return f"{NODE_REPO}:{_digest(parts)}"


def image_present(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextmanager
def _build_lock():
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "image.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- building ------------------------------------------------------------------------------

def ensure_base(client, *, log=print) -> str:
    """The base image tag, debootstrapping and importing it when missing."""
    tag = base_tag()
    if os.environ.get("PROZESS_NODE_BASE") or image_present(client, tag):
        return tag
    with _build_lock():
        if image_present(client, tag):
            return tag
        if not is_root():
            raise ImageError(
                "building the node base image runs debootstrap, which needs root; run `sudo prozess setup`, "
                f"or set PROZESS_NODE_BASE to a stock image such as debian:{SUITE}-slim if a registry is reachable"
            )
        if not shutil.which("debootstrap"):
            from prozess.setup import apt_install

            apt_install(["debootstrap"])
        mirror = debian_mirror()
        work = Path(tempfile.mkdtemp(prefix="prozess-base-"))
        try:
            root = work / "root"
            log(f"debootstrap {SUITE} from {mirror} (about a minute)")
            r = subprocess.run(
                ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), mirror],
                capture_output=True, text=True, timeout=1800,
            )
            if r.returncode != 0:
                raise ImageError(f"debootstrap failed: {(r.stdout + r.stderr).strip()[-800:]}")
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (root / junk).glob("*"):
                    if p.is_file():
                        p.unlink()
            tarball = work / "root.tar"
            r = subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], capture_output=True, text=True)
            if r.returncode != 0:
                raise ImageError(f"tar of the debootstrap root failed: {r.stderr.strip()[-500:]}")
            repo, _, version = tag.partition(":")
            log(f"docker import {tag}")
            client.api.import_image_from_file(str(tarball), repository=repo, tag=version)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not image_present(client, tag):
            raise ImageError(f"docker import did not produce {tag}")
    return tag


def ensure_node_image(client, version: str, *, log=print) -> str:
    """The node image tag for Kafka `version`, building base and node layers when missing."""
    ensure_jars(version)
    from prozess.cluster.spec import KAFKA_VERSION

    def tag_latest(tag: str) -> None:
        if version == KAFKA_VERSION:  # docker-compose's image is the default version's
            client.images.get(tag).tag(tag.partition(":")[0], "latest")

    return _ensure_on_base(client, node_tag(version), lambda: _context_files(version), "the node image", log=log,
                           after=tag_latest)


def _build(client, tag: str, files: dict[str, Path], buildargs: dict[str, str], what: str) -> None:
    """`docker build` of a context made of `files` (hard links where possible) into `tag`; ImageError naming `what`."""
    ctx = Path(tempfile.mkdtemp(prefix="prozess-ctx-"))
    try:
        for rel, src in files.items():
            dst = ctx / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        try:
            client.images.build(path=str(ctx), dockerfile="Dockerfile", tag=tag, buildargs=buildargs, pull=False, rm=True, forcerm=True)
        except Exception as e:
            raise ImageError(f"docker build of {what} failed: {e}") from None
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


# --- Tansu ------------------------------------------------------------------------------------

TANSU_REPO = "prozess-tansu"


def _tansu_context_files(version: str) -> dict[str, Path]:
    from prozess.cluster.tansu import tansu_binary

    files = {"Dockerfile": NODE_DIR / "Dockerfile.tansu", "tansu": tansu_binary(version)}
    for p in sorted((NODE_DIR / "bin").iterdir()):
        files[f"bin/{p.name}"] = p
    return files


def tansu_tag(version: str) -> str:
    """prozess-tansu:<hash of base tag, Dockerfile, scripts, Tansu version and binary size>."""
    parts = [base_tag().encode(), b"tansu", version.encode()]
    for rel, path in _tansu_context_files(version).items():
        parts.append(rel.encode())
        parts.append(str(path.stat().st_size).encode() if rel == "tansu" else path.read_bytes())
    return f"{TANSU_REPO}:{_digest(parts)}"


def ensure_tansu_image(client, version: str, *, log=print) -> str:
    """The Tansu node image for `version` (base + PostgreSQL + the cached binary), built when missing."""
    from prozess.cluster.tansu import ensure_tansu

    ensure_tansu(version, log=log)
    return _ensure_on_base(client, tansu_tag(version), lambda: _tansu_context_files(version), "the Tansu node image",
                           log=log, note="; installs PostgreSQL from Debian")


def _ensure_on_base(client, tag: str, context, what: str, *, log=print, note: str = "", after=None) -> str:
    """Image `tag` built on the base image from `context()` unless present (checked again under the build lock,
    so two runs building at once build it once); `after(tag)` runs once it was built."""
    if image_present(client, tag):
        return tag
    base = ensure_base(client, log=log)
    with _build_lock():
        if image_present(client, tag):
            return tag
        log(f"docker build {tag} (BASE={base}{note})")
        _build(client, tag, context(), {"BASE": base}, what)
        if after is not None:
            after(tag)
    return tag


# --- MirrorMaker 2 ----------------------------------------------------------------------------

MIRROR_REPO = "prozess-mirror"


def _mirror_context_files(mirror_version: str) -> dict[str, Path]:
    from prozess.cluster.jars import mirror_jars_dir

    d = NODE_DIR / "mirror"
    files = {"Dockerfile": d / "Dockerfile"}
    for p in sorted((d / "bin").iterdir()):
        files[f"bin/{p.name}"] = p
    for p in sorted(mirror_jars_dir(mirror_version).glob("*.jar")):
        files[f"libs/{p.name}"] = p
    return files


def mirror_tag(kafka_version: str, mirror_version: str) -> str:
    """prozess-mirror:<hash of the node image's tag, the mirror Dockerfile, scripts and jar names/sizes>."""
    parts = [node_tag(kafka_version).encode(), b"mirror", mirror_version.encode()]
    for rel, path in _mirror_context_files(mirror_version).items():
        parts.append(rel.encode())
        parts.append(str(path.stat().st_size).encode() if rel.startswith("libs/") else path.read_bytes())
    return f"{MIRROR_REPO}:{_digest(parts)}"


def ensure_mirror_image(client, kafka_version: str, mirror_version: str, *, log=print) -> str:
    """The MirrorMaker 2 node image: the node image of `kafka_version` plus connect-mirror `mirror_version`."""
    from prozess.cluster.jars import ensure_mirror_jars

    node = ensure_node_image(client, kafka_version, log=log)
    ensure_mirror_jars(mirror_version)
    tag = mirror_tag(kafka_version, mirror_version)
    if image_present(client, tag):
        return tag
    with _build_lock():
        if image_present(client, tag):
            return tag
        log(f"docker build {tag} (NODE={node}, connect-mirror {mirror_version})")
        _build(client, tag, _mirror_context_files(mirror_version), {"NODE": node}, "the MirrorMaker 2 image")
    return tag
