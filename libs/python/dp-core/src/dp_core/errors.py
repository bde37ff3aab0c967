"""The error root of the platform and the retry-semantics markers.

Every error the platform raises on purpose derives from :class:`PlatformError`. Each package defines its own
family under it (``ConfigError`` here, ``IngestError`` in the ingestor, ...). Whether a failure is worth retrying
is expressed by mixing in a marker class, never by matching message strings:

* :class:`TransientError` -- the same call may succeed later (broker down, throttled): retry with back-off.
* :class:`TerminalError` -- retrying cannot help (invalid input, bad config): fail or dead-letter.

Errors carry their identifiers (topic, table, path, ...) as attributes *and* in the message. Engine exceptions
are wrapped at the boundary with ``raise SomeError(...) from exc`` so callers never see a raw engine error.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Root of every error the platform raises on purpose.

    The CLI prints ``Error: <message>`` for these and exits with :attr:`exit_code`; the HTTP services map
    families to status codes.
    """

    exit_code: int = 1


class TransientError(PlatformError):
    """Marker: the operation may succeed if retried later (back off, then retry)."""


class TerminalError(PlatformError):
    """Marker: retrying cannot succeed; fail the run or park the input (dead letter, quarantine)."""


class ConfigError(TerminalError):
    """The configuration cannot be loaded: unknown key, wrong type, missing file, secret in YAML, ...

    Attributes:
        problems: every problem found, each naming the dotted key, the layer it came from and what was expected.
    """

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        if len(self.problems) == 1:
            message = f"invalid configuration: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"invalid configuration ({len(self.problems)} problems):\n{lines}"
        super().__init__(message)
