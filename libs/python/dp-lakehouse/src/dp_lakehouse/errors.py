"""Errors of the lakehouse mapping."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError


class LakehouseError(PlatformError):
    """Root of the lakehouse mapping's errors."""


class UnsupportedCatalogError(LakehouseError, TerminalError):
    """The configured catalog type has no form for this client (e.g. DuckDB attaches REST catalogs only)."""
