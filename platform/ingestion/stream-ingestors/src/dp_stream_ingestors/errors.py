"""Errors of the stream ingestors."""

from __future__ import annotations

from dp_ingest.errors import IngestError


class IngestRunError(IngestError):
    """A run of the simulator or the replay ended with records not delivered or not accounted for."""
