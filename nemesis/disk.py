"""Disk faults on the prozess-disk FUSE layer under each node's data directory.

One self-contained fault package: its kinds and (start, stop) fs, its schedule
entries, how each step is applied, its heal step and its leftover check.

Kinds (each a start/stop pair in the schedule):

- ``power-cut``: SIGKILL the node's Kafka, then cut every file of the node's data
  directory back to its last durable state (un-fsynced bytes, never-synced new
  files and un-synced renames vanish), as a power loss of a single disk does.
  Targets: ``one``, ``minority``, ``majority``, ``all`` (chosen when the schedule is
  made), ``replicas`` (every replica of the topic partition, looked up when the
  fault starts) or ``leader``. The stop starts Kafka again on every node where it
  does not run.
- ``corrupt-segment``: flip bits in, or truncate, a region of one segment file
  (``newest``, ``random``) or of the newest ``index`` file, on one broker, while it
  runs; or (``leader``) of the newest segment of one topic partition on the broker
  that leads it when the fault starts (the run's first topic, partition 0, unless
  the step names them). The node, file and region are recorded in the op's value.
  The damage stays (a real bad sector does too); the stop only records that.
- ``disk-full``: writes that grow the data past its current size (plus a headroom)
  fail with ENOSPC; the stop frees the space on every node.

The layer exists only on clusters made for disk faults (docker backend option
``disk_faults``); elsewhere each step is ``unavailable`` with the reason.
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterable, Mapping, Sequence

from prozess.nemesis import process
from prozess.nemesis.executor import Executor, NemesisError, text
from prozess.nemesis.package import FaultContext, FaultPackage, HealStep, each

__all__ = [
    "KINDS", "PACKAGE", "START_STOP", "FS", "STARTS", "TARGETS", "apply", "heal_argv", "heal_node", "node_leftovers",
    "probe", "start_steps", "validate_options",
]

#: fault kind -> (start f, stop f)
START_STOP: dict[str, tuple[str, str]] = {
    "power-cut": ("start-power-cut", "stop-power-cut"),
    "corrupt-segment": ("start-corrupt-segment", "stop-corrupt-segment"),
    "disk-full": ("start-disk-full", "stop-disk-full"),
}
KINDS = tuple(START_STOP)
FS = frozenset(f for pair in START_STOP.values() for f in pair)
STARTS = frozenset(start for start, _ in START_STOP.values())

TARGETS = ("one", "minority", "majority", "all", "replicas", "leader")
CORRUPT_TARGETS = ("newest", "random", "index", "leader")
CORRUPT_MODES = ("bitflip", "truncate")
SOCKET = "/run/prozess-disk.sock"
MARKER = "/etc/prozess/disk-layer"
DEFAULTS: dict[str, Any] = {
    "targets": ["one", "minority", "majority", "all", "replicas"],  # power-cut
    "corrupt_targets": ["newest", "random", "index"],  # `leader` only when named
    "corrupt_modes": list(CORRUPT_MODES),
    "full_targets": ["one", "minority", "all"],
    "headroom": 0,  # bytes a disk-full node may still grow by
}
UNAVAILABLE = ("unavailable: node {node} has no prozess-disk layer under its data directory; "
               "disk faults need a cluster made for them (the runner makes one when the faults name a disk fault; "
               "`open_cluster(..., disk_faults=True)` in code)")


# ------------------------------------------------------------------ options and schedule
def options(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The disk options with defaults filled in (keys with - or _ both work)."""
    out = dict(DEFAULTS)
    for k, v in (raw or {}).items():
        out[str(k).replace("-", "_")] = v
    return out


def validate_options(raw: Mapping[str, Any] | None) -> str | None:
    """None when the nemesis option `disk` is valid, else what is wrong with it."""
    if raw is not None and not isinstance(raw, Mapping):
        return f"nemesis option disk must be a map, got {raw!r}"
    opts = options(raw)
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown:
        return f"unknown disk option(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}"
    for name, allowed in (("targets", TARGETS), ("full_targets", TARGETS), ("corrupt_targets", CORRUPT_TARGETS), ("corrupt_modes", CORRUPT_MODES)):
        value = opts[name]
        if not isinstance(value, (list, tuple)) or not value or any(v not in allowed for v in value):
            return f"disk option {name} must be a non-empty list of {', '.join(allowed)}, got {value!r}"
    if not isinstance(opts["headroom"], int) or opts["headroom"] < 0:
        return f"disk option headroom must be a number of bytes >= 0, got {opts['headroom']!r}"
    return None


