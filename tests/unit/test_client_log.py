"""Client library log lines go to the run's client.log, not to the terminal, and are counted."""

from __future__ import annotations

import logging

from prozess.client_log import ClientLog


def test_client_lines_go_to_the_file_and_are_counted(tmp_path, capfd):
    path = tmp_path / "client.log"
    kafka_handlers = list(logging.getLogger("kafka").handlers)  # kafka-python adds a NullHandler when imported
    with ClientLog(path) as cl:
        logging.getLogger("prozess.client.confluent").warning("FAIL|rdkafka#producer-1| 10.0.0.1:9092/1: Connect failed")
        logging.getLogger("prozess.topics").error("GETPID|rdkafka#admin-2| failed to acquire idempotence PID")
        logging.getLogger("kafka.conn").warning("<BrokerConnection node_id=1> reset")
        logging.getLogger("prozess.runner").warning("harness message stays on the terminal")
    out, err = capfd.readouterr()
    text = path.read_text()
    assert "Connect failed" in text and "GETPID" in text and "BrokerConnection" in text
    assert "harness message" not in text
    assert "Connect failed" not in err and "GETPID" not in err
    assert cl.counts() == {"path": "client.log", "warnings": 2, "errors": 1}
    # afterwards the loggers are as before
    assert logging.getLogger("prozess.client").propagate is True and logging.getLogger("kafka").handlers == kafka_handlers


def test_nothing_logged_means_no_file(tmp_path):
    with ClientLog(tmp_path / "client.log") as cl:
        pass
    assert cl.counts() == {"path": None, "warnings": 0, "errors": 0}
