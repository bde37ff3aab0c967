"""Errors of the local stack."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError


class LocalStackError(PlatformError):
    """Root of the local stack's errors."""


class MissingToolError(LocalStackError, TerminalError):
    """A tool the install needs (java, mvn, go, ...) is not on this machine."""

    def __init__(self, tool: str, hint: str) -> None:
        self.tool = tool
        super().__init__(f"`{tool}` is not installed: {hint}")


class InstallError(LocalStackError, TerminalError):
    """Fetching an artifact failed."""

    def __init__(self, artifact: str, detail: str) -> None:
        self.artifact = artifact
        super().__init__(f"installing {artifact} failed: {detail}")


class PortInUseError(LocalStackError, TerminalError):
    """A port a service needs is taken by a process the stack did not start."""

    def __init__(self, service: str, port: int, holder: str) -> None:
        self.service, self.port, self.holder = service, port, holder
        super().__init__(f"cannot start {service}: port {port} is already taken by {holder}")


class ServiceStartError(LocalStackError, TransientError):
    """A service did not become healthy in time, or its process died while starting."""

    def __init__(self, service: str, detail: str, log_file: str) -> None:
        self.service, self.log_file = service, log_file
        super().__init__(f"{service} did not start: {detail} (log: {log_file})")
