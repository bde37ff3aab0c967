"""Errors of the batch jobs."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError


class BatchError(PlatformError):
    """Root of the batch layer's errors."""


class BatchJobFailed(BatchError, TerminalError):
    """A job could not complete; nothing it did is committed."""


class SourceUnavailable(BatchError, TransientError):
    """Kafka, the registry or the catalog cannot be reached."""
