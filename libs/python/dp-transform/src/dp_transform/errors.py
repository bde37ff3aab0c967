"""Errors of ``dp transform`` (Gold in dbt)."""

from __future__ import annotations

from collections.abc import Sequence

from dp_core.errors import PlatformError, TerminalError


class TransformError(PlatformError):
    """Root of the dbt layer's errors."""


class TransformSetupError(TransformError, TerminalError):
    """dbt cannot be set up: its environment is missing, or the configuration names an unusable target."""


class SourcesStaleError(TransformError, TerminalError):
    """The dbt project's generated sources file differs from what the contracts and the settings give.

    Attributes:
        path: the generated file.
        diff: the unified difference from the file to what it should hold (empty when the file is missing).
    """

    def __init__(self, message: str, path: str, diff: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.diff = tuple(diff)


class DbtFailedError(TransformError, TerminalError):
    """dbt exited non-zero; ``dp`` exits with dbt's own code.

    Attributes:
        command: what dbt ran (``build``, ``source freshness``, ...).
        returncode: dbt's exit code (1: a model, test or freshness check failed; 2: dbt itself could not run), or
            the negative signal number that ended it.
    """

    def __init__(self, command: str, returncode: int) -> None:
        self.command = command
        self.returncode = returncode
        self.exit_code = returncode if returncode > 0 else 128 - returncode
        super().__init__(f"dbt {command} {_outcome(returncode)} (exit code {returncode}; dbt's output is above)")


def _outcome(returncode: int) -> str:
    if returncode == 1:
        return "failed: a model, test or freshness check failed"
    if returncode == 2:
        return "could not run: a project, profile or connection error"
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    return "failed"


class GoldStaleError(TransformError, TerminalError):
    """A Gold mart's watermark trails now by more than the freshness SLA allows (or the mart has none)."""
