"""The disk rows of the detection matrix as specs (no cluster): the leader-corruption cell checks CRCs and aims at the leader."""

from __future__ import annotations

from tests.bench_modules import detection as _detection

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]




def test_corrupt_leader_cell_gives_consumers_crc_checks_and_aims_at_the_leader(tmp_path):
    det = _detection()
    cell = next(c for c in det.CELLS if c.id == "disk-corrupt-leader")
    assert cell.disk and cell.safe and cell.finding and (ROOT / cell.finding).exists()
    spec = det.make_spec(cell, 1, time_limit=45, results_dir=str(tmp_path), prefix="p")
    spec.validate()
    assert spec.client_properties() == {"check.crcs": "true"}
    from prozess.nemesis.combined import build_nemesis

    build_nemesis(cell.spec_faults(), dict(cell.targeted))  # the option map is valid for the disk package
    assert cell.targeted["disk"]["corrupt_targets"] == ["leader"]


def test_the_finding_shows_beside_the_false_alarm_count():
    det = _detection()
    cell = next(c for c in det.CELLS if c.id == "disk-corrupt-one")
    s = det.summarize(cell, [{"seed": 1, "valid": False, "anomaly_types": ["duplicate"], "detected": False}], kafka="4.4.0", time_limit=45)
    row = [line for line in det.table({"cells": [s]}).splitlines() if "bit flips" in line][0]
    assert f"1/1 (Kafka, not the checker: {cell.finding})" in row
    s = det.summarize(cell, [{"seed": 1, "valid": True, "anomaly_types": [], "detected": False}], kafka="4.4.0", time_limit=45)
    assert "not the checker" not in det.table({"cells": [s]})
