"""The detection matrix's untargeted column: its cells, their specs (prozess.nemesis's own random
schedules), and its table with the fault accounting, rendered without a cluster."""

from __future__ import annotations

from tests.bench_modules import detection as _detection






def test_every_unsafe_row_with_faults_and_its_twin_under_each_default_mix():
    det = _detection()
    untargeted = {c.id: c for c in det.CELLS if c.column == "untargeted"}
    rows = [c for c in det.CELLS if c.column == "targeted" and c.strategy != "none" and not c.disk and not c.mirror]
    assert len(untargeted) == len(rows) * len(det.UNTARGETED_MIXES)
    for mix in ("partition+kill", "pause+partition"):
        c, twin = untargeted[f"acks1@{mix}"], untargeted[f"acks1-safe@{mix}"]
        assert not c.safe and twin.safe and c.twin == twin.id
        spec = det.make_spec(c, 1, time_limit=c.time_limit, results_dir="unused", prefix="p")
        assert spec.faults == [mix] and spec.time_limit == 60 and spec.client["acks"] == "1"


def test_untargeted_table_pairs_rows_with_twins_and_shows_the_fault_accounting(tmp_path):
    det = _detection()
    cells = {c.id: c for c in det.CELLS}
    acc = {"kill": {"scheduled": 5, "applied": 5, "failed": 0}, "partition": {"scheduled": 5, "applied": 4, "failed": 1}}
    runs_u = [{"seed": 1, "valid": False, "anomaly_types": ["lost-write"], "detected": True, "time_to_detect_s": 12.5, "fault_accounting": acc},
              # invalid, but not for the row's expected reason: counted as invalid, not as detected
              {"seed": 2, "valid": False, "anomaly_types": ["nonlinearizable-offsets"], "detected": False, "fault_accounting": acc}]
    runs_s = [{"seed": 1, "valid": True, "anomaly_types": [], "detected": False, "fault_accounting": acc}]
    doc = det.merge_doc({"cells": []}, [det.summarize(cells["acks1@partition+kill"], runs_u, kafka="4.4.0", time_limit=60),
                                        det.summarize(cells["acks1-safe@partition+kill"], runs_s, kafka="4.4.0", time_limit=60)],
                        {"kafka": "4.4.0", "date": "2026-01-01T00:00:00+00:00", "k": 1, "time_limit_s": 60})
    text = det.untargeted_table(doc)
    assert ("| acks=1 | partition+kill | 2/2 | 1/2 | 12.5 s | lost-write, nonlinearizable-offsets | 0/1 | "
            "kill 10/10, partition 8/10; kill 5/5, partition 4/5 |") in text, text
    assert det.untargeted_summary(doc) == ("Over 2 unsafe campaigns, 2 ended invalid (1 of 1 rows caught at least once); "
                                           "over 1 safe-twin campaigns, 0 false alarms.")
    assert det.table(doc).count("\n") == 1  # the targeted table holds no untargeted cell
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{det.BEGIN}\nold\n{det.END}\n")
    det.render(doc, md=tmp_path / "detection.md", readme=readme)
    assert "What a plain campaign catches" in readme.read_text() and "What a plain campaign catches" in (tmp_path / "detection.md").read_text()


def test_eos_cells_are_checked_by_the_eos_checker(tmp_path):
    """An eos cell (read-uncommitted) is only worth something if the eos checker runs: the spec names no checkers,
    so the workload's own (eos, stats, perf) apply."""
    from prozess.checkers import default_names

    det = _detection()
    cell = {c.id: c for c in det.CELLS}["read-uncommitted"]
    spec = det.make_spec(cell, 1, time_limit=10, results_dir=str(tmp_path), prefix="p")
    assert "eos" in default_names({"workload": spec.workload, "checkers": spec.checkers})
