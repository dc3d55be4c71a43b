"""ApiVersions parsing and the workload -> API mapping that decides `unavailable`."""

from __future__ import annotations

import socket
import struct
import threading

from prozess.cluster.api_versions import WORKLOAD_APIS, api_versions, missing_apis, needed, parse_api_versions, unavailable_workloads

ALL = sorted({k for keys in WORKLOAD_APIS.values() for k in keys} | {18})


def body(keys, error=0) -> bytes:
    return struct.pack(">ihi", 7, error, len(keys)) + b"".join(struct.pack(">hhh", k, 0, 3) for k in keys)


def test_parse_and_unavailable_both_ways():
    full = parse_api_versions(body(ALL))
    assert full[26] == (0, 3) and unavailable_workloads(full) == {}
    no_end_txn = parse_api_versions(body([k for k in ALL if k != 26]))
    assert unavailable_workloads(no_end_txn) == {"txn": ["EndTxn"]}


def test_needed_groups():
    assert needed("queue") == ["queue"]
    assert needed("queue", idempotence=True) == ["queue", "idempotence"]
    assert needed("queue", transactions=True) == ["queue", "idempotence", "txn"]
    assert needed("eos") == ["queue", "group", "idempotence", "txn"] and needed("group") == ["queue", "group"]


def _fake_broker(keys) -> tuple[int, threading.Thread]:
    """A loopback listener answering one ApiVersions request with `keys` (a stand-in broker)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            size = struct.unpack(">i", conn.recv(4))[0]
            req = b""
            while len(req) < size:
                req += conn.recv(size - len(req))
            assert struct.unpack(">hh", req[:4]) == (18, 0)
            payload = body(keys)
            conn.sendall(struct.pack(">i", len(payload)) + payload)
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def test_raw_request_over_loopback():
    port, t = _fake_broker([k for k in ALL if k != 26])
    assert 26 not in api_versions("127.0.0.1", port)
    t.join(5)
    port, t = _fake_broker([k for k in ALL if k != 26])
    assert missing_apis(f"127.0.0.1:{port}", "queue", idempotence=True) == {}
    t.join(5)
    port, t = _fake_broker([k for k in ALL if k != 26])
    assert missing_apis(f"127.0.0.1:{port}", "eos") == {"txn": ["EndTxn"]}
    t.join(5)


def test_no_answer_means_unknown():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    assert missing_apis(f"127.0.0.1:{port}", "eos", timeout=1) is None
