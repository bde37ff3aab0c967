"""Errors of the Spark helpers."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError


class SparkError(PlatformError):
    """Root of the Spark helpers' errors."""


class SparkSetupError(SparkError, TerminalError):
    """Spark cannot be set up: missing jars, unusable configuration."""
