"""Hypothesis strategies for prozess histories (shapes of Jepsen's kafka workload)."""

from __future__ import annotations

from hypothesis import strategies as st

from prozess.history import Op

keys = st.one_of(st.sampled_from(["x", "y", "3", "10", "k-1", "007", "-0"]), st.text(min_size=1, max_size=6))
values = st.integers(min_value=0, max_value=10_000)
offsets = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))


@st.composite
def invocation(draw):
    f = draw(st.sampled_from(["send", "poll", "txn", "assign", "subscribe", "crash"]))
    if f == "send":
        return f, [["send", draw(keys), draw(values)]]
    if f == "poll":
        return f, [["poll"]]
    if f == "txn":
        mops = draw(st.lists(st.one_of(st.tuples(st.just("send"), keys, values).map(list), st.just(["poll"])), min_size=1, max_size=4))
        return f, mops
    if f in ("assign", "subscribe"):
        return f, draw(st.lists(keys, max_size=4))
    return f, None


@st.composite
def completion_value(draw, f, value):
    if f in ("send", "poll", "txn"):
        out = []
        for mop in value:
            if mop[0] == "send":
                out.append(["send", mop[1], [draw(offsets), mop[2]]])
            else:
                polled = draw(st.dictionaries(keys, st.lists(st.tuples(offsets, values).map(list), max_size=3), max_size=3))
                out.append(["poll", polled])
        return out
    return value


@st.composite
def histories(draw, max_ops: int = 40):
    """A structurally valid history: per-process invoke then completion, nemesis info pairs."""
    n = draw(st.integers(min_value=0, max_value=max_ops))
    ops: list[Op] = []
    open_ops: dict = {}
    time = 0
    for _ in range(n):
        time += draw(st.integers(min_value=0, max_value=1_000_000))
        process = draw(st.one_of(st.integers(min_value=0, max_value=5), st.just("nemesis")))
        i = len(ops)
        if process == "nemesis":
            if "nemesis" in open_ops:
                f, value = open_ops.pop("nemesis")
                ops.append(Op(i, time, "info", "nemesis", f, draw(st.dictionaries(st.sampled_from(["n1", "n2", "grudge"]), st.lists(st.sampled_from(["n1", "n2", "n3"]), max_size=2), max_size=2))))
            else:
                f = draw(st.sampled_from(["start-partition", "stop-partition", "kill"]))
                open_ops["nemesis"] = (f, None)
                ops.append(Op(i, time, "info", "nemesis", f, draw(st.sampled_from(["majority", "n1", None]))))
        elif process in open_ops:
            f, value = open_ops.pop(process)
            typ = draw(st.sampled_from(["ok", "fail", "info"]))
            cv = draw(completion_value(f, value)) if typ == "ok" else value
            err = None if typ == "ok" else draw(st.sampled_from([None, "timeout", {"code": "NOT_LEADER"}]))
            ops.append(Op(i, time, typ, process, f, cv, draw(st.sampled_from([None, "n1"])), err))
        else:
            f, value = draw(invocation())
            open_ops[process] = (f, value)
            ops.append(Op(i, time, "invoke", process, f, value))
    return ops
