"""Network partitions with iptables inside the nodes, in chains prozess owns.

Layout on every node (filter table):

    INPUT  -> PROZESS        OUTPUT -> PROZESS
    PROZESS -> PROZESS-PART  (partition rules: drop by peer address)
    PROZESS -> PROZESS-LOSS  (random loss rules, see link.py)

A partition replaces PROZESS-PART atomically (`iptables-restore --noflush`
declaring that one chain flushes and refills it); healing flushes the leaf
chains and touches nothing else of the node's rules. A node that drops peer P
gets `-s P -j DROP` (INPUT) and `-d P -j DROP` (OUTPUT), so the link is down both
ways at that node.

The partition fault package (`PACKAGE`, at the end): kind ``partition``
(``start-partition`` / ``stop-partition``), its schedule entry (a grudge drawn
from the options), its actions (resolve the grudge, install it on every node;
flush it) and its part of heal-all (flush every prozess leaf chain).
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Mapping, Sequence

from prozess.nemesis import grudge as grudges
from prozess.nemesis import process
from prozess.nemesis.executor import Executor, NemesisError, text
from prozess.nemesis.package import FaultContext, FaultPackage, each

__all__ = [
    "CHAIN",
    "PACKAGE",
    "LEAF_CHAINS",
    "LOSS_CHAIN",
    "PART_CHAIN",
    "control_address",
    "drop_rules",
    "ensure_argv",
    "flush_argv",
    "grudge_addresses",
    "heal_partition",
    "apply_partition",
    "list_rules",
    "restore_input",
]

CHAIN = "PROZESS"
PART_CHAIN = "PROZESS-PART"
LOSS_CHAIN = "PROZESS-LOSS"
LEAF_CHAINS = (PART_CHAIN, LOSS_CHAIN)

# A constant script (no input is interpolated): creates the chains and the jumps when
# missing, then replaces the declared chains from stdin.
_ENSURE_AND_RESTORE = (
    "for c in PROZESS PROZESS-PART PROZESS-LOSS; do iptables -w -N $c 2>/dev/null; done; "
    "for c in INPUT OUTPUT; do iptables -w -C $c -j PROZESS 2>/dev/null || iptables -w -I $c 1 -j PROZESS || exit 3; done; "
    "for c in PROZESS-PART PROZESS-LOSS; do iptables -w -C PROZESS -j $c 2>/dev/null || iptables -w -A PROZESS -j $c || exit 3; done; "
    "exec iptables-restore -w --noflush"
)

# Flushes the leaf chains where they exist; a node that never had a fault is left alone.
_FLUSH = "for c in \"$@\"; do if iptables -w -n -L $c >/dev/null 2>&1; then iptables -w -F $c || exit 3; fi; done"


def ensure_argv() -> list[str]:
    """argv that ensures chains and jumps, then reads an iptables-restore document on stdin."""
    return ["sh", "-c", _ENSURE_AND_RESTORE]


def flush_argv(chains: Sequence[str] = LEAF_CHAINS) -> list[str]:
    """argv that flushes the given prozess chains (positional arguments, never interpolated)."""
    for c in chains:
        if c not in LEAF_CHAINS + (CHAIN,):
            raise ValueError(f"not a prozess chain: {c!r}")
    return ["sh", "-c", _FLUSH, "prozess-flush", *chains]


def drop_rules(chain: str, peers: Iterable[str], *, extra: Sequence[str] = ()) -> list[str]:
    """iptables-restore rule lines that drop traffic from and to each peer address."""
    lines = []
    for addr in sorted(set(peers)):
        lines.append(" ".join(["-A", chain, "-s", addr, *extra, "-j", "DROP"]))
        lines.append(" ".join(["-A", chain, "-d", addr, *extra, "-j", "DROP"]))
    return lines


def restore_input(chain: str, rules: Sequence[str]) -> bytes:
    """An iptables-restore document that replaces `chain` with `rules` and leaves the rest."""
    if chain not in LEAF_CHAINS:
        raise ValueError(f"not a prozess leaf chain: {chain!r}")
    return ("\n".join(["*filter", f":{chain} - [0:0]", *rules, "COMMIT"]) + "\n").encode()


def grudge_addresses(grudge: Mapping[str, Iterable[str]], address: Mapping[str, str]) -> dict[str, list[str]]:
    """node -> sorted peer addresses it drops; a peer name missing from `address` is an error."""
    out: dict[str, list[str]] = {}
    for node, peers in grudge.items():
        addrs = []
        for p in peers:
            if p not in address:
                raise NemesisError(f"no address known for {p!r} (in the grudge of {node!r})")
            addrs.append(address[p])
        out[node] = sorted(set(addrs))
    return out


def control_address(ex: Executor, node: str) -> str:
    """The control host's address as `node` sees it: the cluster's if it says, else the node's default gateway."""
    cluster = ex.cluster
    for attr in ("control_address", "host_address", "gateway"):
        v = getattr(cluster, attr, None)
        if callable(v):
            try:
                v = v()
            except TypeError:
                v = None
        if isinstance(v, str) and v:
            return v
    res = ex.run(node, ["ip", "-o", "-4", "route", "show", "default"], check=False)
    if res is not None and res.returncode == 0:
        words = text(res.stdout).split()
        if "via" in words:
            return words[words.index("via") + 1]
    raise NemesisError(f"cannot tell the control host's address from {node}: no default route; partition clients with clients='none'")


