"""Jepsen EDN import and export."""

from __future__ import annotations

import pytest

from prozess.edn import dumps_op, loads_ops, read_edn, write_edn
from prozess.history import HistoryError, Op

JEPSEN = """
{:index 0, :time 10, :type :invoke, :process 0, :f :send, :value [[:send 5 3]]}
#jepsen.history.Op{:index 1, :time 20, :type :invoke, :process 1, :f :poll, :value [[:poll]]}
{:index 2, :time 30, :type :ok, :process 0, :f :send, :value [[:send 5 [12 3]]]}
{:index 3, :time 40, :type :ok, :process 1, :f :poll, :value [[:poll {5 [[12 3]], :x [[0 nil]]}]]}
{:index 4, :time 50, :type :info, :process :nemesis, :f :start-partition, :value :majority}
{:index 5, :time 60, :type :info, :process :nemesis, :f :start-partition, :value {"n1" #{"n2" "n3"}}}
{:index 6, :time 70, :type :invoke, :process 2, :f :assign, :value [5 :x]}
{:index 7, :time 80, :type :fail, :process 2, :f :assign, :value [5 :x], :error [:unknown-topic 5]}
"""


def test_jepsen_ops_import_with_string_keys():
    ops = loads_ops(JEPSEN)
    assert ops[0] == Op(0, 10, "invoke", 0, "send", [["send", "5", 3]])
    assert ops[2].value == [["send", "5", [12, 3]]]
    assert ops[3].value == [["poll", {"5": [[12, 3]], "x": [[0, None]]}]]
    assert ops[4].process == "nemesis" and ops[4].value == "majority"
    assert ops[5].value == {"n1": ["n2", "n3"]}
    assert ops[6].value == ["5", "x"]
    assert ops[7].error == ["unknown-topic", 5]


def test_export_writes_jepsen_shapes():
    line = dumps_op(Op(3, 40, "ok", 1, "poll", [["poll", {"5": [[12, 3]], "x": [[0, None]]}]]))
    assert ":type :ok" in line and ":f :poll" in line
    assert "[:poll {" in line and '5 [[12 3]]' in line and '"x" [[0 nil]]' in line


def test_file_round_trip(tmp_path):
    ops = loads_ops(JEPSEN)
    write_edn(ops, tmp_path / "h.edn")
    assert list(read_edn(tmp_path / "h.edn")) == ops


def test_vector_of_ops_and_missing_indices():
    ops = loads_ops("[{:type :invoke :process 0 :f :poll :value [[:poll]]} {:type :ok :process 0 :f :poll :value [[:poll {}]]}]")
    assert [op.index for op in ops] == [0, 1]


def test_bad_edn_is_one_clear_error(tmp_path):
    p = tmp_path / "bad.edn"
    p.write_text("{:index 0 :type :invoke")
    with pytest.raises(HistoryError, match=r"bad.edn: not valid EDN"):
        read_edn(p)
    p.write_text("{:index 0 :time 0 :type :weird :process 0 :f :send}")
    with pytest.raises(HistoryError, match=r"op 0: field 'type' is 'weird'"):
        read_edn(p)
