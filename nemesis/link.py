"""Degraded links: tc tbf bandwidth limits, iptables `statistic` random loss, tc netem.

- Bandwidth: a `tbf` root qdisc with prozess's own handle (5052:) on the node's
  interface; stop deletes the root qdisc only while it is ours, so a qdisc someone
  else put there is never removed.
- Loss: PROZESS-LOSS rules that drop a random fraction of packets from and to every
  peer (iptables `statistic --mode random`), which needs no netem.
- netem (delay, jitter, loss, duplication, reordering) needs the kernel's sch_netem.
  It is probed once per nemesis by adding a netem qdisc on a node's loopback; where
  the kernel has none, the fault is "unavailable: kernel has no netem" and is
  reported, never silently skipped.

The link fault package (`PACKAGE`, at the end): kinds ``bandwidth``, ``loss`` and
``netem`` (``start-X`` / ``stop-X``), their schedule entries, the netem probe,
and its part of heal-all (delete prozess's root qdiscs; the loss rules go with
the partition chains).
"""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from prozess.nemesis.executor import Executor, NemesisError, text
from prozess.nemesis.package import FaultContext, FaultPackage, each
from prozess.nemesis.partition import LOSS_CHAIN, drop_rules, ensure_argv, flush_argv, restore_input
from prozess.nemesis.process import choose_targets

__all__ = [
    "HANDLE",
    "PACKAGE",
    "NETEM_UNAVAILABLE",
    "PROBE_HANDLE",
    "bandwidth_argv",
    "heal_qdiscs",
    "interface_of",
    "loss_rules",
    "netem_argv",
    "probe_netem",
    "prozess_qdiscs",
    "start_bandwidth",
    "start_loss",
    "start_netem",
    "stop_loss",
    "stop_qdisc",
]

HANDLE = "5052:"  # "PR": marks a root qdisc as prozess's
PROBE_HANDLE = "5053:"
NETEM_UNAVAILABLE = "unavailable: kernel has no netem"


def interface_of(ex: Executor, node: str, address: str) -> str:
    """The interface that carries `address` inside `node` (eth0 in a docker container)."""
    res = ex.run(node, ["ip", "-o", "-4", "addr", "show"])
    for line in text(res.stdout).splitlines():
        words = line.split()
        if "inet" in words and words[words.index("inet") + 1].split("/")[0] == address:
            return words[1].rstrip(":").split("@")[0]
    raise NemesisError(f"{node}: no interface carries its address {address}")


def bandwidth_argv(dev: str, rate: str, *, burst: str = "32kbit", latency: str = "400ms") -> list[str]:
    """tc argv that puts prozess's tbf root qdisc on `dev` (replacing an earlier one of ours)."""
    return ["tc", "qdisc", "replace", "dev", dev, "root", "handle", HANDLE, "tbf", "rate", rate, "burst", burst, "latency", latency]


def netem_argv(dev: str, *, delay_ms: float = 0, jitter_ms: float = 0, loss: float = 0, duplicate: float = 0, reorder: float = 0) -> list[str]:
    """tc argv for a netem root qdisc with prozess's handle; percentages are fractions 0..1."""
    argv = ["tc", "qdisc", "replace", "dev", dev, "root", "handle", HANDLE, "netem"]
    if delay_ms or jitter_ms or reorder:
        argv += ["delay", f"{delay_ms or 1}ms"]
        if jitter_ms:
            argv += [f"{jitter_ms}ms", "distribution", "normal"]
    if loss:
        argv += ["loss", f"{loss * 100:g}%"]
    if duplicate:
        argv += ["duplicate", f"{duplicate * 100:g}%"]
    if reorder:
        argv += ["reorder", f"{reorder * 100:g}%"]
    return argv


def prozess_qdiscs(ex: Executor, node: str) -> list[tuple[str, str]]:
    """(device, qdisc line) of every root qdisc on `node` that carries prozess's handles."""
    res = ex.run(node, ["tc", "qdisc", "show"], check=False)
    out = []
    if res is None:
        return out
    for line in text(res.stdout).splitlines():
        words = line.split()
        if len(words) >= 5 and words[2] in (HANDLE, PROBE_HANDLE) and "dev" in words and "root" in words:
            out.append((words[words.index("dev") + 1], line.strip()))
    return out


def stop_qdisc(ex: Executor, node: str, *, check: bool = True) -> list[str]:
    """Deletes prozess's root qdiscs on `node` (none is fine); returns the devices cleared."""
    cleared = []
    for dev, _ in prozess_qdiscs(ex, node):
        ex.run(node, ["tc", "qdisc", "del", "dev", dev, "root"], check=check)
        cleared.append(dev)
    return cleared


heal_qdiscs = stop_qdisc


def start_bandwidth(ex: Executor, node: str, dev: str, rate: str) -> None:
    ex.run(node, bandwidth_argv(dev, rate))


def start_netem(ex: Executor, node: str, dev: str, **opts: float) -> None:
    ex.run(node, netem_argv(dev, **opts))


