"""Fault windows from nemesis ops."""

from prozess.history import Op
from prozess.report.faults import fault_windows, windows_at


def nem(i, t, f, value=None):
    return Op(i, t, "info", "nemesis", f, value)


def test_start_stop_pairs_make_one_window():
    ops = [nem(0, 10, "start-partition", "halves"), nem(1, 12, "start-partition", {"n1": ["n2"]}),
           nem(2, 50, "stop-partition"), nem(3, 55, "stop-partition", "healed")]
    (w,) = fault_windows(ops)
    assert (w.kind, w.start, w.end, w.start_op, w.end_op, w.healed) == ("partition", 10, 55, 0, 3, True)
    assert w.value == {"n1": ["n2"]}


def test_unhealed_fault_runs_to_the_end_and_says_so():
    ops = [nem(0, 10, "start-clock"), nem(1, 11, "start-clock")]
    (w,) = fault_windows(ops, end_time=100)
    assert w.end == 100 and not w.healed and w.end_op is None


def test_jepsen_kill_start_and_pause_resume_and_instant_actions():
    ops = [nem(0, 10, "kill", ["n1"]), nem(1, 11, "kill"), nem(2, 20, "start", ["n1"]), nem(3, 21, "start"),
           nem(4, 30, "pause"), nem(5, 31, "pause"), nem(6, 40, "resume"), nem(7, 41, "resume"),
           nem(8, 60, "compact-log", 5), nem(9, 61, "compact-log")]
    ws = fault_windows(ops)
    assert [(w.kind, w.start, w.end) for w in ws] == [("kill", 10, 21), ("pause", 30, 41), ("compact-log", 60, 61)]
    assert [w.kind for w in windows_at(ws, 35)] == ["pause"]
    assert windows_at(ws, 50) == []


def test_plain_start_stop_is_a_fault_of_its_own():
    ops = [nem(0, 1, "start"), nem(1, 2, "start"), nem(2, 8, "stop"), nem(3, 9, "stop")]
    (w,) = fault_windows(ops)
    assert (w.kind, w.start, w.end) == ("fault", 1, 9)


def test_a_stop_without_a_start_is_no_window():
    assert fault_windows([nem(0, 1, "stop-partition"), nem(1, 2, "stop-partition")]) == []


def test_heal_all_closes_every_window_and_checks_are_not_faults():
    ops = [nem(0, 10, "start-partition"), nem(1, 11, "start-partition"), nem(2, 20, "pause"), nem(3, 21, "pause"),
           nem(4, 30, "check-offsets"), nem(5, 31, "check-offsets"), nem(6, 40, "heal-all"), nem(7, 45, "heal-all")]
    ws = fault_windows(ops, end_time=100)
    assert [(w.kind, w.start, w.end, w.healed) for w in ws] == [("partition", 10, 45, True), ("pause", 20, 45, True)]


def test_a_run_without_a_saved_pairing_pairs_prozess_faults_from_the_table():
    """Runs saved before results.json carried `faults.edges`: bump-clock and reset-clock are one clock window, not two blips."""
    ops = [nem(0, 10, "strobe-clock"), nem(1, 11, "strobe-clock"), nem(2, 20, "reset-clock"), nem(3, 21, "reset-clock")]
    (w,) = fault_windows(ops)
    assert (w.kind, w.start, w.end) == ("clock", 10, 21)
    ops = [nem(0, 10, "bump-clock"), nem(1, 11, "bump-clock"), nem(2, 20, "reset-clock"), nem(3, 21, "reset-clock"),
           nem(4, 30, "start-power-cut"), nem(5, 31, "start-power-cut"), nem(6, 40, "stop-power-cut"), nem(7, 41, "stop-power-cut")]
    assert [(w.kind, w.start, w.end, w.healed) for w in fault_windows(ops)] == [("clock", 10, 21, True), ("power-cut", 30, 41, True)]


def test_the_pairing_saved_with_the_run_wins():
    edges = {"bump-clock": ["skew", "start"], "reset-clock": ["skew", "stop"]}
    ops = [nem(0, 10, "bump-clock"), nem(1, 11, "bump-clock"), nem(2, 20, "reset-clock"), nem(3, 21, "reset-clock")]
    (w,) = fault_windows(ops, edges=edges)
    assert (w.kind, w.start, w.end) == ("skew", 10, 21)


def test_the_report_finds_windows_without_importing_the_nemesis():
    import subprocess
    import sys

    code = "import sys, prozess.report.faults, prozess.report.render; print(sorted(m for m in sys.modules if m.startswith('prozess.nemesis')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert out == "[]"
