"""CPU time of the txn checker's SCC step: its own iterative Tarjan over int arrays vs networkx over the same edges.

Simulates a correct history of N ops (`prozess.simulate`, 20 keys, 10 processes),
analyzes it once, then runs `prozess.checkers.txn.check` three times with each SCC
function and prints the CPU seconds of the whole check and of the SCC step, the
sizes of the graphs the step saw, and asserts that both give the same result.
CPU time, not wall time, so a shared machine blurs the figures less.

    .venv/bin/python benchmarks/txn_scc.py 200000
"""

from __future__ import annotations

import gc
import sys
import time

from prozess.checkers import txn
from prozess.checkers.analysis import analyze
from prozess.checkers.txn_cycles import components as tarjan
from prozess.simulate import simulate


def components_networkx(adj, members: list[int]) -> list[set]:
    """The same contract as `txn_cycles.components`, through networkx."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(len(adj)))
    g.add_edges_from((u, v) for u in range(len(adj)) for v in adj.successors(u))
    n = len(members)
    out = []
    for comp in nx.strongly_connected_components(g):
        real = [members[w] for w in comp if w < n]
        if len(real) > 1:
            out.append(set(real))
    out.sort(key=min)
    return out


def main(n: int, reps: int = 3) -> None:
    t0 = time.process_time()
    ops = simulate(n, seed=7)
    a = analyze(ops)
    print(f"{len(ops)} ops simulated and analyzed in {time.process_time() - t0:.1f} s CPU")
    spent: dict[str, float] = {}
    sizes: dict[str, list] = {}

    def timed(fn, name):
        def run(adj, members):
            t = time.process_time()
            out = fn(adj, members)
            spent[name] = spent.get(name, 0.0) + time.process_time() - t
            sizes.setdefault(name, []).append((len(members), len(adj)))
            return out
        return run

    whole: dict[str, list[float]] = {}
    reference = None
    original = txn.components
    try:
        for _ in range(reps):
            for name, fn in (("tarjan", tarjan), ("networkx", components_networkx)):
                txn.components = timed(fn, name)
                gc.collect()
                t = time.process_time()
                result = txn.check(ops, {}, a, info_seconds=600, seconds=600)
                whole.setdefault(name, []).append(time.process_time() - t)
                if reference is None:
                    reference = result
                assert result == reference, f"{name} gives another result"
    finally:
        txn.components = original
    for name in whole:
        print(f"{name}: txn.check {', '.join(f'{x:.2f}' for x in whole[name])} s CPU; SCC step {spent[name] / reps:.3f} s "
              f"per check; graphs (vertices, with barriers) {sizes[name][:2]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