def _target_value(t: str, nodes: Sequence[str], rng: random.Random, topic: str | None, partition: int) -> dict[str, Any]:
    if t in ("replicas", "leader"):
        return {"targets": t, "topic": topic, "partition": partition}
    return {"targets": t, "nodes": process.choose_targets(t, nodes, rng)}


def start_steps(kind: str, raw: Mapping[str, Any] | None, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random,
                *, topic: str | None = None, partition: int = 0) -> list[tuple[str, Any]]:
    """The start step of one disk fault kind, every random choice made now (so a replay repeats it)."""
    opts = options(raw)
    if kind == "power-cut":
        return [(START_STOP[kind][0], _target_value(rng.choice(list(opts["targets"])), nodes, rng, topic, partition))]
    if kind == "corrupt-segment":
        value = {"targets": "one", "nodes": process.choose_targets("one", brokers, rng), "target": rng.choice(list(opts["corrupt_targets"])),
                 "mode": rng.choice(list(opts["corrupt_modes"])), "seed": rng.randrange(2**31), "topic": topic}
        if value["target"] == "leader":  # the node is whoever leads the partition when the fault starts
            del value["nodes"]
            value.update(targets="leader", partition=partition)
        return [(START_STOP[kind][0], value)]
    if kind == "disk-full":
        value = _target_value(rng.choice(list(opts["full_targets"])), brokers, rng, topic, partition)
        return [(START_STOP[kind][0], {**value, "headroom": int(opts["headroom"])})]
    raise ValueError(f"not a disk fault: {kind!r}")


def _package_start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    return start_steps(kind, opts.disk, nodes, brokers, rng, topic=opts.topic, partition=opts.partition)


# ------------------------------------------------------------------ on the node
def _bin(cluster: Any, node: str) -> str:
    try:
        return f"{cluster.layout(node).bin}/prozess-disk"
    except Exception:
        return "/opt/prozess/bin/prozess-disk"


def has_layer(ex: Executor, node: str) -> bool:
    """Whether `node` keeps its data on a prozess-disk layer that answers."""
    res = ex.run(node, [_bin(ex.cluster, node), "ctl", SOCKET, json.dumps({"cmd": "status"})], check=False, timeout=20)
    return res is not None and res.returncode == 0


def probe(ex: Executor, nodes: Sequence[str], kinds: Iterable[str]) -> dict[str, str]:
    """kind -> unavailable reason for every requested disk kind, when a node has no layer."""
    wanted = [k for k in kinds if k in START_STOP]
    if not wanted:
        return {}
    missing = [n for n in nodes if not has_layer(ex, n)]
    if not missing:
        return {}
    reason = UNAVAILABLE.format(node=", ".join(missing))
    return {k: reason for k in wanted}


