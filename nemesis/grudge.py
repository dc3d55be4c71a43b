"""Grudges: who drops whom during a network partition. Pure functions, no I/O.

A grudge maps each node to the set of peers whose traffic it drops. prozess cuts a
link at the node that holds the grudge in both directions (INPUT from the peer and
OUTPUT to it), so for TCP a grudge entry means "this link is down"; the builders
below produce symmetric grudges, and `symmetric()` makes any custom one so.

Builders (names as the test spec spells them):

- ``halves``          first half | second half of the node list (smaller half first)
- ``random-halves``   the same after a seeded shuffle
- ``isolate-one``     one node (seeded choice, or the one given) | the rest
- ``majorities-ring`` every node sees a majority, no two nodes see the same one
- ``bridge``          two halves that share one node, which sees everyone
- ``leader``          isolate the current leader of a topic partition (resolved by the caller)
- ``controller``      isolate the active KRaft controller (resolved by the caller)
- ``split-controller`` brokers {B1, B2} | {B3, active controller}
- ``controller-zookeeper`` (ZooKeeper mode) cut only the links between the controller
  broker and the ensemble; it still reaches the other brokers and the clients
- ``zookeeper-leader`` (ZooKeeper mode) isolate the ensemble's current leader
- ``brokers-zookeeper`` (ZooKeeper mode) every broker | the ensemble; clients still
  reach the brokers
- ``custom``          components ``[["n1"], ["n2", "n3"]]`` or a map ``{"n1": ["n2"]}``
"""

from __future__ import annotations

import random
from typing import Iterable, Mapping, Sequence

__all__ = [
    "GRUDGES",
    "Grudge",
    "GrudgeError",
    "bridge",
    "complete",
    "components",
    "custom",
    "halves",
    "isolate_from",
    "isolate_one",
    "majorities_ring",
    "random_halves",
    "split_controller",
    "symmetric",
    "to_json",
]

Grudge = dict[str, frozenset[str]]

#: Grudge names a spec may use; `leader`, `controller`, `split-controller` need the live cluster.
GRUDGES = (
    "halves",
    "random-halves",
    "isolate-one",
    "majorities-ring",
    "bridge",
    "leader",
    "controller",
    "split-controller",
    "custom",
    "controller-zookeeper",
    "zookeeper-leader",
    "brokers-zookeeper",
)

#: Grudges that need a ZooKeeper-mode cluster (they name the ensemble's nodes).
ZOOKEEPER_GRUDGES = ("controller-zookeeper", "zookeeper-leader", "brokers-zookeeper")


class GrudgeError(ValueError):
    """A grudge that cannot be built; the message names the problem and what to do."""


def _check_nodes(nodes: Sequence[str]) -> list[str]:
    nodes = list(nodes)
    if len(nodes) < 2:
        raise GrudgeError(f"a partition needs at least 2 nodes, got {nodes!r}")
    if len(set(nodes)) != len(nodes):
        raise GrudgeError(f"duplicate node names in {nodes!r}")
    return nodes


def complete(parts: Iterable[Iterable[str]]) -> Grudge:
    """Every node drops every node that is not in its own component."""
    parts = [frozenset(p) for p in parts]
    everyone = frozenset().union(*parts) if parts else frozenset()
    grudge: Grudge = {}
    for part in parts:
        for node in part:
            grudge[node] = grudge.get(node, frozenset()) | (everyone - part)
    # A node in two components (a bridge) is computed per component; keep only what
    # it drops in all of them, so it talks to both sides.
    for node in everyone:
        holding = [everyone - p for p in parts if node in p]
        grudge[node] = frozenset.intersection(*holding)
    return grudge


def symmetric(grudge: Mapping[str, Iterable[str]]) -> Grudge:
    """Adds the reverse of every entry: if a drops b, b drops a."""
    out: dict[str, set[str]] = {n: set(ps) for n, ps in grudge.items()}
    for node, peers in grudge.items():
        for p in peers:
            out.setdefault(p, set()).add(node)
    return {n: frozenset(ps) for n, ps in out.items()}


def halves(nodes: Sequence[str]) -> Grudge:
    """First floor(n/2) nodes | the rest (the smaller half comes first, as in Jepsen)."""
    nodes = _check_nodes(nodes)
    cut = len(nodes) // 2
    return complete([nodes[:cut], nodes[cut:]])