def apply_partition(ex: Executor, drops: Mapping[str, Sequence[str]], nodes: Sequence[str]) -> None:
    """Makes PROZESS-PART on every node drop exactly `drops[node]` (empty for nodes not in it)."""
    for node in nodes:
        rules = drop_rules(PART_CHAIN, drops.get(node, ()))
        ex.run(node, ensure_argv(), input=restore_input(PART_CHAIN, rules))


def heal_partition(ex: Executor, nodes: Sequence[str], *, check: bool = True) -> list[str]:
    """Flushes PROZESS-PART on every node; returns the nodes where that failed (when not `check`)."""
    failed = []
    for node in nodes:
        res = ex.run(node, flush_argv([PART_CHAIN]), check=check)
        if res is None or res.returncode != 0:
            failed.append(node)
    return failed


def list_rules(ex: Executor, node: str, chains: Sequence[str] = LEAF_CHAINS) -> list[str]:
    """The rules now in prozess's leaf chains on `node` (`-A ...` lines); empty when healed."""
    out: list[str] = []
    for chain in chains:
        res = ex.run(node, ["iptables", "-w", "-S", chain], check=False)
        if res is None or res.returncode != 0:
            continue
        out += [line for line in text(res.stdout).splitlines() if line.startswith("-A ")]
    return out


# ------------------------------------------------------------------ the partition fault package
def start_steps(kind: str, opts: Any, nodes: Sequence[str], brokers: Sequence[str], rng: random.Random, hold: float) -> list[tuple[str, Any]]:
    """The start step of a partition: the grudge drawn now (live ones are resolved when it starts)."""
    name = rng.choice(list(opts.grudges))
    value: dict[str, Any] = {"grudge": name, "clients": opts.clients}
    if name == "halves":
        g = grudges.halves(nodes)
    elif name == "random-halves":
        g = grudges.random_halves(nodes, rng)
    elif name == "isolate-one":
        g = grudges.isolate_one(nodes, rng)
    elif name == "majorities-ring":
        g = grudges.majorities_ring(nodes, rng)
    elif name == "bridge":
        g = grudges.bridge(nodes)
    elif name == "custom":
        g = grudges.custom(opts.custom_grudge, nodes)
    else:  # leader, controller, split-controller: resolved against the live cluster
        g = None
        if name == "leader":
            value["topic"], value["partition"] = opts.topic, opts.partition
        if name == "split-controller":
            value["seed"] = rng.randrange(2**31)
    if g is not None:
        value["drops"] = grudges.to_json(g)
    return [("start-partition", value)]


