"""Asks a broker which Kafka APIs it supports (ApiVersions v0, a raw request) and which
workloads those APIs allow, so a system that lacks an API reports the workload as
`unavailable` rather than failing it.

Raw on purpose: neither client library exposes the broker's answer, and v0 is the
one version every Kafka-compatible broker must accept.
"""

from __future__ import annotations

import socket
import struct

__all__ = ["API_NAMES", "WORKLOAD_APIS", "api_versions", "unavailable_workloads"]

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    18: "ApiVersions", 19: "CreateTopics", 22: "InitProducerId", 24: "AddPartitionsToTxn",
    25: "AddOffsetsToTxn", 26: "EndTxn", 28: "TxnOffsetCommit",
}

#: The APIs each workload (and client mode) needs from the broker.
WORKLOAD_APIS = {
    "queue": (0, 1, 2, 3, 19),
    "idempotence": (22,),
    "group": (8, 9, 10, 11, 12, 13, 14),
    "txn": (22, 24, 25, 26, 28, 10),
}


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def api_versions(host: str, port: int, *, timeout: float = 5) -> dict[int, tuple[int, int]]:
    """{api key: (min version, max version)} as the broker at host:port answers ApiVersions v0."""
    client = b"prozess"
    request = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(_frame(request))
        head = _read(s, 4)
        (size,) = struct.unpack(">i", head)
        if not 0 < size < 1 << 20:
            raise ValueError(f"ApiVersions answer of {size} bytes from {host}:{port}")
        body = _read(s, size)
    return parse_api_versions(body)


def parse_api_versions(body: bytes) -> dict[int, tuple[int, int]]:
    """Parses an ApiVersions v0 response body (after the size): correlation id, error, [key, min, max]."""
    _corr, error, count = struct.unpack_from(">ihi", body, 0)
    if error != 0:
        raise ValueError(f"ApiVersions error code {error}")
    out = {}
    for i in range(count):
        key, lo, hi = struct.unpack_from(">hhh", body, 10 + 6 * i)
        out[key] = (lo, hi)
    return out


def _read(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection during ApiVersions")
        data += chunk
    return data


def unavailable_workloads(supported: dict[int, tuple[int, int]]) -> dict[str, list[str]]:
    """{workload or mode: [missing API names]} for those the broker cannot serve."""
    return {w: [API_NAMES.get(k, str(k)) for k in keys if k not in supported]
            for w, keys in WORKLOAD_APIS.items() if any(k not in supported for k in keys)}


def needed(workload: str, *, idempotence: bool = False, transactions: bool = False) -> list[str]:
    """The WORKLOAD_APIS groups a run of `workload` with these client settings needs."""
    groups = ["queue"]
    if workload in ("group", "eos"):
        groups.append("group")
    if idempotence or transactions or workload == "eos":
        groups.append("idempotence")
    if transactions or workload == "eos":
        groups.append("txn")
    return groups


def missing_apis(bootstrap: str, workload: str, *, idempotence: bool = False, transactions: bool = False,
                 timeout: float = 5) -> dict[str, list[str]] | None:
    """{group: [missing API names]} that the first answering bootstrap broker lacks for this run;
    {} when it supports everything; None when no broker answered a plain ApiVersions
    (e.g. a TLS listener), so nothing is known."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            supported = api_versions(host.strip("[]"), int(port), timeout=timeout)
        except (OSError, ValueError, struct.error):
            continue
        lacking = unavailable_workloads(supported)
        return {g: lacking[g] for g in needed(workload, idempotence=idempotence, transactions=transactions) if g in lacking}
    return None
