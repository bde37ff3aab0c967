"""Errors of the demo."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError


class DemoError(PlatformError):
    """The demo cannot go on (a service down, a stage failed, data in the way); the message says what to do."""


class DemoDataInTheWay(DemoError, TerminalError):
    """The demo's topics or tables hold data the demo did not send; ``dp demo --reset`` clears them."""


class ReconciliationFailed(DemoError):
    """The demo ran, but at least one line of the report does not reconcile (the report says which)."""

    exit_code = 3
