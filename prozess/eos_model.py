"""The eos workload's record codec, shared by the workload (which writes it) and its checker (which reads it).

The pipeline transforms an input value v into `transform_value(v)` = 2 * v and
writes it to the output partition with the input's number. Each output record's
value names its source record and its transaction, `"src_p src_off out_v T"`, so
a reader's observation ties back to the one transform op that wrote it. Both
sides import this module and nothing of each other.
"""

from __future__ import annotations

from typing import Any

__all__ = ["decode_output", "encode_output", "transform_value"]


def transform_value(v: int) -> int:
    """The pipeline's transform: what a correct transformer writes for input value v."""
    return 2 * v


def encode_output(src_p: int, src_off: int, out_v: int, txn: str) -> bytes:
    """The output record's value: the source record, the transformed value and the writing transaction."""
    return f"{src_p} {src_off} {out_v} {txn}".encode()


def decode_output(raw: bytes | str | None) -> tuple[int | None, int | None, Any, str | None]:
    """(src_p, src_off, out_v, txn) from an output record value; Nones and the raw text when garbled."""
    try:
        text = raw.decode() if isinstance(raw, (bytes, bytearray)) else str(raw)
        a, b, c, d = text.split(" ", 3)
        return int(a), int(b), int(c), d
    except Exception:
        return None, None, raw if isinstance(raw, str) else repr(raw), None
