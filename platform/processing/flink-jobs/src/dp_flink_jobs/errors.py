"""Errors of the Flink jobs."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError


class FlinkJobError(PlatformError):
    """Root of the Flink jobs' errors."""


class FlinkSetupError(FlinkJobError, TerminalError):
    """The Flink environment is incomplete (missing jars, no Hadoop client on HADOOP_CLASSPATH)."""
