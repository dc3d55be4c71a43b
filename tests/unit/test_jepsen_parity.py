"""Jepsen's kafka checker and prozess agree at the edges: gapped indices, extra fields, killed runs,
ww-deps and allow/forbid, numbers, failed ops in the graph; plus the truncated-tail addition.

Each case is proved both ways: the anomaly (or the rejection) where it is present, silence where not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prozess.checkers import check
from prozess.cli import app
from prozess.edn import read_edn, write_edn
from prozess.history import History, HistoryError, Op, read_history, read_jsonl, write_jsonl
from prozess.spec import SpecError, TestSpec

runner = CliRunner()


def ops_of(*rows, gap=1, start=0):
    """Rows of (process, type, f, value[, extra]) -> Ops with index start, start+gap, ..."""
    out = []
    for n, row in enumerate(rows):
        p, t, f, v, *more = row
        out.append(Op(start + n * gap, n * 1_000_000, t, p, f, v, None, None, more[0] if more else None))
    return out


def send(p, k, v, o, typ="ok"):
    return [(p, "invoke", "send", [["send", k, v]]), (p, typ, "send", [["send", k, [o, v] if o is not None else v]])]


def poll(p, m, typ="ok", extra=None):
    return [(p, "invoke", "poll", [["poll"]], extra), (p, typ, "poll", [["poll", m]], extra)]


def rows(*groups):
    return [r for g in groups for r in g]


def write_lines(path: Path, dicts) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in dicts))
    return path


def cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.output


# ------------------------------------------------------------------ 1. indices with gaps


LOST = rows(send(0, "x", 1, 0), send(0, "x", 2, 1), poll(1, {"x": [[1, 2]]}))


def test_gapped_jsonl_is_checked_like_dense_and_names_ops_by_their_index(tmp_path):
    dense = History(ops_of(*LOST))
    gapped = History(ops_of(*LOST, gap=10, start=3))
    rd, rg = check(dense), check(gapped)
    assert rd["valid"] is rg["valid"] is False
    assert rd["anomaly-types"] == rg["anomaly-types"] == ["lost-write", "unseen"]
    ex_d = rd["checkers"]["queue"]["anomalies"]["lost-write"]["examples"][0]
    ex_g = rg["checkers"]["queue"]["anomalies"]["lost-write"]["examples"][0]
    assert ex_d["ops"] == [1, 5] and ex_g["ops"] == [13, 53]
    assert ex_g["writer"] == 13 and ex_g["max-read"] == 53
    assert "op 13 " in ex_g["explanation"] and "op 53 " in ex_g["explanation"]
    # Through a file, as a Jepsen user would pass it, and its EDN twin: same verdict, same indices.
    write_jsonl(gapped, tmp_path / "h.jsonl")
    write_edn(gapped, tmp_path / "h.edn")
    for name in ("h.jsonl", "h.edn"):
        h = read_history(tmp_path / name)
        assert [op.index for op in h] == [op.index for op in gapped]
        r = check(h)
        assert r["anomaly-types"] == ["lost-write", "unseen"]
        assert r["checkers"]["queue"]["anomalies"]["lost-write"]["examples"][0]["ops"] == [13, 53]


@pytest.mark.parametrize("second,problem", [(0, "the same as"), (-1, "below")])
def test_duplicate_or_decreasing_indices_are_bad_input_with_file_and_line(tmp_path, second, problem):
    base = [o.to_dict() for o in ops_of(*poll(0, {}), gap=5, start=5)]
    base[1]["index"] = base[0]["index"] + second
    path = write_lines(tmp_path / "bad.jsonl", base)
    with pytest.raises(HistoryError, match=problem) as e:
        read_jsonl(path)
    assert f"{path}:2:" in str(e.value)
    code, out = cli("check", path)
    assert code == 2 and "strictly increase" in out and "Traceback" not in out


def test_complete_keeps_indices_increasing_after_gaps():
    h = History(ops_of((0, "invoke", "send", [["send", "x", 1]]), *poll(1, {}), gap=4, start=2))
    c = h.complete()
    assert [op.index for op in c] == [2, 6, 10, 11] and c[-1].type == "info"


# ------------------------------------------------------------------ 2. extra fields, rebalance-log


def test_extra_fields_survive_jsonl_edn_jsonl(tmp_path):
    extra = {"rebalance-log": [{"keys": ["x"]}], "final": True, "unseen": {"x": {"polled": 1, "sent": 2}}}
    h = History(ops_of(*poll(0, {"x": [[0, 1]]}, extra=extra)))
    write_jsonl(h, tmp_path / "a.jsonl")
    a = read_jsonl(tmp_path / "a.jsonl")
    assert a[1].extra == extra
    write_edn(a, tmp_path / "b.edn")
    text = (tmp_path / "b.edn").read_text()
    assert ":rebalance-log" in text and ":final true" in text
    b = read_edn(tmp_path / "b.edn")
    write_jsonl(b, tmp_path / "c.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "c.jsonl").read_bytes()


def test_jepsen_edn_rebalance_log_is_kept(tmp_path):
    path = tmp_path / "h.edn"
    path.write_text('{:index 0, :type :invoke, :process 0, :f :poll, :value [[:poll]]}\n'
                    '{:index 1, :type :ok, :process 0, :f :poll, :value [[:poll {1 [[0 :a]]}]], '
                    ':rebalance-log [{:keys [1 2]}]}\n')
    h = read_edn(path)
    assert h[1].extra == {"rebalance-log": [{"keys": [1, 2]}]}


SKIPPING_POLL = rows(send(0, "x", 1, 0), send(0, "x", 2, 1), send(0, "x", 3, 2),
                     poll(1, {"x": [[0, 1], [1, 2], [2, 3]]}))


def _int_skip(extra):
    r = rows(SKIPPING_POLL, poll(2, {"x": [[0, 1], [2, 3]]}, extra=extra))
    return check(History(ops_of(*r)), names=["queue"])


def test_rebalance_log_exempts_the_key_from_int_poll_skip_as_jepsen_does():
    assert "int-poll-skip" in _int_skip(None)["anomaly-types"]
    assert "int-poll-skip" not in _int_skip({"rebalance-log": [{"keys": ["x"]}]})["anomaly-types"]
    # A rebalance of another key exempts nothing.
    assert "int-poll-skip" in _int_skip({"rebalance-log": [{"keys": ["y"]}]})["anomaly-types"]


# ------------------------------------------------------------------ 3. killed runs


def test_an_open_send_whose_value_was_read_completes_info_and_is_valid(tmp_path):
    r = rows([(0, "invoke", "send", [["send", "x", 1]])], poll(1, {"x": [[0, 1]]}))
    path = write_lines(tmp_path / "killed.jsonl", [o.to_dict() for o in ops_of(*r)])
    code, out = cli("check", path)
    assert code == 0, out
    assert "garbage-read" not in out
    # Its twin: a value no op ever sent is still garbage.
    r2 = rows([(0, "invoke", "send", [["send", "x", 1]])], poll(1, {"x": [[0, 9]]}))
    path2 = write_lines(tmp_path / "garbage.jsonl", [o.to_dict() for o in ops_of(*r2)])
    code, out = cli("check", path2)
    assert code == 1 and "garbage-read" in out


# ------------------------------------------------------------------ 4. ww-deps, allow, forbid

TWO_SENDS = [
    (0, "invoke", "send", [["send", "x", "a"], ["send", "y", "a"]]),
    (1, "invoke", "send", [["send", "x", "b"], ["send", "y", "b"]]),
    (0, "ok", "send", [["send", "x", [0, "a"]], ["send", "y", [1, "a"]]]),
    (1, "ok", "send", [["send", "x", [1, "b"]], ["send", "y", [0, "b"]]]),
]


@pytest.fixture
def two_sends(tmp_path):
    return write_lines(tmp_path / "g0.jsonl", [o.to_dict() for o in ops_of(*TWO_SENDS)])


def _json(out):
    return json.loads(out[out.index("{"):])


def test_ww_deps_shows_g0_forbid_makes_it_invalid_allow_moves_a_type(two_sends):
    code, out = cli("check", "--json", "--allow", "unseen", two_sends)
    assert _json(out)["checkers"]["txn"]["valid"] == "unknown"
    code, out = cli("check", "--json", "--ww-deps", "--allow", "unseen", two_sends)
    r = _json(out)
    assert code == 0 and r["valid"] is True
    assert "G0" in r["checkers"]["txn"]["informational-types"]
    assert "unseen" in r["checkers"]["queue"]["informational-types"]
    code, out = cli("check", "--json", "--ww-deps", "--allow", "unseen", "--forbid", "G0", two_sends)
    r = _json(out)
    assert code == 1 and r["anomaly-types"] == ["G0"]


def test_unknown_anomaly_names_are_bad_input(two_sends):
    for flag in ("--allow", "--forbid"):
        code, out = cli("check", flag, "G0,G9", two_sends)
        assert code == 2 and "G9" in out and "valid names" in out and "lost-write" in out


def test_spec_and_marker_keys_are_validated():
    spec = TestSpec.from_dict({"ww_deps": True, "allow": ["poll-skip"], "forbid": ["G0"]})
    spec.validate()
    assert spec.to_dict()["forbid"] == ["G0"]
    with pytest.raises(SpecError, match="unknown anomaly type"):
        TestSpec.from_dict({"forbid": ["G-zero"]}).validate()
    with pytest.raises(SpecError, match="both allowed and forbidden"):
        TestSpec.from_dict({"allow": ["G0"], "forbid": ["G0"]}).validate()


def test_run_test_json_keys_reach_the_checkers():
    h = History(ops_of(*TWO_SENDS))
    r = check(h, {"ww_deps": True, "allow": ["unseen"], "forbid": ["G0"]})
    assert r["valid"] is False and r["anomaly-types"] == ["G0"]


# ------------------------------------------------------------------ 5. numbers


def test_integers_beyond_64_bits_stay_exact(tmp_path):
    big = 2**64
    r = rows(send(0, "x", big + 1, 0), send(0, "x", big + 2, 1), poll(1, {"x": [[0, big + 1], [1, big + 2]]}))
    path = write_lines(tmp_path / "big.jsonl", [o.to_dict() for o in ops_of(*r)])
    h = read_jsonl(path)
    assert h[-1].value[0][1]["x"][1][1] == big + 2
    res = check(h)
    assert res["valid"] is True, res["anomaly-types"]
    # Its twin: the same history with a real duplicate is found.
    r2 = rows(send(0, "x", big + 1, 0), send(0, "x", big + 1, 1), poll(1, {"x": [[0, big + 1], [1, big + 1]]}))
    path2 = write_lines(tmp_path / "dup.jsonl", [o.to_dict() for o in ops_of(*r2)])
    assert "duplicate" in check(read_jsonl(path2))["anomaly-types"]


def test_negative_offsets_are_ignored_like_jepsen():
    r = rows(send(0, "x", 1, -1), send(0, "x", 2, 0), poll(1, {"x": [[-1, 1], [0, 2]]}))
    res = check(History(ops_of(*r)), names=["queue"])
    assert res["valid"] is True, res["anomaly-types"]
    r2 = rows(send(0, "x", 1, 0), send(0, "x", 2, 0), poll(1, {"x": [[0, 1], [0, 2]]}))
    assert "inconsistent-offsets" in check(History(ops_of(*r2)), names=["queue"])["anomaly-types"]


def test_mixed_string_and_int_offsets_are_bad_input(tmp_path):
    r = rows(send(0, "x", 1, 0), send(0, "x", 2, "1"), poll(1, {"x": [[0, 1]]}))
    path = write_lines(tmp_path / "mixed.jsonl", [o.to_dict() for o in ops_of(*r)])
    code, out = cli("check", path)
    assert code == 2 and "not an integer" in out and "'1'" in out and str(path) in out


# ------------------------------------------------------------------ 6. failed ops in the graph


def test_poll_before_a_failed_send_is_g1a_and_g1c_realtime():
    r = rows(poll(1, {"x": [[0, 1]]}), send(0, "x", 1, None, typ="fail"))
    res = check(History(ops_of(*r)), names=["queue", "txn"])
    assert set(res["anomaly-types"]) == {"G1a", "G1c-realtime"}
    # Twin: the failed send was invoked before the poll completed: only G1a.
    r2 = [(0, "invoke", "send", [["send", "x", 1]]), *poll(1, {"x": [[0, 1]]}), (0, "fail", "send", [["send", "x", 1]])]
    res2 = check(History(ops_of(*r2)), names=["queue", "txn"])
    assert res2["anomaly-types"] == ["G1a"]


# ------------------------------------------------------------------ 7. truncated tail

FINAL = {"final": True}


def _final(m):
    return rows([(9, "invoke", "assign", ["x"], FINAL), (9, "ok", "assign", ["x"], FINAL)], poll(9, m, extra=FINAL))


def test_values_missing_from_the_final_reads_are_truncated_tail():
    base = rows(send(0, "x", 1, 0), send(0, "x", 2, 1), send(0, "x", 3, 2), poll(1, {"x": [[0, 1], [1, 2], [2, 3]]}))
    ok = check(History(ops_of(*base, *_final({"x": [[0, 1], [1, 2], [2, 3]]}))), names=["queue"])
    assert ok["valid"] is True
    cut = check(History(ops_of(*base, *_final({"x": [[0, 1]]}))), names=["queue"])
    assert cut["anomaly-types"] == ["truncated-tail"]
    e = cut["checkers"]["queue"]["anomalies"]["truncated-tail"]
    assert e["count"] == 2
    ex = e["examples"][0]
    assert ex["value"] == 2 and ex["ops"] == [7, 11] and "tail was cut" in ex["explanation"]
    hole = check(History(ops_of(*base, *_final({"x": [[0, 1], [2, 3]]}))), names=["queue"])
    assert "truncated-tail" in hole["anomaly-types"]
    assert "a hole" in hole["checkers"]["queue"]["anomalies"]["truncated-tail"]["examples"][0]["explanation"]
    # Everything gone: the final phase assigned x and read nothing of it.
    empty = check(History(ops_of(*base, *_final({}))), names=["queue"])
    e = empty["checkers"]["queue"]["anomalies"]["truncated-tail"]
    assert e["count"] == 3 and e["examples"][0]["ops"] == [7, 9]  # the earlier read and the final assign
    assert "returned nothing for the key at all (the final phase assigned it in op 9)" in e["examples"][0]["explanation"]
    # Without final marks (a Jepsen history) nothing is claimed.
    plain = rows(base, [(9, "invoke", "assign", ["x"]), (9, "ok", "assign", ["x"])], poll(9, {"x": [[0, 1]]}))
    assert "truncated-tail" not in check(History(ops_of(*plain)), names=["queue"])["anomaly-types"]


def test_report_links_go_to_the_cited_op_and_show_its_own_index(tmp_path):
    from prozess.report import write_report

    write_jsonl(History(ops_of(*LOST, gap=10, start=3)), tmp_path / "history.jsonl")
    html = write_report(tmp_path / "history.jsonl").read_text()
    # lost-write cites the send at index 13 (position 1) and the poll at index 53 (position 5).
    assert 'href="#op-1" data-op="1">#13</a>' in html and 'href="#op-5" data-op="5">#53</a>' in html
    assert '"ix":[3,13,23,33,43,53]' in html.replace(" ", "")
    # Dense twin: positions and indices agree, and no index column is sent.
    write_jsonl(History(ops_of(*LOST)), tmp_path / "dense.jsonl")
    dense = write_report(tmp_path / "dense.jsonl", tmp_path / "d").read_text()
    assert 'href="#op-1" data-op="1">#1</a>' in dense and '"ix":' not in dense


# ------------------------------------------------------------------ every case: EDN and JSONL agree, with gaps

CASES = {
    "lost-write": (LOST, None),
    "int-poll-skip": (rows(SKIPPING_POLL, poll(2, {"x": [[0, 1], [2, 3]]})), None),
    "rebalanced": (rows(SKIPPING_POLL, poll(2, {"x": [[0, 1], [2, 3]]}, extra={"rebalance-log": [{"keys": ["x"]}]})), None),
    "killed-run": (rows([(0, "invoke", "send", [["send", "x", 1]])], poll(1, {"x": [[0, 1]]})), None),
    "failed-send": (rows(poll(1, {"x": [[0, 1]]}), send(0, "x", 1, None, typ="fail")), None),
    "big-ints": (rows(send(0, "x", 2**64 + 1, 0), send(0, "x", 2**64 + 2, 1), poll(1, {"x": [[0, 2**64 + 1], [1, 2**64 + 2]]})), None),
    "negative-offset": (rows(send(0, "x", 1, -1), send(0, "x", 2, 0), poll(1, {"x": [[-1, 1], [0, 2]]})), None),
    "two-sends-ww": (TWO_SENDS, {"ww_deps": True, "forbid": ["G0"]}),
    "truncated": (rows(send(0, "x", 1, 0), send(0, "x", 2, 1), poll(1, {"x": [[0, 1], [1, 2]]}), _final({"x": [[0, 1]]})), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_edn_and_jsonl_give_the_same_verdict_types_and_ops_with_gaps(tmp_path, name):
    case, test = CASES[name]
    h = History(ops_of(*case, gap=3, start=11))
    write_edn(h, tmp_path / "h.edn")
    from_edn = read_history(tmp_path / "h.edn")
    write_jsonl(from_edn, tmp_path / "h.jsonl")  # the conversion a Jepsen user would run
    from_jsonl = read_history(tmp_path / "h.jsonl")
    assert list(from_edn) == list(from_jsonl) == list(h)
    a, b = check(from_edn, test), check(from_jsonl, test)
    assert a["valid"] == b["valid"] and a["anomaly-types"] == b["anomaly-types"]
    assert _cited(a) == _cited(b)
    indices = {op.index for op in History(h).complete()}
    assert all(i in indices for _, _, ops in _cited(a) for i in ops)


def _cited(result):
    return [(n, k, ex.get("ops")) for n, r in sorted(result["checkers"].items())
            for sec in ("anomalies", "informational") for k, e in sorted((r.get(sec) or {}).items())
            for ex in e.get("examples", [])]
