"""The Confluent wire format: magic byte 0, the 4-byte big-endian schema id, then the Avro body."""

from __future__ import annotations

import struct

from dp_ingest.errors import WireFormatError

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")


def header(schema_id: int) -> bytes:
    return HEADER.pack(MAGIC_BYTE, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the wire header of ``schema_id``."""
    return header(schema_id) + body


def unframe(data: bytes) -> tuple[int, bytes]:
    """(schema id, Avro body) of a framed record."""
    if len(data) < HEADER.size:
        raise WireFormatError(f"record of {len(data)} bytes is shorter than the 5-byte wire header")
    magic, schema_id = HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise WireFormatError(f"unknown magic byte {magic} (expected {MAGIC_BYTE})")
    return schema_id, data[HEADER.size :]
