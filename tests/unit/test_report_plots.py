"""Latency/throughput numbers behind the plots, and the SVGs themselves."""

from prozess.history import History, Op
from prozess.report.faults import FaultWindow
from prozess.report.plots import fault_colours, latency_summary, op_pairs, render_plots


def history():
    ops = []
    for k in range(100):  # process 0: sends of k+1 ms, one every 10 ms
        t = k * 10_000_000
        ops.append(Op(len(ops), t, "invoke", 0, "send", [["send", "x", k]]))
        ops.append(Op(len(ops), t + (k + 1) * 1_000_000 // 10, "ok" if k % 10 else "fail", 0, "send", [["send", "x", [k, k]]]))
    ops.append(Op(len(ops), ops[-1].time + 1, "invoke", 1, "poll", [["poll"]]))  # never completes
    return History(ops)


def test_summary_counts_outcomes_and_ok_latency_quantiles():
    s = latency_summary(op_pairs(history()))
    assert s["send"]["count"] == 100 and s["send"]["ok"] == 90 and s["send"]["fail"] == 10
    assert s["poll"] == {"count": 1, "ok": 0, "fail": 0, "info": 1}  # no completion counts as info
    assert abs(s["send"]["max"] - 10.0) < 1e-6  # the slowest ok send took 10 ms (k = 99)
    assert 4.0 < s["send"]["p50"] < 6.0


def test_svgs_render_with_fault_windows():
    w = [FaultWindow("partition", 200_000_000, 500_000_000, 0, 1, None)]
    svgs = render_plots(op_pairs(history()), w, fault_colours(w), 1.0)
    assert set(svgs) == {"latency", "throughput"}
    for svg in svgs.values():
        assert "<svg" in svg and "partition" in svg and "send" in svg


def test_no_client_ops_no_plots():
    assert render_plots(op_pairs(History([])), [], {}, 0.0) == {}


def test_control_characters_in_names_are_drawn_as_escapes_without_font_warnings():
    """A fuzzed history's f (or fault kind) with control characters: no glyph-missing warning, the name still shown."""
    import warnings

    ops = [Op(0, 0, "invoke", 0, "se\x1bnd", None), Op(1, 1_000_000, "ok", 0, "se\x1bnd", None)]
    w = [FaultWindow("kill\x07", 0, 500_000, 0, 1, None)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svgs = render_plots(op_pairs(History(ops)), w, fault_colours(w), 1.0)
    assert all("se\\x1bnd" in svg and "kill\\x07" in svg for svg in svgs.values())
