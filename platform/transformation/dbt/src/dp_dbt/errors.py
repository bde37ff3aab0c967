"""Errors of the dbt unit (Gold)."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError


class TransformError(PlatformError):
    """Root of the dbt unit's errors."""


class TransformSetupError(TransformError, TerminalError):
    """dbt cannot be set up: its environment is missing, or the configuration names an unusable target."""
