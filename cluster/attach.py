"""Attaching to a running cluster by name: the cluster itself, or the whole mirror set-up its state names.

`prozess heal NAME`, `prozess cluster status|logs|down NAME` and `--cluster NAME`
attach through here, so the source of a mirror campaign comes back with its
target and MM2 node (`prozess.cluster.mirror.MirrorCluster`). Kept apart from
`prozess.cluster.cluster`, which the mirror module builds on.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["attach_cluster"]


def attach_cluster(name: str, *, log: Callable[[str], None] | None = None, plain: bool = False) -> Any:
    """The cluster `name` from its persisted state; the source of a mirror set-up as its `MirrorCluster`, unless `plain`."""
    from prozess.cluster.cluster import attach_cluster as attach_one

    cluster = attach_one(name, log=log)
    if cluster.state.get("mirror") and not plain:
        from prozess.cluster.mirror import attach_mirror

        return attach_mirror(cluster, log=log)
    return cluster