def resolve_grudge(nem: FaultContext, value: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """The grudge a start-partition step means on the live cluster (drops given, built from its name, or a role looked up now)."""
    name = value.get("grudge")
    nodes = nem.nodes
    if value.get("drops") is not None:
        return grudges.custom(value["drops"], nodes) if name == "custom" else {n: frozenset(ps) for n, ps in value["drops"].items()}
    if name == "leader":
        return grudges.isolate_one(nodes, node=nem.live("leader", value))
    if name == "controller":
        return grudges.isolate_one(nodes, node=nem.live("controller", value))
    if name == "split-controller":
        ctrl = nem.live("controller", value)
        g, _ = grudges.split_controller(nodes, list(nem.cluster.brokers), ctrl, random.Random(value.get("seed", 0)))
        return g
    if name in grudges.ZOOKEEPER_GRUDGES:
        return _zookeeper_grudge(nem, name, nodes)
    if name == "custom":
        return grudges.custom(nem.opts.custom_grudge, nodes)
    builders = {
        "halves": lambda: grudges.halves(nodes),
        "random-halves": lambda: grudges.random_halves(nodes, random.Random(value.get("seed", 0))),
        "isolate-one": lambda: grudges.isolate_one(nodes, random.Random(value.get("seed", 0)), node=value.get("node")),
        "majorities-ring": lambda: grudges.majorities_ring(nodes, random.Random(value.get("seed", 0))),
        "bridge": lambda: grudges.bridge(nodes),
    }
    if name not in builders:
        raise NemesisError(f"unknown grudge {name!r}; use one of {', '.join(grudges.GRUDGES)}")
    return builders[name]()


def _zookeeper_grudge(nem: FaultContext, name: str, nodes: list[str]) -> dict[str, frozenset[str]]:
    """The role-aware grudges of a ZooKeeper-mode cluster (brokers, ensemble, controller broker)."""
    zks = list(getattr(nem.cluster, "zookeepers", []) or [])
    if not zks:
        raise NemesisError(f"grudge {name!r} needs a ZooKeeper-mode cluster (--metadata zookeeper)")
    if name == "zookeeper-leader":
        return grudges.isolate_one(nodes, node=process.live_target(nem.cluster, "zookeeper-leader", None, 0))
    if name == "controller-zookeeper":
        ctrl = process.live_target(nem.cluster, "controller", None, 0)
        return grudges.isolate_from(ctrl, zks, nodes)
    brokers = [n for n in nodes if n not in zks]
    return grudges.complete([brokers, zks])


def start_partition(nem: FaultContext, value: dict) -> dict:
    g = resolve_grudge(nem, value)
    nodes = nem.nodes
    drops = grudge_addresses(g, nem.addresses())
    comps = grudges.components(g, nodes)
    out = {**value, "drops": grudges.to_json(g), "components": comps}
    if value.get("clients", nem.opts.clients) == "majority":
        with_clients = max(comps, key=lambda c: (len(c), [-nodes.index(x) for x in c]))
        control = control_address(nem.ex, nodes[0])
        for n in nodes:
            if n not in with_clients:
                drops[n] = sorted(set(drops.get(n, [])) | {control})
        out["clients-with"] = with_clients
    each(nodes, lambda n: apply_partition(nem.ex, drops, [n]))
    return out


def stop_partition(nem: FaultContext, value: dict) -> dict:
    nodes = nem.nodes
    each(nodes, lambda n: heal_partition(nem.ex, [n]))
    return {**value, "healed": nodes}


# Its part of the one-exec node heal (see prozess.nemesis.heal): flush every prozess leaf chain.
HEAL_SH = r"""for c in PROZESS-PART PROZESS-LOSS; do
  if iptables -w -n -L "$c" >/dev/null 2>&1; then iptables -w -F "$c" || { echo "flush $c failed" >&2; rc=1; }; fi
done
"""

PACKAGE = FaultPackage(
    name="partition",
    pairs={"partition": ("start-partition", "stop-partition")},
    actions={"start-partition": start_partition, "stop-partition": stop_partition},
    start_steps=start_steps,
    heal_name="iptables",
    heal_sh=HEAL_SH,
)