def probe_netem(ex: Executor, node: str) -> str | None:
    """None when netem works on `node`; else the reason it is unavailable.

    Adds (and removes) a netem qdisc on the node's loopback, the one interface a
    probe may disturb; "Specified qdisc kind is unknown" means no sch_netem.
    """
    res = ex.run(node, ["tc", "qdisc", "add", "dev", "lo", "root", "handle", PROBE_HANDLE, "netem", "delay", "1ms"], check=False)
    if res is None:
        return "unavailable: could not run tc in the node"
    if res.returncode == 0:
        ex.run(node, ["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        return None
    err = text(res.stderr).lower()
    if "unknown" in err or "not found" in err or "no such file" in err:
        return NETEM_UNAVAILABLE
    return f"unavailable: tc netem failed: {text(res.stderr).strip()[:200]}"


def loss_rules(peers: Sequence[str], probability: float) -> list[str]:
    """PROZESS-LOSS rule lines dropping `probability` of packets from and to each peer."""
    if not 0 < probability <= 1:
        raise NemesisError(f"loss probability must be in (0, 1], got {probability}")
    return drop_rules(LOSS_CHAIN, peers, extra=["-m", "statistic", "--mode", "random", "--probability", f"{probability:.4f}"])


def start_loss(ex: Executor, drops: Mapping[str, Sequence[str]], probability: float) -> None:
    """Replaces PROZESS-LOSS on every node in `drops` with random loss to its peers."""
    for node, peers in drops.items():
        ex.run(node, ensure_argv(), input=restore_input(LOSS_CHAIN, loss_rules(peers, probability)))


def stop_loss(ex: Executor, nodes: Sequence[str], *, check: bool = True) -> None:
    for node in nodes:
        ex.run(node, flush_argv([LOSS_CHAIN]), check=check)


# ------------------------------------------------------------------ the link fault package
PAIRS = {
    "bandwidth": ("start-bandwidth", "stop-bandwidth"),
    "loss": ("start-loss", "stop-loss"),
    "netem": ("start-netem", "stop-netem"),
}


def start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """The start step of a degraded link on drawn nodes, with the options' rate, probability or netem settings."""
    picked = choose_targets(rng.choice(["one", "minority", "all"]), nodes, rng)
    if kind == "bandwidth":
        return [("start-bandwidth", {"nodes": picked, "rate": opts.bandwidth})]
    if kind == "loss":
        return [("start-loss", {"nodes": picked, "probability": opts.loss})]
    return [("start-netem", {"nodes": picked, **opts.netem})]


def start_bandwidth_action(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    rate = str(value.get("rate") or nem.opts.bandwidth)
    each(nodes, lambda n: start_bandwidth(nem.ex, n, interface_of(nem.ex, n, nem.cluster.address(n)), rate))
    return {**value, "nodes": nodes, "rate": rate}


def stop_qdiscs(nem: FaultContext, value: dict) -> dict:
    """The stop of bandwidth and netem: prozess's root qdiscs off every node."""
    nodes = nem.nodes
    cleared = each(nodes, lambda n: stop_qdisc(nem.ex, n))
    return {**value, "cleared": [n for n, devs in zip(nodes, cleared) if devs]}


def start_loss_action(nem: FaultContext, value: dict) -> dict:
    nodes = nem.targets(value)
    p = float(value.get("probability") or nem.opts.loss)
    addrs = nem.addresses()
    start_loss(nem.ex, {n: [a for m, a in addrs.items() if m != n] for n in nodes}, p)
    return {**value, "nodes": nodes, "probability": p}


def stop_loss_action(nem: FaultContext, value: dict) -> dict:
    stop_loss(nem.ex, nem.nodes)
    return value


def start_netem_action(nem: FaultContext, value: dict) -> dict:
    if "netem" not in nem.unavailable:
        reason = probe_netem(nem.ex, nem.nodes[0])
        if reason:
            nem.unavailable["netem"] = reason
    if "netem" in nem.unavailable:
        return {**value, "error": nem.unavailable["netem"]}
    nodes = nem.targets(value)
    keys = ("delay_ms", "jitter_ms", "loss", "duplicate", "reorder")
    opts = {k: float(value[k]) for k in keys if k in value}
    each(nodes, lambda n: start_netem(nem.ex, n, interface_of(nem.ex, n, nem.cluster.address(n)), **opts))
    return {**value, "nodes": nodes}


def probe(ex: Executor, nodes: Sequence[str], kinds: set[str]) -> dict[str, str]:
    """{"netem": reason} when netem is asked for and the kernel of the first node has none."""
    if "netem" not in kinds:
        return {}
    reason = probe_netem(ex, list(nodes)[0])
    return {"netem": reason} if reason else {}


# Its part of the one-exec node heal (see prozess.nemesis.heal): delete prozess's root qdiscs.
HEAL_SH = r"""tc qdisc show | while read -r line; do
  set -- $line
  if [ "$#" -ge 6 ] && [ "$4" = dev ] && [ "$6" = root ] && { [ "$3" = "%s" ] || [ "$3" = "%s" ]; }; then
    tc qdisc del dev "$5" root || echo "tc qdisc del dev $5 failed" >&2
  fi
done
""" % (HANDLE, PROBE_HANDLE)

PACKAGE = FaultPackage(
    name="link",
    pairs=PAIRS,
    actions={
        "start-bandwidth": start_bandwidth_action,
        "stop-bandwidth": stop_qdiscs,
        "start-loss": start_loss_action,
        "stop-loss": stop_loss_action,
        "start-netem": start_netem_action,
        "stop-netem": stop_qdiscs,
    },
    start_steps=start_steps,
    heal_name="qdiscs",
    heal_sh=HEAL_SH,
    probe=probe,
)