def random_halves(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """`halves` after a seeded shuffle."""
    nodes = _check_nodes(nodes)
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    return halves(shuffled)


def isolate_one(nodes: Sequence[str], rng: random.Random | None = None, node: str | None = None) -> Grudge:
    """`node` (or a seeded choice) alone | every other node."""
    nodes = _check_nodes(nodes)
    if node is None:
        if rng is None:
            raise GrudgeError("isolate-one needs a node or a seeded rng to choose one")
        node = rng.choice(nodes)
    if node not in nodes:
        raise GrudgeError(f"cannot isolate {node!r}: not one of the nodes {nodes!r}")
    return complete([[node], [n for n in nodes if n != node]])


def isolate_from(node: str, others: Sequence[str], nodes: Sequence[str]) -> Grudge:
    """Cuts only the links between `node` and `others` (both ways); every other link stays up.

    E.g. the controller broker cut off from ZooKeeper but still talking to the other
    brokers and to clients: it keeps acting as controller until its session expires.
    """
    nodes = _check_nodes(nodes)
    others = [o for o in others if o != node]
    unknown = [x for x in [node, *others] if x not in nodes]
    if unknown:
        raise GrudgeError(f"cannot cut {unknown!r}: not among the nodes {nodes!r}")
    if not others:
        raise GrudgeError(f"nothing to cut {node!r} from")
    return symmetric({node: others})


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Every node sees a majority (itself included) but no node sees all of a ring.

    Nodes are placed on a seeded ring and linked to neighbours up to distance
    (m - 1) // 2 on each side (m = majority); nodes still short of m - 1 links are
    linked greedily to the nearest node also short of links, then to the nearest
    at all. With 5 nodes each node sees itself and its two ring neighbours; with 3,
    the best possible is a bridge (one node sees both others).
    """
    nodes = _check_nodes(nodes)
    ring = list(nodes)
    rng.shuffle(ring)
    n = len(ring)
    m = n // 2 + 1
    k = (m - 1) // 2
    links: dict[str, set[str]] = {x: set() for x in ring}

    def dist(i: int, j: int) -> int:
        d = abs(i - j)
        return min(d, n - d)

    for i in range(n):
        for j in range(i + 1, n):
            if dist(i, j) <= k:
                links[ring[i]].add(ring[j])
                links[ring[j]].add(ring[i])
    for i in range(n):
        a = ring[i]
        while len(links[a]) < m - 1:
            others = sorted((j for j in range(n) if j != i and ring[j] not in links[a]), key=lambda j: (dist(i, j), (j - i) % n))
            short = [j for j in others if len(links[ring[j]]) < m - 1]
            j = (short or others)[0]
            links[a].add(ring[j])
            links[ring[j]].add(a)
    everyone = frozenset(ring)
    return {x: everyone - links[x] - {x} for x in ring}


def bridge(nodes: Sequence[str]) -> Grudge:
    """Two halves sharing the middle node, which talks to both (Jepsen's bridge)."""
    nodes = _check_nodes(nodes)
    if len(nodes) < 3:
        raise GrudgeError("a bridge needs at least 3 nodes")
    mid = len(nodes) // 2
    return complete([nodes[: mid + 1], nodes[mid:]])


def split_controller(nodes: Sequence[str], brokers: Sequence[str], controller: str, rng: random.Random) -> tuple[Grudge, list[list[str]]]:
    """Brokers {B1, B2, ...} | {B3, active controller}.

    When the controller runs on a broker (combined mode) it is B3 itself, so its
    side is just that node; with dedicated controllers a seeded broker B3 joins it.
    Every other node (other brokers, the other controllers, which keep a quorum) is
    on the first side. Returns the grudge and the two sides.
    """
    nodes = _check_nodes(nodes)
    if controller not in nodes:
        raise GrudgeError(f"active controller {controller!r} is not one of the nodes {nodes!r}")
    if controller in brokers:
        small = [controller]
    else:
        if not brokers:
            raise GrudgeError("split-controller needs at least one broker")
        small = [controller, rng.choice(sorted(brokers))]
    big = [n for n in nodes if n not in small]
    if not big:
        raise GrudgeError("split-controller leaves one side empty; use more nodes")
    return complete([big, small]), [big, small]


def custom(spec: object, nodes: Sequence[str]) -> Grudge:
    """A grudge from the spec: components ``[["n1"], ["n2", "n3"]]`` or a map ``{"n1": ["n2"]}``.

    A map is made symmetric; every name must be a node of the cluster.
    """
    known = set(nodes)

    def check(names: Iterable[object], where: str) -> list[str]:
        names = list(names)
        bad = [x for x in names if not isinstance(x, str) or x not in known]
        if bad:
            raise GrudgeError(f"custom grudge {where}: unknown node(s) {bad!r}; nodes are {sorted(known)!r}")
        return names  # type: ignore[return-value]

    if isinstance(spec, Mapping):
        raw = {check([k], "key")[0]: check(v if isinstance(v, (list, tuple, set, frozenset)) else [v], f"entry {k!r}") for k, v in spec.items()}
        grudge = symmetric(raw)
    elif isinstance(spec, (list, tuple)) and spec and all(isinstance(p, (list, tuple)) for p in spec):
        parts = [check(p, f"component {i}") for i, p in enumerate(spec)]
        grudge = complete(parts)
    else:
        raise GrudgeError(
            f"custom grudge must be a list of components like [['n1'], ['n2', 'n3']] or a map like {{'n1': ['n2']}}, got {spec!r}"
        )
    return {n: grudge.get(n, frozenset()) for n in sorted(set(nodes) | set(grudge))}


def components(grudge: Mapping[str, Iterable[str]], nodes: Sequence[str]) -> list[list[str]]:
    """Connected components of the "can still talk" graph (a link is up when neither end drops the other)."""
    drops = {n: set(grudge.get(n, ())) for n in nodes}
    seen: set[str] = set()
    out: list[list[str]] = []
    for start in nodes:
        if start in seen:
            continue
        comp, stack = [], [start]
        seen.add(start)
        while stack:
            a = stack.pop()
            comp.append(a)
            for b in nodes:
                if b not in seen and b not in drops[a] and a not in drops[b]:
                    seen.add(b)
                    stack.append(b)
        out.append(sorted(comp, key=list(nodes).index))
    return out


def to_json(grudge: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The grudge as plain JSON data (sorted lists), for history values and logs."""
    return {n: sorted(ps) for n, ps in sorted(grudge.items())}
