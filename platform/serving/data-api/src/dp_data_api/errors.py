"""The Data API's error family; each error knows its HTTP status (the one translator is the API's handler)."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError


class DataApiError(PlatformError):
    """Root of the Data API's errors."""

    status: int = 500
    #: the ``error`` field of the answer
    code: str = "error"


class BadParameterError(DataApiError, TerminalError):
    """A request parameter that is malformed, out of range or unknown: 400, naming the parameter."""

    status = 400
    code = "bad_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class NotFoundError(DataApiError, TerminalError):
    """What the request names does not exist (a table, an order, a snapshot): 404, naming the parameter if one."""

    status = 404
    code = "not_found"

    def __init__(self, message: str, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)


class UnavailableError(DataApiError, TransientError):
    """The catalog, the object store or the query engine cannot answer now: 503 (retry later)."""

    status = 503
    code = "unavailable"


class StartupError(DataApiError, TerminalError):
    """The API cannot start: its port is taken, the engine's extensions are missing, the config is inconsistent."""
