"""Errors of the speed layer."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError


class FlinkJobError(PlatformError):
    """Root of the speed layer's errors."""


class FlinkSetupError(FlinkJobError, TerminalError):
    """The Flink environment is incomplete (missing jars, no Hadoop client, no Flink environment)."""


class RegistryUnavailableError(FlinkJobError, TransientError):
    """The schema registry could not be reached to resolve a writer schema id."""


class RegistryAccessError(FlinkJobError, TerminalError):
    """The schema registry refused the credentials (401/403)."""


class StreamJobFailedError(FlinkJobError, TerminalError):
    """A streaming job failed; the message says why and where its log is."""


class SpeedLayerUnhealthyError(FlinkJobError, TerminalError):
    """A speed-layer job is not running, trails its topics too far, or has not checkpointed for too long."""
