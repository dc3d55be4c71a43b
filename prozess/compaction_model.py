"""The compaction workload's record codec and op shapes, shared by the workload and its checker.

Keys are small integers. Key `k` is written as the record key `b"k<k>"` to
topic-partition index `k % tps` (tps = topic-partitions of the run), so a
key always lives in one partition and compaction sees all its records.
Every write of a key carries a sequence number `seq`, unique per key (the
generator counts per key): a put's record value is `str(seq)`; a delete is
a tombstone (null value) whose `seq` travels in the header `prozess-seq`,
so tombstones are told apart too. A write is identified by (key, seq).

Ops (JSON values):

    put       invoke {"key": k, "seq": n}           -> ok {"key", "seq", "tp", "offset"}
    delete    invoke {"key": k, "seq": n}           -> ok {"key", "seq", "tp", "offset"}   (a tombstone)
    read-all  invoke {"tp": t, "final": bool}       -> ok {"tp", "final", "start", "end", "records": [rec, ...]}

`end` is the partition's high watermark taken before the read started (the
read returns every record below it that the log still holds); `start` is
the log start offset. A read record is `[offset, key, seq]` for a put and
`[offset, key, seq, 1]` for a tombstone (see `read_record`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "DEFAULTS", "SEQ_HEADER", "Rec", "decode_key", "decode_record", "encode_key", "encode_value",
    "parse_read_record", "read_record", "tp_of_key",
]

SEQ_HEADER = "prozess-seq"

# Workload options the checker must read the same way the workload does (defaults when test.json omits them).
DEFAULTS: dict[str, Any] = {
    "partitions": 2,               # per topic; topic-partition index >= partitions is the compact,delete topic
    "delete_topic": True,
    "delete_retention_ms": 8000,
    "retention_ms": 3_600_000,
    "require_compaction": True,
}


class Rec(NamedTuple):
    """One record as a read returned it."""

    offset: int
    key: int
    seq: int
    tombstone: bool


def tp_of_key(key: int, tps: int) -> int:
    """The topic-partition index that holds key `key` when the run has `tps` of them."""
    return int(key) % tps


def encode_key(key: int) -> bytes:
    return f"k{int(key)}".encode()


def decode_key(raw: bytes | None) -> int | None:
    """The integer key of a record key, or None for a key this workload never writes."""
    if not raw or not raw.startswith(b"k") or not raw[1:].isdigit():
        return None
    return int(raw[1:])


def encode_value(seq: int, tombstone: bool) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """(record value, headers) of write `seq`: a put's value is the number, a tombstone's is null with a header."""
    if tombstone:
        return None, [(SEQ_HEADER, str(int(seq)).encode())]
    return str(int(seq)).encode(), []


def decode_record(offset: int, raw_key: bytes | None, raw_value: bytes | None, headers: Any) -> Rec | None:
    """A consumed record as `Rec`, or None when it is not one of ours (foreign key or value)."""
    key = decode_key(raw_key)
    if key is None:
        return None
    if raw_value is None:
        seq = None
        for name, v in headers or ():
            if name == SEQ_HEADER and v is not None:
                seq = v.decode() if isinstance(v, bytes) else str(v)
        if seq is None or not seq.isdigit():
            return None
        return Rec(int(offset), key, int(seq), True)
    s = raw_value.decode(errors="replace")
    if not s.isdigit():
        return None
    return Rec(int(offset), key, int(s), False)


def read_record(r: Rec) -> list[int]:
    """The history form of a read record."""
    return [r.offset, r.key, r.seq, 1] if r.tombstone else [r.offset, r.key, r.seq]


def parse_read_record(x: Any) -> Rec:
    """Reads a history read record back; raises ValueError on anything else."""
    if not isinstance(x, (list, tuple)) or len(x) not in (3, 4):
        raise ValueError(f"a read record must be [offset, key, seq] or [offset, key, seq, 1]; got {x!r}")
    return Rec(int(x[0]), int(x[1]), int(x[2]), len(x) == 4 and bool(x[3]))
