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
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from prozess.nemesis.executor import Executor, NemesisError, text

__all__ = [
    "CHAIN",
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