def ctl(ex: Executor, node: str, request: Mapping[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Sends one command to the node's layer; its JSON answer, or NemesisError with the layer's reason."""
    res = ex.run(node, [_bin(ex.cluster, node), "ctl", SOCKET, json.dumps(dict(request))], check=False, timeout=timeout)
    out = text(res.stdout).strip() if res is not None else ""
    try:
        reply = json.loads(out.splitlines()[-1]) if out else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        err = text(res.stderr).strip()[-300:] if res is not None else "could not run"
        raise NemesisError(f"{node}: prozess-disk {request.get('cmd')} failed: {err or out or 'no answer'}")
    if not reply.get("ok"):
        raise NemesisError(f"{node}: prozess-disk {request.get('cmd')}: {reply.get('error')}")
    reply.pop("ok", None)
    return reply


def _targets(nemesis: FaultContext, value: Mapping[str, Any]) -> list[str]:
    kind = value.get("targets")
    if kind == "replicas" and not value.get("nodes"):
        # No topic named: the run's first topic, as for `leader` targets before the workload's topics are known.
        topic = value.get("topic") or nemesis.opts.topic or nemesis.default_topic
        part = int(value.get("partition") or 0)
        nodes = nemesis.cluster.replicas(topic, part)
        if not nodes:
            raise NemesisError(f"no replicas are known now for {topic}-{part}")
        return list(nodes)
    return nemesis.targets(value)


def _cut_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    cut = report.get("cut") or []
    return {
        "files-cut": len(cut),
        "bytes-dropped": sum(max(0, c["from"] - c["to"]) for c in cut),
        "blocks-restored": report.get("restored_blocks", 0),
        "removed": report.get("removed") or [],
        "reverted": report.get("reverted") or [],
        "cut": cut[:20],
        "problems": report.get("problems") or [],
    }


def apply(nemesis: FaultContext, f: str, value: dict[str, Any]) -> dict[str, Any]:
    """Applies one disk step through `nemesis` (its executor, cluster and target lookups)."""
    ex: Executor = nemesis.ex
    if f == "start-corrupt-segment" and value.get("target") == "leader":
        # One partition, named before its leader is looked up, so the node and the file are of the same partition.
        value = {**value, "topic": value.get("topic") or nemesis.opts.topic or nemesis.default_topic,
                 "partition": int(value.get("partition") or 0)}
        if not value["topic"]:
            raise NemesisError("corrupt-segment target leader: no topic is known yet")
    if f in STARTS:
        nodes = _targets(nemesis, value)
        missing = [n for n in nodes if not has_layer(ex, n)]
        if missing:
            return {**value, "nodes": nodes, "error": UNAVAILABLE.format(node=", ".join(missing))}
    if f == "start-power-cut":
        # Every target loses power at once: all brokers die first, then every disk is cut.
        each(nodes, lambda n: process.kill(ex, n, "KILL"))
        nemesis.killed |= set(nodes)
        reports = each(nodes, lambda n: ctl(ex, n, {"cmd": "power-cut"}))
        return {**value, "nodes": nodes, "cut": {n: _cut_summary(r) for n, r in zip(nodes, reports)}}
    if f == "stop-power-cut":
        started = [n for n, did in zip(nemesis.nodes, each(nemesis.nodes, lambda n: process.start(ex, n))) if did]
        nemesis.killed.clear()
        return {**value, "started": started}
    if f == "start-corrupt-segment":
        req = {"cmd": "corrupt", "target": value.get("target", "newest"), "mode": value.get("mode", "bitflip"),
               "seed": int(value.get("seed") or 0), "topic": value.get("topic")}
        if value.get("bytes"):
            req["bytes"] = int(value["bytes"])
        if req["target"] == "leader":  # the leader's newest segment of that one partition
            req.update(target="newest", partition=value["partition"])
        regions = each(nodes, lambda n: ctl(ex, n, req))
        return {**value, "nodes": nodes, "regions": dict(zip(nodes, regions))}
    if f == "stop-corrupt-segment":
        return {**value, "note": "the damaged bytes stay on disk; there is nothing to undo"}
    if f == "start-disk-full":
        headroom = int(value.get("headroom") or 0)
        limits = each(nodes, lambda n: ctl(ex, n, {"cmd": "fill", "headroom": headroom}))
        return {**value, "nodes": nodes, "limits": dict(zip(nodes, limits))}
    if f == "stop-disk-full":
        freed = []
        for n, ok in zip(nemesis.nodes, each(nemesis.nodes, lambda n: has_layer(ex, n))):
            if ok:
                ctl(ex, n, {"cmd": "free"})
                freed.append(n)
        return {**value, "freed": freed}
    raise NemesisError(f"not a disk fault step: {f!r}")


# ------------------------------------------------------------------ heal and leftovers
# Constant script, the layer's path as a positional argument: nodes without the layer
# (no marker) have nothing to heal; on the others a dead layer's mount is removed and
# the layer mounted again, and any disk-full limit is lifted.
_HEAL = r"""
[ -f "$2" ] || exit 0
exec "$1" heal
"""


def heal_argv(layer_bin: str) -> list[str]:
    return ["sh", "-c", _HEAL, "prozess-disk-heal", layer_bin, MARKER]


def heal_node(ex: Executor, node: str) -> None:
    """Remounts a dead layer and frees a full disk on `node` (no-op without a layer); raises on failure."""
    ex.run(node, heal_argv(_bin(ex.cluster, node)), timeout=60)


def node_leftovers(ex: Executor, node: str) -> list[str]:
    """Disk faults still in force on `node`: a fill limit, or a layer that does not answer."""
    res = ex.run(node, ["sh", "-c", '[ -f "$1" ] && echo yes; true', "prozess-check", MARKER], check=False)
    if res is None or text(res.stdout).strip() != "yes":
        return []
    try:
        status = ctl(ex, node, {"cmd": "status"}, timeout=20)
    except NemesisError as e:
        return [f"disk: the layer does not answer ({e})"]
    if status.get("limit") is not None:
        return [f"disk: full at {status['limit']} bytes (disk-full not freed)"]
    return []


# ------------------------------------------------------------------ the disk fault package
def _action(f: str):
    return lambda nemesis, value: apply(nemesis, f, value)


PACKAGE = FaultPackage(
    name="disk",
    pairs=START_STOP,
    actions={f: _action(f) for f in sorted(FS)},
    start_steps=_package_start_steps,
    in_all=False,  # disk faults need a cluster made for them, so "all" does not name them
    heal_steps=(HealStep("disk layer", heal_node),),
    probe=probe,
)
