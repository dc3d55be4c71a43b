"""The address pool prozess owns, one /24 per cluster, and the pool's blackhole route.

Every node subnet comes from one pool ($PROZESS_ADDRESS_POOL, default 10.213.0.0/16).
While any prozess cluster exists, a blackhole route covers the whole pool: the more
specific route of a live cluster's bridge still wins, but traffic for a node that is
gone fails at once on this machine instead of leaving it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess

__all__ = [
    "DEFAULT_POOL", "AddressError", "pool", "subnets_in_use_on_host", "pick_subnet", "node_address",
    "gateway_address", "blackhole_present", "add_blackhole", "remove_blackhole",
]

DEFAULT_POOL = "10.213.0.0/16"
COMPOSE_SUBNET_INDEX = 0  # the first /24 is docker-compose.yml's; clusters prozess makes start at 1
FIRST_HOST = 11  # node nK gets .(10 + K); .1 is the gateway / host side


class AddressError(RuntimeError):
    """No usable subnet, or a pool that is not a private IPv4 network."""


def pool() -> ipaddress.IPv4Network:
    text = os.environ.get("PROZESS_ADDRESS_POOL", DEFAULT_POOL)
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as e:
        raise AddressError(f"PROZESS_ADDRESS_POOL={text!r} is not an IPv4 network such as {DEFAULT_POOL}: {e}") from None
    if not net.is_private or net.prefixlen > 23:
        raise AddressError(f"PROZESS_ADDRESS_POOL={text!r} must be a private IPv4 network of /23 or larger, e.g. {DEFAULT_POOL}")
    return net


def _routes() -> list[dict]:
    try:
        r = subprocess.run(["ip", "-j", "route", "show", "table", "all"], capture_output=True, text=True, timeout=10)
        return json.loads(r.stdout or "[]") if r.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


def subnets_in_use_on_host() -> list[ipaddress.IPv4Network]:
    """IPv4 networks that routes on this host already name (except prozess's own blackhole)."""
    out = []
    p = pool()
    for route in _routes():
        dst = route.get("dst", "")
        if route.get("type") == "blackhole" and dst == str(p):
            continue
        if dst in ("default", "") or ":" in dst:
            continue
        try:
            out.append(ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False))
        except ValueError:
            continue
    return out


def pick_subnet(taken: list[str]) -> ipaddress.IPv4Network:
    """The first /24 of the pool that no prozess cluster holds and no host route overlaps."""
    held = [ipaddress.IPv4Network(t) for t in taken]
    on_host = subnets_in_use_on_host()
    for i, net in enumerate(pool().subnets(new_prefix=24)):
        if i == COMPOSE_SUBNET_INDEX:
            continue
        if any(net.overlaps(h) for h in held) or any(net.overlaps(r) for r in on_host):
            continue
        return net
    raise AddressError(f"every /24 in the address pool {pool()} is in use; run `prozess cluster list` and `prozess cluster down NAME`")


def node_address(subnet: ipaddress.IPv4Network, index: int) -> str:
    """Address of node n<index> (1-based)."""
    return str(subnet.network_address + FIRST_HOST - 1 + index)


def gateway_address(subnet: ipaddress.IPv4Network) -> str:
    return str(subnet.network_address + 1)


def blackhole_present() -> bool:
    p = str(pool())
    return any(r.get("type") == "blackhole" and r.get("dst") == p for r in _routes())


def add_blackhole() -> bool:
    """Adds the pool's blackhole route; False when it cannot (not root): then nothing guards the pool."""
    if blackhole_present():
        return True
    r = subprocess.run(["ip", "route", "replace", "blackhole", str(pool())], capture_output=True, text=True)
    return r.returncode == 0


def remove_blackhole() -> None:
    if blackhole_present():
        subprocess.run(["ip", "route", "del", "blackhole", str(pool())], capture_output=True, text=True)
